// The router's public types: middleware, routed requests typed from their pattern, and options.
import type { Observable } from 'rxjs';
import type { Handler, HandlerResult, JetRequest, JetResponse } from '../server/types.js';

/**
 * Runs everything below a middleware: the next middleware, and in the end the route's handler.
 * Cold: nothing below runs until the Observable is subscribed, and each subscription runs it
 * again. Given a request (usually from `deriveRequest`), passes that one on instead.
 *
 * @param req - the request to pass on; the middleware's own by default
 * @returns a cold Observable of the one response below (a `null` answer is a 404 response),
 *   or its error
 */
export type Next = (req?: JetRequest) => Observable<JetResponse>;

/** A type-only marker: the fields a middleware adds to the request it passes on. */
declare const kAdds: unique symbol;

/**
 * Ring-style middleware: a function of the request and of {@link Next}, answering like a handler.
 * It may answer itself (short-circuit), pass on a derived request (`next(deriveRequest(req, …))`),
 * or pipe `next()` through RxJS operators (`map`, `catchError`, `timeout`, `finalize`). Order is
 * onion order: the first middleware given is the outermost.
 *
 * `Adds` names the fields the middleware adds to the request it passes on (`requestId()` adds
 * `id`), so that the routes below it see them typed; `In` is the request it needs (a routed
 * request, for middleware that reads `params`).
 *
 * @example
 * ```ts
 * import type { Middleware } from 'rxjet/router';
 * import { map } from 'rxjs';
 *
 * const poweredBy: Middleware = (req, next) =>
 *   next().pipe(map((res) => ({ ...res, headers: { ...res.headers, 'x-powered-by': 'rxjet' } })));
 * ```
 */
export type Middleware<Adds extends object = object, In extends JetRequest = JetRequest> = ((
  req: In,
  next: Next,
) => HandlerResult) &
  Marked<Adds>;

/** Carries, in types only, the fields a middleware adds. */
interface Marked<Adds> {
  /** Never set: it only carries `Adds` for the routes below to see. */
  readonly [kAdds]?: Adds;
}

/** Any middleware, whatever it adds or needs. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMiddleware = Middleware<any, any>;

/** The fields a list of middleware adds to the request, all together. */
export type AddedBy<U extends readonly AnyMiddleware[]> = UnionToIntersection<{ [K in keyof U]: AddsOf<U[K]> }[number]>;

/** The fields one middleware adds: none for one that says nothing (an inline function). */
type AddsOf<M> = M extends Marked<infer A> ? (0 extends 1 & A ? object : A extends object ? A : object) : object;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends (x: infer I) => void
  ? I extends object
    ? I
    : object
  : object;

type Segments<P extends string> = P extends `${infer Head}/${infer Tail}` ? Head | Segments<Tail> : P;
type ParamName<S extends string> = S extends `:${infer Name}` ? Name : never;

/**
 * The params of a route pattern: `'/users/:id'` gives `{ id: string }`, a trailing `*` adds
 * `'*'` (the rest of the path). A pattern only known as `string` gives a record of strings.
 */
export type PathParams<P extends string> = string extends P
  ? Readonly<Record<string, string>>
  : Readonly<{ [K in ParamName<Segments<P>>]: string } & (P extends `${string}*` ? Rest : unknown)>;

/** What a trailing `*` adds to the params. */
interface Rest {
  /** The rest of the path the wildcard matched, percent-decoded. */
  readonly '*': string;
}

/**
 * A request as a route's handler sees it: the request, plus what the router matched.
 *
 * @typeParam P - the route's pattern, which types `params`
 */
export type RoutedRequest<P extends string = string> = JetRequest & {
  /** The pattern's params, percent-decoded: `/users/:id` on `/users/a%20b` gives `{ id: 'a b' }`. */
  readonly params: PathParams<P>;
  /** The parsed query, parsed once, when the route matched. */
  readonly searchParams: URLSearchParams;
  /** The matched pattern, in full: under a router mounted at `/api`, `'/api/users/:id'`. */
  readonly route: string;
};

/** How a router treats a trailing slash. */
export type TrailingSlash = 'strict' | 'redirect' | 'ignore';

/** Options of {@link router}. */
export interface RouterOptions {
  /**
   * `'strict'`: `/a/` and `/a` are different paths. `'redirect'`: a path that only matches in its
   * other form gets a 308 to the registered form (query kept). `'ignore'`: both forms match.
   * @default 'strict'
   */
  trailingSlash?: TrailingSlash;
  /**
   * Answers paths nothing matched; a mounted router without one uses its parent's.
   * @default a plain 404
   */
  notFound?: Handler;
}

/** Options of one route. */
export interface RouteOptions<U extends readonly AnyMiddleware[] = readonly AnyMiddleware[]> {
  /** Middleware for this route only, inside the router's own. */
  use?: U;
  /**
   * Milliseconds from the request reaching the route (its own `use` included) to its response:
   * past it, the handler is unsubscribed (its teardown runs) and the answer is 503 (a
   * `HandlerTimeoutError`). A body already streaming is not cut.
   * @default none: the server's `handlerTimeout` only
   */
  timeout?: number;
}

/** A route's handler: gets the request typed from the pattern and from the middleware above it. */
export type RouteHandler<P extends string, R extends JetRequest, U extends readonly AnyMiddleware[]> = Handler<
  RoutedRequest<P> & R & AddedBy<U>
>;

/**
 * Adds a route for one method: `router.get(pattern, handler, options?)`.
 *
 * @param pattern - the path pattern: static segments, `:name` params, a trailing `*`
 * @param handler - answers the route's requests, typed from the pattern
 * @param options - the route's own middleware (`use`) and `timeout`
 * @returns the router
 */
export type RouteMethod<R extends JetRequest> = <
  P extends string,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const U extends readonly Middleware<any, RoutedRequest<P> & R>[],
>(
  pattern: P,
  handler: RouteHandler<P, R, U>,
  options?: RouteOptions<U>,
) => Router<R>;

/**
 * A router: a {@link Handler} (serve it, `inject` it, mount it) with chainable methods that add
 * routes and middleware and return the router.
 *
 * @typeParam R - the request its routes see, with the fields its middleware add
 */
export interface Router<R extends JetRequest = JetRequest> {
  /**
   * Answers a request: a router is a handler.
   *
   * @param req - the request
   * @returns what the matched route (or the router itself: 404, 405, OPTIONS) answers
   */
  (req: JetRequest): HandlerResult;
  /** Adds a GET route (which answers HEAD too, without a body). */
  readonly get: RouteMethod<R>;
  /** Adds a POST route. */
  readonly post: RouteMethod<R>;
  /** Adds a PUT route. */
  readonly put: RouteMethod<R>;
  /** Adds a PATCH route. */
  readonly patch: RouteMethod<R>;
  /** Adds a DELETE route. */
  readonly delete: RouteMethod<R>;
  /** Adds a HEAD route (ahead of the GET route's). */
  readonly head: RouteMethod<R>;
  /** Adds an OPTIONS route (instead of the automatic 204 with `Allow`). */
  readonly options: RouteMethod<R>;
  /** Adds a route for every method. */
  readonly all: RouteMethod<R>;
  /**
   * Adds a route for one method or several; methods are case-insensitive and any token is
   * allowed (`'PROPFIND'`).
   *
   * @param method - a method or a list of methods
   * @param pattern - the path pattern
   * @param handler - answers the route's requests
   * @param options - the route's own middleware (`use`) and `timeout`
   * @returns the router
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  route<P extends string, const U extends readonly Middleware<any, RoutedRequest<P> & R>[]>(
    method: string | readonly string[],
    pattern: P,
    handler: RouteHandler<P, R, U>,
    options?: RouteOptions<U>,
  ): Router<R>;
  /**
   * Adds middleware around everything this router answers, its 404s, 405s and automatic
   * OPTIONS answers included, and the routers mounted in it; whatever the order of
   * registration, a router's middleware run before its routes'.
   *
   * @param middleware - outermost first
   * @returns the router, its routes typed with what the middleware add
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  use<const U extends readonly Middleware<any, R>[]>(...middleware: U): Router<R & AddedBy<U>>;
  /**
   * Mounts another router under `prefix` (`'/api'`, or with params: `'/orgs/:org'`): its routes
   * answer below the prefix, with its own middleware, and see the full `path`, `url` and `route`
   * (nothing stripped). Its `/` route answers the prefix itself.
   *
   * @param prefix - whole segments, static or `:name`
   * @param router - the router to mount
   * @returns this router
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  mount(prefix: string, router: Router<any>): Router<R>;
}
