// Middleware around a handler, in onion order: the composition every router scope is built from.
import { describe, InvalidOptionError } from '../internal/errors.js';
import { respond } from '../server/to-response.js';
import type { Handler, HandlerResult, JetRequest } from '../server/types.js';
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
  return (req: JetRequest): HandlerResult => middleware(req, nextFor(inner, req));
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
