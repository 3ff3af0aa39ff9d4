// Middleware around a handler, in onion order: the composition every router scope is built from.
import { describe, InvalidOptionError } from '../internal/errors.js';
import { isObservable, type Observable } from 'rxjs';
import { plainResponse, respond, toResponse } from '../server/to-response.js';
import type { Handler, HandlerResult, JetRequest, JetResponse } from '../server/types.js';
import type { AnyMiddleware, Middleware, Next } from './types.js';

/**
 * Puts middleware around a handler, Ring-style: the first middleware is the outermost, so it
 * sees the request first and the response last. Each middleware's `next()` is a cold Observable
 * of what the rest answers (built with `toResponse`), so a 404, an error or a
 * `{ websocket }` answer reaches every middleware. What a router's `use` does, for a handler
 * with no router.
 *
 * @param handler - the innermost handler
 * @param middleware - outermost first
 * @returns a handler running them all
 * @example
 * ```ts
 * import { withMiddleware } from 'rxjet/router';
 * import { cors, requestId } from 'rxjet/middleware';
 * import { serve } from 'rxjet/server';
 *
 * await serve({ handler: withMiddleware(() => ({ body: 'hi' }), requestId(), cors()) });
 * ```
 */
export function withMiddleware<R extends JetRequest>(handler: Handler<R>, ...middleware: AnyMiddleware[]): Handler<R> {
  if (typeof handler !== 'function') throw new InvalidOptionError('handler', `a function, got ${describe(handler)}`);
  checkMiddleware(middleware, 'middleware');
  let inner = handler as Handler;
  for (let i = middleware.length - 1; i >= 0; i--) inner = around(middleware[i]!, inner);
  return inner;
}

/** Throws a typed error unless every entry is a function. */
export function checkMiddleware(middleware: readonly unknown[], name: string): void {
  for (let i = 0; i < middleware.length; i++) {
    if (typeof middleware[i] !== 'function') {
      throw new InvalidOptionError(`${name}[${i}]`, `a middleware function, got ${describe(middleware[i])}`);
    }
  }
}

/** One middleware around `inner`. */
function around(middleware: Middleware, inner: Handler): Handler {
  const now = (middleware as Partial<Eager>)[kEager];
  if (now !== undefined) return (req: JetRequest): HandlerResult => now(req, inner);
  return (req: JetRequest): HandlerResult => middleware(req, nextFor(inner, req));
}

/**
 * What rxjet's own middleware do when the router calls them: with `run`, which runs what is below
 * at once and gives its result as it is, instead of a cold `next()`. They call it exactly once,
 * at once, so the result is the same; a response given at once is then changed and passed up as
 * a plain object, and the server writes it without an Observable.
 */
export const kEager: unique symbol = Symbol('rxjet.eager');

/** Runs what is below a middleware, at once: a request given is passed on instead. */
export type Run = (req: JetRequest) => HandlerResult;

/** A middleware with a form for {@link kEager}. */
export interface Eager {
  readonly [kEager]: (req: JetRequest, run: Run) => HandlerResult;
}

/**
 * A middleware from `body`, written once for both callers: a router or `withMiddleware` gives it
 * a {@link Run}; anyone else who calls it with `next` gives `next` itself (a cold Observable is a
 * handler result too).
 */
export function eager<Adds extends object = object>(
  body: (req: JetRequest, run: Run) => HandlerResult,
): Middleware<Adds> {
  const middleware = ((req: JetRequest, next: Next) => body(req, next)) as Middleware<Adds> & Eager;
  Object.defineProperty(middleware, kEager, { value: body });
  return middleware;
}

/**
 * What `run` answers for `req`: the response itself when it is given at once (a 404 response for
 * nothing), else a cold Observable of it, as `toResponse` makes. A throw from `run` is thrown.
 */
export function answerNow(run: Run, req: JetRequest): JetResponse | Observable<JetResponse> {
  const result = run(req);
  if (result == null) return plainResponse(404);
  if (isObservable(result) || typeof (result as PromiseLike<unknown>).then === 'function') return toResponse(result);
  return result as JetResponse;
}

/** The `next` a middleware gets for `req`: runs `inner` on subscribe, with `req` or the request given. */
export function nextFor(inner: Handler, req: JetRequest): Next {
  return (given?: JetRequest) => {
    if (given !== undefined && (given === null || typeof given !== 'object')) {
      throw new InvalidOptionError('next(req)', `a request, e.g. from deriveRequest(), got ${describe(given)}`);
    }
    return respond(inner, given ?? req);
  };
}
