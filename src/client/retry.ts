// Retries: the `retry` option and the `retrying` operator, which resubscribe to a request with backoff.
import {
  catchError,
  defer,
  mergeMap,
  type MonoTypeOperatorFunction,
  of,
  retry,
  throwError,
  timer,
  type Observable,
} from 'rxjs';
import { AbortError, InvalidOptionError, NetworkError, TimeoutError } from '../internal/errors.js';
import { backoff, type BackoffOptions } from '../internal/backoff.js';
import type { ClientResponse, RetryOptions } from './types.js';

/** Where a request's Observable keeps its method, for {@link retrying}. */
export const kMethod: unique symbol = Symbol('rxjet.method');

/**
 * The `retry` request option as an operator, for a request made elsewhere:
 * `get(client, url).pipe(retrying({ count: 3 }))`. It goes straight after `request()`, `get()`
 * and the other helpers, whose Observables carry their method; anywhere else, give `method`.
 * Only idempotent methods are sent again.
 *
 * @param options - a number of retries, or {@link RetryOptions} (plus `method`)
 * @returns an operator that resubscribes to the request as the options say
 * @example
 * ```ts
 * import { createClient, get, retrying } from 'rxjet/client';
 * get(createClient(), 'http://127.0.0.1:8080/flaky', { as: 'json' })
 *   .pipe(retrying({ count: 3, initial: 100 }))
 *   .subscribe((res) => console.log(res.status));
 * ```
 */
export function retrying<R extends ClientResponse<unknown>>(
  options: number | (RetryOptions & { method?: string }) = {},
): MonoTypeOperatorFunction<R> {
  const resolved = resolveRetry(options);
  return (source) => {
    const method =
      (typeof options === 'object' ? options.method : undefined) ?? (source as { [kMethod]?: string })[kMethod];
    if (method === undefined) {
      throw new InvalidOptionError(
        'method',
        'the request method: use retrying() right after request() or get(), or pass it',
      );
    }
    return resolved === undefined ? source : withRetries(source, method.toUpperCase(), resolved);
  };
}

/** Methods that may be sent twice without changing anything more than once (RFC 9110). */
const idempotent = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** A response whose status asks for another try, carried through `retry` as an error. */
class RetryableStatus {
  constructor(readonly response: ClientResponse<unknown>) {}
}

/** Milliseconds a `Retry-After` header asks for (seconds or an HTTP date), or undefined. */
export function retryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Resolves `retry` options; `undefined` when there are none to make. */
export function resolveRetry(
  value: number | RetryOptions | undefined,
): (Required<Omit<RetryOptions, keyof BackoffOptions>> & { delay: ReturnType<typeof backoff> }) | undefined {
  if (value === undefined || value === 0) return undefined;
  const options: RetryOptions = typeof value === 'number' ? { count: value } : value;
  const count = options.count ?? 2;
  if (!Number.isInteger(count) || count < 0) throw new InvalidOptionError('retry.count', 'a whole number of attempts');
  return {
    count,
    statuses: options.statuses ?? [408, 429, 502, 503, 504],
    maxRetryAfter: options.maxRetryAfter ?? 60_000,
    delay: backoff(options),
  };
}

/** True when `withRetries` would send a request of this method again. */
export function retries(
  method: string,
  options: ReturnType<typeof resolveRetry>,
): options is NonNullable<typeof options> {
  return options !== undefined && options.count > 0 && idempotent.has(method);
}

/**
 * Sends an idempotent request again on network failures, timeouts and retryable statuses, with
 * exponential backoff and jitter, honouring `Retry-After`. Non-idempotent methods (POST,
 * PATCH) are never sent twice; an abort is never retried. The body of a response that is
 * retried is let go unread.
 */
export function withRetries<R extends ClientResponse<unknown>>(
  source: Observable<R>,
  method: string,
  options: NonNullable<ReturnType<typeof resolveRetry>>,
): Observable<R> {
  if (!retries(method, options)) return source;
  return defer(() => {
    let attempt = 0;
    const attemptOnce = defer(() => {
      attempt++;
      return source;
    });
    return attemptOnce.pipe(
      mergeMap((response) =>
        attempt <= options.count && options.statuses.includes(response.status)
          ? throwError(() => new RetryableStatus(response))
          : of(response),
      ),
      retry({
        count: options.count,
        delay: (error: unknown, retryCount) => {
          if (error instanceof RetryableStatus) {
            const asked = retryAfter(error.response.headers['retry-after']);
            if (asked !== undefined && asked > options.maxRetryAfter) return throwError(() => error);
            // its body, unread, is let go at the end of this turn (see responseBody)
            return asked !== undefined ? timer(asked) : options.delay(error, retryCount);
          }
          if (error instanceof AbortError || !(error instanceof NetworkError || error instanceof TimeoutError)) {
            return throwError(() => error);
          }
          return options.delay(error, retryCount);
        },
      }),
      catchError((error: unknown) =>
        error instanceof RetryableStatus ? of(error.response as R) : throwError(() => error),
      ),
    );
  });
}
