// `prepare`: a request's options checked and worked out into a PreparedRequest, once per call.
import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { isObservable } from 'rxjs';
import { describe, InvalidOptionError } from '../internal/errors.js';
import { addHeaders, HeaderRecord, headerNameProblem, headerValueProblem } from '../internal/headers.js';
import { iterateObservable } from '../internal/observable-iterator.js';
import { checkKnownOptions, choiceOption } from '../internal/validate.js';
import {
  type Client,
  type ClientConfig,
  kClient,
  redirectHops,
  resolveTimeouts,
  wholeReadDeadline,
} from './create-client.js';
import { acceptEncoding } from './decompress.js';
import { countedUpload, ProgressCounter, type ProgressTarget } from './progress.js';
import { isFormData, multipartBody, type Outgoing } from './transport.js';
import type { BodyAs, RequestOptions } from './types.js';

/** Checks the options and works out everything that does not depend on the subscription. */
export function prepare(
  client: Client,
  options: Omit<RequestOptions, 'url'> & { url?: RequestOptions['url'] },
  methodGiven?: string,
  urlGiven?: string | URL,
): PreparedRequest {
  if (!(client instanceof Object) || !(kClient in client))
    throw new InvalidOptionError('client', 'a client from createClient()');
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', 'an object with at least a url');
  checkKnownOptions(options, optionNames, 'request');
  const config = client[kClient];
  const method = methodGiven ?? (options.method ?? 'GET').toUpperCase();
  if (methodGiven === undefined && headerNameProblem(method) !== undefined)
    throw new InvalidOptionError('method', `an HTTP method, got ${describe(options.method)}`);
  const target = urlGiven ?? options.url;
  let url: URL;
  try {
    url = new URL(target as string | URL, config.baseUrl);
  } catch {
    throw new InvalidOptionError('url', `an absolute URL or one relative to baseUrl, got ${describe(String(target))}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidOptionError('url', `an http: or https: URL, got ${url.protocol}`);
  if (options.query !== undefined) appendParams(url.searchParams, options.query);

  // No prototype behind it: a header named __proto__ is a header like any other.
  const headers = new HeaderRecord() as unknown as Record<string, string | string[]>;
  for (const name in config.headers) headers[name] = config.headers[name]!;
  if (options.headers !== undefined) addHeaders(headers, options.headers, 'headers');
  if (options.basicAuth !== undefined) {
    const [user, password] = credentialsOption(options.basicAuth, 'basicAuth');
    if (user.includes(':')) throw new InvalidOptionError('basicAuth', 'a user name without ":" (RFC 7617)');
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  if (options.bearer !== undefined) {
    const { bearer } = options;
    if (typeof bearer !== 'string' || bearer === '' || headerValueProblem(bearer) !== undefined)
      throw new InvalidOptionError('bearer', 'a token that can be sent in a header (no CR, LF or NUL)');
    headers.authorization = `Bearer ${bearer}`;
  }
  if (config.decompress) headers['accept-encoding'] ??= acceptEncoding;

  const bodies =
    Number(options.json !== undefined) +
    Number(options.formParams !== undefined) +
    Number(options.multipart !== undefined) +
    Number(options.body !== undefined);
  if (bodies > 1) throw new InvalidOptionError('body', 'only one of body, json, formParams and multipart');
  let body: Outgoing['body'];
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  } else if (options.multipart !== undefined) {
    if (typeof options.multipart !== 'object' || options.multipart === null) {
      throw new InvalidOptionError('multipart', 'an object of fields');
    }
    body = multipartBody(options.multipart);
  } else if (options.formParams !== undefined) {
    const form = new URLSearchParams();
    appendParams(form, options.formParams);
    body = form.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (options.body !== undefined) {
    const given = options.body;
    if (typeof given === 'string' || given instanceof Uint8Array) body = given;
    else if (isObservable(given)) body = { [Symbol.asyncIterator]: () => iterateObservable(given) };
    else if (typeof (given as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
      body = given as AsyncIterable<string | Uint8Array> | Readable;
    else
      throw new InvalidOptionError(
        'body',
        `a string, Uint8Array, Observable, async iterable or Readable, got ${describe(given)}`,
      );
  }

  if (options.progress !== undefined && body !== undefined && !isFormData(body) && !isReadable(body)) {
    const declared =
      typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : undefined;
    if (declared !== undefined) headers['content-length'] ??= String(declared);
    body = countedUpload(body, new ProgressCounter(options.progress, 'upload', declared));
  }

  const timeouts =
    typeof options.timeout === 'number'
      ? { ...config.timeouts, total: resolveTimeouts({ total: options.timeout }, config.timeouts, 'timeout').total }
      : resolveTimeouts(options.timeout, config.timeouts, 'timeout');
  const connect = typeof options.timeout === 'object' ? options.timeout.connect : undefined;
  if (connect !== undefined && !config.timedConnect && connect > config.timeouts.connect) {
    throw new InvalidOptionError(
      'timeout.connect',
      `at most the client's connect timeout (${config.timeouts.connect} ms); set a longer one on createClient`,
    );
  }
  const as = choiceOption(
    options as unknown as Record<string, unknown>,
    'as',
    ['stream', 'text', 'json', 'bytes'],
    'stream',
  );
  return {
    config,
    outgoing: { method, url, headers, body, headersTimeout: timeouts.headers, bodyTimeout: timeouts.body },
    where: url.href,
    as,
    // A body read whole always has a deadline unless one is given (0 included): the idle body
    // timeout alone lets a server that sends a byte now and then hold the request forever.
    timeouts: { ...timeouts, total: timeouts.total ?? (as === 'stream' ? 0 : wholeReadDeadline) },
    timedConnect: config.timedConnect || connect !== undefined,
    hops:
      options.followRedirects === undefined
        ? config.maxRedirects
        : redirectHops(options.followRedirects, 'followRedirects'),
    digest: options.digestAuth === undefined ? undefined : credentialsOption(options.digestAuth, 'digestAuth'),
    signal: options.signal,
    progress: options.progress,
  };
}

/** A request checked and worked out at call time: everything that does not depend on a subscription. */
export interface PreparedRequest {
  config: ClientConfig;
  outgoing: Outgoing;
  /** The URL as first asked for, for errors. */
  where: string;
  as: BodyAs;
  /** The timeouts, `total` worked out: 0 (off) when none was given for a streamed body. */
  timeouts: ClientConfig['timeouts'] & { total: number };
  /** Time the wait for a connection ourselves (undici times only the connecting, per pool). */
  timedConnect: boolean;
  /** Redirects to follow. */
  hops: number;
  digest: readonly [string, string] | undefined;
  signal: AbortSignal | undefined;
  progress: ProgressTarget | undefined;
}

const optionNames = new Set([
  'method',
  'url',
  'headers',
  'query',
  'json',
  'formParams',
  'multipart',
  'body',
  'basicAuth',
  'digestAuth',
  'bearer',
  'timeout',
  'as',
  'signal',
  'followRedirects',
  'retry',
  'progress',
]);

type Params = NonNullable<RequestOptions['query']>;

function appendParams(target: URLSearchParams, params: Params): void {
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) target.append(name, String(item));
  }
}

/** A `[user, password]` pair of strings without control characters (RFC 7617, RFC 7616). */
function credentialsOption(value: unknown, name: string): readonly [string, string] {
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !value.every((part): part is string => typeof part === 'string' && !controlCharacter.test(part))
  ) {
    throw new InvalidOptionError(name, `[user, password], two strings without control characters`);
  }
  return value as unknown as readonly [string, string];
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point: RFC 7617 forbids them
const controlCharacter = /[\x00-\x1f\x7f]/;

function isReadable(body: unknown): body is Readable {
  return body instanceof Readable;
}
