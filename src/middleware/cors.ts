// `cors()`: Cross-Origin Resource Sharing, preflights answered and every answer below kept readable.
import { catchError, from, isObservable, map, mergeMap, of, type Observable } from 'rxjs';
import { describe, InvalidOptionError } from '../internal/errors.js';
import { booleanOption, checkKnownOptions, integerOption } from '../internal/validate.js';
import { answerNow, eager, type Run } from '../router/compose.js';
import type { Middleware } from '../router/types.js';
import { errorResponse, toResponse } from '../server/to-response.js';
import type { HandlerResult, JetRequest, JetResponse } from '../server/types.js';
import { withHeaders } from './response-headers.js';

/**
 * Which origins may read the answers: `'*'` for any, one origin, a list of origins and regular
 * expressions, a regular expression, or a function deciding per request (it may return a
 * Promise; only `true` allows).
 */
export type CorsOrigin =
  | string
  | RegExp
  | readonly (string | RegExp)[]
  | ((origin: string, req: JetRequest) => boolean | PromiseLike<boolean>);

/** Options of {@link cors}. */
export interface CorsOptions {
  /**
   * The origins allowed to read answers, as browsers send them in `Origin`: scheme, host and
   * port, no path (`'https://app.example'`, `'http://127.0.0.1:5173'`). A regular expression is
   * tested against the whole `Origin` value, so anchor it (`/^https:\/\/[a-z]+\.example$/`).
   * A function gets the origin and the request and returns (or resolves to) `true` to allow.
   * @default '*'
   */
  origin?: CorsOrigin;
  /**
   * Lets the browser send cookies and HTTP authentication, and read the answer
   * (`Access-Control-Allow-Credentials: true`). Browsers refuse `*` with credentials, so with the
   * `'*'` origin the request's own origin is sent back instead, which lets every site read
   * credentialed answers: prefer a list of origins.
   * @default false
   */
  credentials?: boolean;
  /**
   * The methods a preflight allows (`Access-Control-Allow-Methods`): a list, or one
   * comma-separated string.
   * @default ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']
   */
  methods?: string | readonly string[];
  /**
   * The request headers a preflight allows (`Access-Control-Allow-Headers`): a list, or one
   * comma-separated string.
   * @default the headers the preflight asks for (`Access-Control-Request-Headers`), sent back
   */
  allowedHeaders?: string | readonly string[];
  /**
   * Response headers a page may read beyond the safelisted ones (`Access-Control-Expose-Headers`),
   * e.g. `['x-request-id']`: a list, or one comma-separated string.
   * @default none
   */
  exposedHeaders?: string | readonly string[];
  /**
   * Seconds a browser may cache a preflight's answer (`Access-Control-Max-Age`); browsers cap
   * it (Chromium at 7200).
   * @default not sent (browsers then keep it 5 s)
   */
  maxAge?: number;
}

/**
 * Cross-Origin Resource Sharing: lets pages from the allowed origins call this server from a
 * browser.
 *
 * - A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered 204
 *   here, without running anything below: with the allowed methods, headers and max age for an
 *   allowed origin, with no CORS headers for a refused one (the browser then refuses the call).
 * - Any other request with an `Origin` runs as usual. An allowed origin gets
 *   `Access-Control-Allow-Origin` (and `-Credentials`, `-Expose-Headers`) on every answer below,
 *   errors included: an `HttpError`, an unknown error (500, still reported to `onError`), a
 *   404, a route's timeout (503); otherwise the browser would show a CORS failure instead of the
 *   real status. A refused origin gets no CORS headers: the request itself still runs (browsers
 *   send simple requests without asking), but the page cannot read the answer.
 * - `Vary: Origin` is added (merged with the answer's own `Vary`) whenever the answer depends
 *   on the origin: always, unless the origin is `'*'` without credentials.
 * - A request without `Origin` (same-origin, or not from a browser) gets no CORS headers; its
 *   answer still says `Vary: Origin` unless the origin is `'*'` without credentials, so that a
 *   shared cache never hands it to a browser on another origin.
 *
 * Put it in a router's `use`, so that it answers preflights for every path; in a route's own
 * `use` it only sees the methods of that route (add `OPTIONS` to them for preflights). The
 * server's own `handlerTimeout` is answered outside all middleware, without CORS headers; a
 * route's `timeout` is answered inside, with them. Options are checked here, at once; a bad one
 * throws `InvalidOptionError`.
 *
 * @param options - `origin`, `credentials`, `methods`, `allowedHeaders`, `exposedHeaders`, `maxAge`
 * @returns the middleware
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { cors } from 'rxjet/middleware';
 * import { serve } from 'rxjet/server';
 *
 * const api = router()
 *   .use(cors({ origin: ['https://app.example'], credentials: true, exposedHeaders: ['x-request-id'] }))
 *   .get('/me', () => ({ body: 'you' }));
 * await serve({ handler: api, port: 8080 });
 * ```
 */
export function cors(options: CorsOptions = {}): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'cors');
  const o = options as Record<string, unknown>;
  const allows = originCheck(o.origin ?? '*');
  const credentials = booleanOption(o, 'credentials', false);
  const methods = tokenList(o, 'methods') ?? defaultMethods;
  const allowedHeaders = tokenList(o, 'allowedHeaders');
  const exposedHeaders = tokenList(o, 'exposedHeaders');
  const maxAge = o.maxAge === undefined ? undefined : integerOption(o, 'maxAge', 0, 0, 2 ** 31 - 1);
  // With '*' and no credentials, every origin gets the same answer: nothing varies on Origin.
  const anyOrigin = allows === true && !credentials;
  const vary = anyOrigin ? [] : ['Origin'];

  /** The headers every answer to an allowed origin carries. */
  const granted = (origin: string): Record<string, string> => {
    const headers: Record<string, string> = { 'access-control-allow-origin': anyOrigin ? '*' : origin };
    if (credentials) headers['access-control-allow-credentials'] = 'true';
    return headers;
  };

  const preflight = (req: JetRequest, origin: string, allowed: boolean): JetResponse => {
    if (!allowed) return withHeaders({ status: 204 }, {}, vary);
    const headers = granted(origin);
    if (methods !== '') headers['access-control-allow-methods'] = methods;
    const preflightVary = [...vary];
    if (allowedHeaders !== undefined) {
      if (allowedHeaders !== '') headers['access-control-allow-headers'] = allowedHeaders;
    } else {
      const asked = req.headers['access-control-request-headers'];
      if (asked !== undefined && headerList.test(asked)) headers['access-control-allow-headers'] = asked;
      preflightVary.push('Access-Control-Request-Headers');
    }
    if (maxAge !== undefined) headers['access-control-max-age'] = String(maxAge);
    return withHeaders({ status: 204 }, headers, preflightVary);
  };

  /** The answer below with `set` and `vary` added, errors answered here when `rescue` says so. */
  const adding = (run: Run, req: JetRequest, set: Readonly<Record<string, string>>, rescue: boolean): HandlerResult => {
    let answer: JetResponse | Observable<JetResponse>;
    try {
      answer = answerNow(run, req);
    } catch (error) {
      if (!rescue) throw error;
      return withHeaders(errorResponse(error), set, vary);
    }
    if (!isObservable(answer)) return withHeaders(answer, set, vary);
    // The error answered here, as the server would answer it (and still reports it), so that it
    // can carry the CORS headers a browser needs to show the page the real status.
    const rescued = rescue ? answer.pipe(catchError((error: unknown) => of(errorResponse(error)))) : answer;
    return rescued.pipe(map((res) => withHeaders(res, set, vary)));
  };

  const actual = (req: JetRequest, origin: string, allowed: boolean, run: Run): HandlerResult => {
    if (!allowed) return anyOrigin ? run(req) : adding(run, req, {}, false);
    const headers = granted(origin);
    if (exposedHeaders !== undefined && exposedHeaders !== '') {
      headers['access-control-expose-headers'] = exposedHeaders;
    }
    return adding(run, req, headers, true);
  };

  return eager((req, run) => {
    const origin = req.headers.origin;
    // No Origin: no CORS headers, but a shared cache must not hand this answer to a browser on
    // another origin, so it still says that it depends on Origin (as the cors package does).
    if (origin === undefined) return vary.length === 0 ? run(req) : adding(run, req, {}, false);
    const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (allows === true) return isPreflight ? preflight(req, origin, true) : actual(req, origin, true, run);
    const verdict = allows(origin, req);
    if (typeof verdict === 'boolean') {
      return isPreflight ? preflight(req, origin, verdict) : actual(req, origin, verdict, run);
    }
    // An asynchronous decision: nothing below runs before it.
    return from(verdict).pipe(
      mergeMap((allowed) =>
        isPreflight
          ? of(preflight(req, origin, allowed === true))
          : toResponse(actual(req, origin, allowed === true, run)),
      ),
    );
  });
}

const optionNames = ['origin', 'credentials', 'methods', 'allowedHeaders', 'exposedHeaders', 'maxAge'];
const defaultMethods = 'GET, HEAD, PUT, PATCH, POST, DELETE';
const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A comma-separated list of header names, as `Access-Control-Request-Headers` holds. */
const headerList = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*,[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+)*$/;

/** A sync verdict is already `true` or `false`; an async one may resolve to anything, and only `true` allows. */
type OriginCheck = true | ((origin: string, req: JetRequest) => boolean | PromiseLike<unknown>);

/** The `origin` option as a check: `true` for any origin, else a function of the request's origin. */
function originCheck(origin: unknown): OriginCheck {
  if (origin === '*') return true;
  if (typeof origin === 'function') {
    const decide = origin as (origin: string, req: JetRequest) => unknown;
    return (value, req) => {
      const verdict = decide(value, req);
      if (
        verdict !== null &&
        typeof verdict === 'object' &&
        typeof (verdict as PromiseLike<unknown>).then === 'function'
      ) {
        return verdict as PromiseLike<unknown>;
      }
      return verdict === true;
    };
  }
  const entries: unknown[] = Array.isArray(origin) ? (origin as unknown[]) : [origin];
  if (Array.isArray(origin) && entries.length === 0) {
    throw new InvalidOptionError('origin', 'at least one origin in the list (an empty list allows no origin)');
  }
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  entries.forEach((entry, i) => {
    const name = Array.isArray(origin) ? `origin[${i}]` : 'origin';
    if (entry instanceof RegExp) {
      // Without the g and y flags, test() keeps no state between requests.
      patterns.push(new RegExp(entry.source, entry.flags.replace(/[gy]/g, '')));
    } else if (typeof entry === 'string' && isOrigin(entry)) {
      exact.add(entry);
    } else {
      throw new InvalidOptionError(
        name,
        `'*', an origin as browsers send it (scheme, host and port, no path: 'https://app.example'), a RegExp${
          Array.isArray(origin) ? '' : ', a list or a function'
        }, got ${describe(entry)}`,
      );
    }
  });
  return (value) => exact.has(value) || patterns.some((pattern) => pattern.test(value));
}

/** An origin written as browsers serialise it: lower-case, default port left out, no path. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return url.origin !== 'null' && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * A list option of HTTP tokens (an array, or one comma-separated string), joined for a header;
 * `undefined` when absent, `''` for an empty list.
 */
function tokenList(options: Record<string, unknown>, name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  const list: unknown =
    typeof value === 'string'
      ? value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
      : value;
  if (!Array.isArray(list) || !list.every((entry): entry is string => typeof entry === 'string' && token.test(entry))) {
    throw new InvalidOptionError(name, `a list of header or method names (HTTP tokens), got ${describe(value)}`);
  }
  return list.join(', ');
}
