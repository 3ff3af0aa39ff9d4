// The client itself: `createClient` checks the options and builds the pool and settings a `Client` carries.
import { describe, InvalidOptionError } from '../internal/errors.js';
import { booleanOption, checkKnownOptions, integerOption, limitOption } from '../internal/validate.js';
import { type CookieLimits, Cookies, CookieJar } from './cookies.js';
import type { Dispatcher } from 'undici';
import { pool } from './transport.js';
import { addHeaders, HeaderRecord, headerNameProblem } from '../internal/headers.js';
import type { ClientOptions, Timeouts } from './types.js';

/**
 * Makes an HTTP client. Options are checked at once (an `InvalidOptionError` names a bad one).
 *
 * @param options - see {@link ClientOptions}
 * @returns a {@link Client} to pass to `request`, `get`, `post`, …
 * @example
 * ```ts
 * import { createClient, get } from 'rxjet/client';
 * const client = createClient({ baseUrl: 'http://127.0.0.1:8080/', timeout: { headers: 5000 } });
 * get(client, '/health', { as: 'text' }).subscribe((res) => console.log(res.status, res.body));
 * ```
 */
export function createClient(options: ClientOptions = {}): Client {
  checkKnownOptions(options, optionNames, 'createClient');
  const o = options as Record<string, unknown>;
  let baseUrl: URL | undefined;
  if (options.baseUrl !== undefined) {
    try {
      baseUrl = new URL(options.baseUrl);
    } catch {
      throw new InvalidOptionError('baseUrl', `an absolute URL, got ${describe(options.baseUrl)}`);
    }
  }
  const timeouts = resolveTimeouts(
    options.timeout,
    { connect: 10_000, headers: 30_000, body: 30_000, total: undefined },
    'timeout',
  );
  const { proxy } = options;
  if (proxy !== undefined && proxy !== 'env') {
    let protocol: string;
    try {
      protocol = new URL(proxy).protocol;
    } catch {
      throw new InvalidOptionError('proxy', `an http: or https: proxy URL, or 'env', got ${describe(proxy)}`);
    }
    if (protocol !== 'http:' && protocol !== 'https:')
      throw new InvalidOptionError('proxy', `an http: or https: proxy URL, or 'env', got a ${protocol} URL`);
  }
  const allowH2 = booleanOption(o, 'allowH2', false);
  const rejectUnauthorized = booleanOption(o, 'rejectUnauthorized', true);
  const ca = caOption(options.ca);
  const given = options.dispatcher;
  if (given !== undefined) {
    if (typeof (given as Partial<Dispatcher> | null)?.dispatch !== 'function')
      throw new InvalidOptionError(
        'dispatcher',
        `an undici Dispatcher (Agent, Pool, MockAgent…), got ${describe(given)}`,
      );
    const clash = poolOptions.find((name) => options[name] !== undefined);
    if (clash !== undefined)
      throw new InvalidOptionError(clash, 'not with a dispatcher: set it on the dispatcher you give');
  }
  const connections = integerOption(o, 'connections', 32, 1);
  const decompress = booleanOption(o, 'decompress', true);
  const sensitiveHeaders = sensitiveHeadersOption(options.sensitiveHeaders);
  const headers = new HeaderRecord() as unknown as Record<string, string | string[]>;
  if (options.headers !== undefined) addHeaders(headers, options.headers, 'headers');
  // RFC 6265 section 6.1's minimums: what a server can count on, and no more.
  const cookies = cookieJar(options.cookies, {
    total: limitOption(o, 'maxCookies', 3000),
    perDomain: limitOption(o, 'maxCookiesPerDomain', 50),
    size: limitOption(o, 'maxCookieSize', 4096),
  });
  const maxResponseSize = limitOption(o, 'maxResponseSize', 10 * 1024 * 1024);
  const maxRedirects = redirectHops(options.followRedirects, 'followRedirects');
  let dispatcher = given;
  if (dispatcher === undefined) {
    try {
      dispatcher = pool({ connections, allowH2, proxy, connectTimeout: timeouts.connect, ca, rejectUnauthorized });
    } catch (error) {
      // Everything else was checked above; what undici can still refuse is a proxy from the environment.
      if (proxy === undefined) throw error;
      throw new InvalidOptionError('proxy', `a proxy undici can use (${(error as Error).message})`);
    }
  }
  return new Client({
    dispatcher,
    ownsDispatcher: given === undefined,
    timedConnect: given !== undefined && options.timeout?.connect !== undefined,
    baseUrl,
    headers,
    timeouts,
    maxResponseSize,
    cookies,
    maxRedirects,
    decompress,
    sensitiveHeaders,
  });
}

/** Where the request functions find a client's settings. */
export const kClient: unique symbol = Symbol('rxjet.client');

/**
 * An HTTP client: a connection pool (undici) with the settings its requests share. Make one and
 * reuse it; `close()` ends the pool. Made by {@link createClient}.
 *
 * @example
 * ```ts
 * import { createClient, get, type Client } from 'rxjet/client';
 * import { lastValueFrom } from 'rxjs';
 *
 * const client: Client = createClient({ baseUrl: 'http://127.0.0.1:8080/' });
 * const res = await lastValueFrom(get(client, '/health', { as: 'text' }));
 * console.log(res.status, res.body);
 * await client.close();
 * ```
 */
export class Client {
  /** @internal */
  readonly [kClient]: ClientConfig;

  /** @internal */
  constructor(config: ClientConfig) {
    this[kClient] = config;
  }

  /**
   * Ends the pool: requests in flight finish, then its connections close. A dispatcher given to
   * {@link createClient} is left open: it is yours to close. Calling it again returns the same Promise.
   * @returns a Promise that resolves once the pool is closed
   * @example
   * ```ts
   * import { createClient } from 'rxjet/client';
   * const client = createClient();
   * process.once('SIGTERM', () => void client.close());
   * ```
   */
  close(): Promise<void> {
    const config = this[kClient];
    if (!config.ownsDispatcher) return Promise.resolve();
    // Calling it again gives the same Promise, as server.close() does (undici would reject).
    return (this.closing ??= config.dispatcher.close());
  }

  private closing: Promise<void> | undefined;
}

/** A client's resolved settings. */
export interface ClientConfig {
  /** Where requests go: the client's own pool, or the dispatcher it was given. */
  dispatcher: Dispatcher;
  /** The pool is the client's own, closed by `close()`. */
  ownsDispatcher: boolean;
  /** Requests time the wait for a connection themselves (a given dispatcher has no connect timeout of ours). */
  timedConnect: boolean;
  baseUrl: URL | undefined;
  headers: Record<string, string | string[]>;
  /** `total` is undefined when not given: then off for streamed bodies, {@link wholeReadDeadline} for `as` reads. */
  timeouts: Required<Omit<Timeouts, 'total'>> & { total: number | undefined };
  maxResponseSize: number;
  cookies: Cookies | undefined;
  maxRedirects: number;
  decompress: boolean;
  /** Lower-case names never sent to another origin on a redirect. */
  sensitiveHeaders: ReadonlySet<string>;
}

/** Resolves `followRedirects` to a number of hops (0: do not follow). */
export function redirectHops(value: unknown, name: string): number {
  if (value === undefined || value === true) return 10;
  if (value === false) return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  throw new InvalidOptionError(name, `true, false or a number of hops, got ${describe(value)}`);
}

const optionNames = [
  'baseUrl',
  'headers',
  'connections',
  'timeout',
  'maxResponseSize',
  'cookies',
  'maxCookies',
  'maxCookiesPerDomain',
  'maxCookieSize',
  'followRedirects',
  'sensitiveHeaders',
  'decompress',
  'allowH2',
  'proxy',
  'ca',
  'rejectUnauthorized',
  'dispatcher',
];

/** Settings of the client's own pool, which a given dispatcher has instead. */
const poolOptions = ['connections', 'allowH2', 'proxy', 'ca', 'rejectUnauthorized'] as const;

/** Resolves per-phase timeouts over defaults; throws {@link InvalidOptionError} on a bad one. */
export function resolveTimeouts(
  given: Timeouts | undefined,
  defaults: ClientConfig['timeouts'],
  name: string,
): ClientConfig['timeouts'] {
  if (given === undefined) return defaults;
  if (typeof given !== 'object' || given === null)
    throw new InvalidOptionError(name, 'an object of connect, headers, body and total milliseconds');
  checkKnownOptions(given, ['connect', 'headers', 'body', 'total'], name);
  const o = given as Record<string, unknown>;
  const max = 2 ** 31 - 1;
  return {
    connect: integerOption(o, 'connect', defaults.connect, 1, max),
    headers: integerOption(o, 'headers', defaults.headers, 0, max),
    body: integerOption(o, 'body', defaults.body, 0, max),
    total: o.total === undefined ? defaults.total : integerOption(o, 'total', 0, 0, max),
  };
}

/** The total deadline of a request whose body is read whole (`as`) when none is given. */
export const wholeReadDeadline = 60_000;

function cookieJar(value: ClientOptions['cookies'], limits: CookieLimits): Cookies | undefined {
  if (value === undefined || value === true) return new Cookies(new CookieJar(), limits, true);
  if (value === false) return undefined;
  if (value instanceof CookieJar) return new Cookies(value, limits);
  throw new InvalidOptionError('cookies', 'true, false or a tough-cookie CookieJar');
}

/** The `ca` option: PEM as a string or bytes, or a list of them. */
function caOption(value: unknown): string | Buffer | (string | Buffer)[] | undefined {
  if (value === undefined) return undefined;
  const one = (item: unknown): item is string | Buffer => typeof item === 'string' || Buffer.isBuffer(item);
  if (one(value)) return value;
  if (Array.isArray(value) && value.every(one)) return [...value];
  throw new InvalidOptionError(
    'ca',
    `PEM certificates as a string, a Buffer or an array of them, got ${describe(value)}`,
  );
}

/** Lower-case names never sent to another origin: the credentials' own, and those the user lists. */
function sensitiveHeadersOption(value: unknown): ReadonlySet<string> {
  const names = new Set(['authorization', 'cookie', 'proxy-authorization', 'host']);
  if (value === undefined) return names;
  if (!Array.isArray(value))
    throw new InvalidOptionError('sensitiveHeaders', `an array of header names, got ${describe(value)}`);
  for (const name of value as unknown[]) {
    if (typeof name !== 'string' || headerNameProblem(name) !== undefined)
      throw new InvalidOptionError('sensitiveHeaders', `an array of header names, got ${describe(name)} in it`);
    names.add(name.toLowerCase());
  }
  return names;
}
