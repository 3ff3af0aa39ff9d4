// `problemJson()`: errors below answered as RFC 9457 problem details (application/problem+json).
import { STATUS_CODES } from 'node:http';
import { catchError, map, of } from 'rxjs';
import { describe, InvalidOptionError, statusText } from '../internal/errors.js';
import { booleanOption, checkKnownOptions } from '../internal/validate.js';
import type { Middleware } from '../router/types.js';
import { errorResponse } from '../server/to-response.js';
import type { JetRequest, JetResponse } from '../server/types.js';
import { failureOf, headerOf, keepFailure } from './response-headers.js';

/** Options of {@link problemJson}. */
export interface ProblemJsonOptions {
  /**
   * Also rewrites the plain-text error answers rxjet makes itself: the router's 404 and 405 (its
   * `Allow` kept), a `null` answer's 404, and errors that a middleware below answered with
   * `errorResponse` (as `cors` and `requestId` do). They are known by their exact headers
   * (`content-type: text/plain; charset=utf-8` with `x-content-type-options: nosniff`), a 4xx or
   * 5xx status and a string body; any other answer, yours included, is left as it is.
   * @default true
   */
  plainErrors?: boolean;
  /**
   * Sets `instance` to the request's path (without the query, which may hold secrets).
   * @default true
   */
  instance?: boolean;
}

/**
 * The members of an RFC 9457 problem details object as {@link problemJson} writes them.
 */
export interface ProblemDetails {
  /** Always `'about:blank'`: the problem is what the status says. */
  type: 'about:blank';
  /** The status's reason phrase, e.g. `'Not Found'`. */
  title: string;
  /** The status code, as in the response's status line. */
  status: number;
  /** An `HttpError`'s message, when it says more than the title; never an unknown error's. */
  detail?: string;
  /** The request's path, unless `instance: false`. */
  instance?: string;
}

/**
 * Answers errors below it as problem details (RFC 9457), `application/problem+json`:
 * `{ type: 'about:blank', title, status, detail?, instance? }`.
 *
 * - An `HttpError` (thrown, rejected or emitted) keeps its status and headers; its message is
 *   the `detail` (left out when it only repeats the title).
 * - Anything else is a 500 (503 for a route's timeout) with no `detail`: its message never
 *   reaches the client. The server still reports it to `onError`, as if it had reached it.
 * - The plain-text error answers rxjet makes itself (the router's 404 and 405, and errors a
 *   middleware below answered already) are rewritten too, unless `plainErrors: false`.
 *
 * Put it outermost (`router().use(problemJson(), …)`) so that it sees every error.
 *
 * @param options - `plainErrors` and `instance`
 * @returns the middleware
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { problemJson } from 'rxjet/middleware';
 * import { HttpError, serve } from 'rxjet/server';
 *
 * const app = router()
 *   .use(problemJson())
 *   .get('/orders/:id', (req) => {
 *     throw new HttpError(404, `No order ${req.params.id}.`);
 *   });
 * // GET /orders/7 → 404 {"type":"about:blank","title":"Not Found","status":404,"detail":"No order 7.","instance":"/orders/7"}
 * await serve({ handler: app, port: 8080 });
 * ```
 */
export function problemJson(options: ProblemJsonOptions = {}): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'problemJson');
  const o = options as Record<string, unknown>;
  const plainErrors = booleanOption(o, 'plainErrors', true);
  const instance = booleanOption(o, 'instance', true);

  return (req, next) =>
    next().pipe(
      map((res) => (plainErrors && isPlainError(res) ? problem(res, req, instance) : res)),
      catchError((error: unknown) => of(problem(errorResponse(error), req, instance))),
    );
}

const optionNames = ['plainErrors', 'instance'];

/** One of rxjet's own plain-text error answers (`plainResponse`), by its exact headers. */
function isPlainError(res: JetResponse): boolean {
  const status = res.status ?? 200;
  return (
    status >= 400 &&
    status <= 599 &&
    typeof res.body === 'string' &&
    !('websocket' in res) &&
    headerOf(res.headers, 'content-type') === 'text/plain; charset=utf-8' &&
    headerOf(res.headers, 'x-content-type-options') === 'nosniff' &&
    headerOf(res.headers, 'content-encoding') === undefined
  );
}

/** A plain-text error answer rewritten as problem details, its other headers and failure kept. */
function problem(res: JetResponse, req: JetRequest, instance: boolean): JetResponse {
  const status = res.status ?? 500;
  const title = STATUS_CODES[status] ?? statusText(status);
  const details: ProblemDetails = { type: 'about:blank', title, status };
  // The text of an unknown error's answer is generic; only a chosen message is a detail.
  const { body } = res;
  if (
    failureOf(res) === undefined &&
    typeof body === 'string' &&
    body !== '' &&
    body !== title &&
    body !== statusText(status)
  ) {
    details.detail = body;
  }
  if (instance) details.instance = req.path;
  const headers: Record<string, string | number | readonly string[] | undefined> = {};
  for (const [name, value] of Object.entries(res.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower !== 'content-type' && lower !== 'content-length') headers[name] = value;
  }
  headers['content-type'] = 'application/problem+json';
  return keepFailure(res, { status, headers, body: JSON.stringify(details) });
}
