// `toResponse()`: any handler result as a cold Observable of one response, the seam middleware
// builds on.
import { isObservable, Observable, Subscription, type Subscriber } from 'rxjs';
import {
  describe,
  HandlerError,
  HandlerTimeoutError,
  HttpError,
  InvalidResponseError,
  RxjetError,
  statusText,
} from '../internal/errors.js';
import type { Handler, HandlerResult, JetRequest, JetResponse, WebSocketResponse } from './types.js';

/**
 * Turns anything a handler may return into a cold Observable of exactly one response, or an
 * error: a response object is emitted as it is; a Promise's value and an Observable's first
 * value are adopted the same way (the Observable is unsubscribed once it has answered); nothing
 * (`null`, `undefined`, an Observable that completes empty) emits a 404 response, so middleware
 * sees, and may change, every answer. A throw, a rejection or an error notification is passed
 * on as an error, for middleware to `catchError`; `serve` answers one that reaches it with an
 * `HttpError`'s status and message, else a generic 500. `serve`, `inject` and middleware's
 * `next()` all use it.
 *
 * @param result - what a handler returned
 * @returns a cold Observable of one response
 * @example
 * ```ts
 * import { toResponse, type Handler } from 'rxjet/server';
 * import { map } from 'rxjs';
 *
 * // Middleware that adds a header to whatever the inner handler answers, 404s included.
 * const withServer =
 *   (inner: Handler): Handler =>
 *   (req) =>
 *     toResponse(inner(req)).pipe(
 *       map((res) => ('websocket' in res ? res : { ...res, headers: { ...res.headers, server: 'rxjet' } })),
 *     );
 * ```
 */
export function toResponse(result: HandlerResult): Observable<JetResponse | WebSocketResponse> {
  return new Observable((subscriber) => adopt(result, subscriber));
}

/**
 * Runs `handler` for `req` on subscribe, not before: the cold form of {@link toResponse} that a
 * middleware's `next()` returns. A throw from the handler is an error notification.
 *
 * @internal
 */
export function respond<R extends JetRequest>(handler: Handler<R>, req: R): Observable<JetResponse> {
  return new Observable((subscriber) => {
    let result: HandlerResult;
    try {
      result = handler(req);
    } catch (error) {
      subscriber.error(error);
      return undefined;
    }
    return adopt(result, subscriber);
  });
}

/** The error a response made by {@link errorResponse} stands for, for the server to report. */
export const kFailure: unique symbol = Symbol('rxjet.failure');

/**
 * The response `serve` answers an error with: an `HttpError`'s status, message and headers; 503
 * for a `HandlerTimeoutError`; a generic 500 for anything else, whose message never reaches the
 * client. For middleware that must answer an error itself, with headers of its own (CORS, a
 * request id), instead of letting it through: the server still reports the error to `onError`
 * (an `HttpError` excepted) when it sends this response, as it would have had the error reached
 * it (a response rebuilt with a spread, `{ ...res, headers }`, keeps that).
 *
 * @param error - what the handler threw or its Observable failed with
 * @returns a plain-text response with that status
 * @example
 * ```ts
 * import { errorResponse, toResponse, type Handler } from 'rxjet/server';
 * import { catchError, map, of } from 'rxjs';
 *
 * const tagged =
 *   (inner: Handler): Handler =>
 *   (req) =>
 *     toResponse(inner(req)).pipe(
 *       catchError((error: unknown) => of(errorResponse(error))),
 *       map((res) => ({ ...res, headers: { ...res.headers, 'x-served-by': 'api' } })),
 *     );
 * ```
 */
export function errorResponse(error: unknown): JetResponse {
  if (error instanceof HttpError) return plainResponse(error.status, error.message, error.headers);
  const response = plainResponse(error instanceof HandlerTimeoutError ? 503 : 500);
  // Enumerable, so that a middleware that rebuilds the response with a spread keeps it.
  Object.defineProperty(response, kFailure, { value: error, enumerable: true });
  return response;
}

/** What the server reports for a failure (not an `HttpError`) it answers itself: a typed error, as it came or wrapped. */
export function reportable(error: unknown, where: string): Error {
  return error instanceof RxjetError ? error : new HandlerError(where, error);
}

/** Emits the response `result` stands for into `subscriber`; returns what to tear down. */
function adopt(result: unknown, subscriber: Subscriber<JetResponse | WebSocketResponse>): (() => void) | undefined {
  if (subscriber.closed) return undefined;
  try {
    if (result == null) {
      subscriber.next(plainResponse(404));
      subscriber.complete();
    } else if (isObservable(result)) {
      // The first value is the answer, taken as it is (a value of null is nothing: 404).
      // Made first, so that an answer during subscribe can unsubscribe what is still subscribing.
      const subscription = new Subscription();
      let answered = false;
      subscription.add(
        result.subscribe({
          next: (value) => {
            if (answered) return;
            answered = true;
            subscription.unsubscribe();
            subscriber.next((value as JetResponse | WebSocketResponse | null) ?? plainResponse(404));
            subscriber.complete();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            if (answered) return;
            subscriber.next(plainResponse(404));
            subscriber.complete();
          },
        }),
      );
      return () => subscription.unsubscribe();
    } else if (typeof (result as PromiseLike<unknown>).then === 'function') {
      let inner: (() => void) | undefined;
      let cancelled = false;
      (result as PromiseLike<unknown>).then(
        (value) => {
          if (!cancelled) inner = adopt(value, subscriber);
        },
        (error: unknown) => {
          if (!cancelled) subscriber.error(error);
        },
      );
      return () => {
        cancelled = true;
        inner?.();
      };
    } else if (typeof result === 'object') {
      subscriber.next(result);
      subscriber.complete();
    } else {
      subscriber.error(new InvalidResponseError('a handler', `expected a response object, got ${describe(result)}`));
    }
  } catch (error) {
    // A Promise-like whose `then` throws, an Observable-like whose `subscribe` throws, a throwing getter.
    subscriber.error(error);
  }
  return undefined;
}

/** The answer rxjet gives itself (404, 500, a refusal): plain text that browsers do not sniff. */
export function plainResponse(
  status: number,
  message: string = statusText(status),
  headers?: Readonly<Record<string, string | readonly string[]>>,
): JetResponse {
  return {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', ...headers },
    body: message,
  };
}
