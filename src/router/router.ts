// `router()`: method and path routing as a handler, with middleware scopes and mounted routers.
import { throwError, timeout as rxTimeout } from 'rxjs';
import { describe, HandlerTimeoutError, HttpError, InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions, choiceOption, functionOption, integerOption } from '../internal/validate.js';
import { DerivedRequest, kRawRest } from '../server/derived-request.js';
import { plainResponse, respond } from '../server/to-response.js';
import type { Handler, HandlerResult, JetRequest } from '../server/types.js';
import { checkMiddleware, type Eager, kEager, nextFor, withMiddleware } from './compose.js';
import {
  encodePath,
  type Found,
  formatPattern,
  normalisePath,
  paramValues,
  parsePattern,
  RouteTree,
  type Segment,
} from './tree.js';
import type { AnyMiddleware, Middleware, Router, RouterOptions, RouteOptions, TrailingSlash } from './types.js';

/**
 * Makes a router: a handler that answers each request with the route its path and method
 * match, inside the router's middleware. Serve it (`serve({ handler: router() … })`), `inject`
 * it, or mount it in another router.
 *
 * - Patterns: static segments, `:name` params (whole segments) and a trailing `*` (the rest of
 *   the path, in `req.params['*']`). Static beats param beats wildcard, whatever the order of
 *   registration; the path is matched first and the method second. A route that conflicts with
 *   one already there (same method, same shape) throws at once, naming both.
 * - No path matched: 404 (or `notFound`); path matched but not the method: 405 with `Allow`;
 *   HEAD is answered by the GET route (without a body); OPTIONS by 204 with `Allow`, unless a
 *   route (or `cors`) answers it.
 * - A route's handler gets the request with `params` (percent-decoded; a malformed escape is a
 *   400), `searchParams` and `route` (the matched pattern, in full).
 *
 * @param options - `trailingSlash` (`'strict'`, `'redirect'` or `'ignore'`) and `notFound`
 * @returns an empty router
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { serve } from 'rxjet/server';
 *
 * const app = router()
 *   .get('/users/:id', (req) => ({ body: `user ${req.params.id}` }))
 *   .post('/users', () => ({ status: 201 }), { timeout: 2_000 });
 * await serve({ handler: app });
 * ```
 */
export function router(options: RouterOptions = {}): Router {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'router');
  const o = options as Record<string, unknown>;
  const state = new RouterState(
    choiceOption(o, 'trailingSlash', trailingSlashes, 'strict'),
    functionOption<Handler>(o, 'notFound'),
  );
  const handle = ((req: JetRequest) => state.handle(req)) as Router & Routable;
  Object.defineProperty(handle, kState, { value: state });
  Object.setPrototypeOf(handle, routerMethods);
  return handle;
}

const optionNames = ['trailingSlash', 'notFound'];
const routeOptionNames = ['use', 'timeout'];
const trailingSlashes: readonly TrailingSlash[] = ['strict', 'redirect', 'ignore'];
const methodToken = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Where a router keeps its routes and middleware. */
const kState = Symbol('rxjet.router');

type Routable = { readonly [kState]: RouterState };

/** One route: its handler (its own middleware and timeout included), its pattern and its params' names. */
interface Route {
  readonly handler: Handler;
  readonly pattern: string;
  readonly names: readonly string[];
  /** Makes the params object from the raw values when no prefix above has params. */
  readonly build: ParamsBuilder;
}

/** The routes of one path shape, by method. */
class Endpoint {
  readonly methods = new Map<string, Route>();
  any: Route | undefined = undefined;
  /** The GET route (else the route for any method), read before the map: most requests are GETs. */
  get: Route | undefined = undefined;
  /** The `Allow` header's value. */
  allow = '';

  add(method: string | undefined, route: Route): void {
    const taken = method === undefined ? this.any : this.methods.get(method);
    if (taken !== undefined) {
      throw new InvalidOptionError(
        'pattern',
        `a route that does not conflict: ${method ?? 'ALL'} '${route.pattern}' has the same shape as '${taken.pattern}'`,
      );
    }
    if (method === undefined) this.any = route;
    else this.methods.set(method, route);
    this.get = this.methods.get('GET') ?? this.any;
    const methods = [...this.methods.keys()];
    if (this.methods.has('GET') && !this.methods.has('HEAD')) methods.splice(methods.indexOf('GET') + 1, 0, 'HEAD');
    if (!this.methods.has('OPTIONS')) methods.push('OPTIONS');
    this.allow = methods.join(', ');
  }

  pick(method: string): Route | undefined {
    if (method === 'GET') return this.get;
    return this.methods.get(method) ?? (method === 'HEAD' ? this.methods.get('GET') : undefined) ?? this.any;
  }
}

/** A router mounted in another, and the prefix it is mounted at. */
interface Mount {
  readonly state: RouterState;
  readonly prefix: string;
  readonly names: readonly string[];
}

/** What a mounting router hands the router it mounted: the part of the path already matched. */
interface Scope {
  /** Where in `req.path` this router's part starts. */
  readonly at: number;
  /** The path's part already matched, for checking that middleware kept it. */
  readonly matched: string;
  /** The params of the prefixes above. */
  readonly params: Readonly<Record<string, string>>;
  /** The prefixes' patterns above, joined. */
  readonly prefix: string;
  /** The nearest `notFound` above. */
  readonly notFound: Handler | undefined;
}

const noParams: Readonly<Record<string, string>> = Object.freeze({});
const topScope: Scope = { at: 0, matched: '', params: noParams, prefix: '', notFound: undefined };

class RouterState {
  readonly tree = new RouteTree<Endpoint, Mount>();
  readonly middleware: Middleware[] = [];

  constructor(
    readonly trailingSlash: TrailingSlash,
    readonly notFound: Handler | undefined,
  ) {}

  /**
   * This router's middleware around its routes at the top, composed once (and again after `use`),
   * so that a request pays for no closures of its own on the way in.
   */
  private top: Handler | undefined;

  /** Answers a request at the top: this router's middleware around its routes. */
  handle(req: JetRequest): HandlerResult {
    this.top ??= withMiddleware((inner: JetRequest) => this.dispatch(inner, topScope), ...this.middleware);
    return this.top(req);
  }

  /** Adds middleware to this router's own (for the requests that come after). */
  use(middleware: readonly Middleware[]): void {
    this.middleware.push(...middleware);
    this.top = undefined;
  }

  /** Answers a request in `scope` (a mounted router's, which differs from request to request). */
  enter(req: JetRequest, scope: Scope): HandlerResult {
    if (this.middleware.length === 0) return this.dispatch(req, scope);
    return this.through(0, req, scope);
  }

  private through(index: number, req: JetRequest, scope: Scope): HandlerResult {
    const middleware = this.middleware[index];
    if (middleware === undefined) return this.dispatch(req, scope);
    const below = (inner: JetRequest): HandlerResult => this.through(index + 1, inner, scope);
    const now = (middleware as Partial<Eager>)[kEager];
    return now === undefined ? middleware(req, nextFor(below, req)) : now(req, below);
  }

  private dispatch(req: JetRequest, scope: Scope): HandlerResult {
    if (typeof req.path !== 'string') return this.missing(req, scope);
    // A path without escapes is matched as it is, and its params need no decoding.
    const escaped = req.path.includes('%');
    const path = escaped ? normalisePath(req.path) : req.path;
    if (path === undefined) return malformed();
    if (scope.at > 0 && !path.startsWith(scope.matched)) return this.missing(req, scope);
    // This router's part of the path; '' is its root (`/` at the top, the prefix itself when mounted).
    let local = scope.at === 0 ? (path === '/' ? '' : path) : path.slice(scope.at);
    const slashed = local.length > 0 && local.charCodeAt(local.length - 1) === 47; /* / */
    if (slashed && this.trailingSlash === 'ignore') local = local.slice(0, -1);
    const found = this.tree.find(local);
    if (found === undefined && this.trailingSlash === 'redirect' && local !== '') {
      const other = slashed ? local.slice(0, -1) : `${local}/`;
      if (this.tree.find(other) !== undefined) {
        const target = encodePath(path.slice(0, scope.at) + (other === '' && scope.at === 0 ? '/' : other));
        return { status: 308, headers: { location: req.query === '' ? target : `${target}?${req.query}` } };
      }
    }
    if (found === undefined) return this.missing(req, scope);
    const { mount, rest } = found;
    if (mount !== undefined) {
      const params = paramsOf(scope.params, mount.names, paramValues(found), undefined);
      if (params === undefined) return malformed();
      const at = scope.at + found.at;
      return mount.state.enter(req, {
        at,
        matched: path.slice(0, at),
        params,
        prefix: scope.prefix + mount.prefix,
        notFound: this.notFound ?? scope.notFound,
      });
    }
    const endpoint = found.value!;
    const route = endpoint.pick(req.method);
    if (route === undefined) {
      if (req.method === 'OPTIONS') return { status: 204, headers: { allow: endpoint.allow } };
      return plainResponse(405, undefined, { allow: endpoint.allow });
    }
    const params =
      scope.params === noParams
        ? route.build(found, escaped)
        : paramsOf(scope.params, route.names, paramValues(found), rest);
    if (params === undefined) return malformed();
    return route.handler(routed(req, params, joinPatterns(scope.prefix, route.pattern), rest));
  }

  private missing(req: JetRequest, scope: Scope): HandlerResult {
    const notFound = this.notFound ?? scope.notFound;
    return notFound === undefined ? null : notFound(req);
  }

  add(methods: readonly string[] | undefined, pattern: unknown, handler: unknown, options: unknown): void {
    const segments = normalise(parsePattern(pattern, 'pattern'), this.trailingSlash);
    if (typeof handler !== 'function') throw new InvalidOptionError('handler', `a function, got ${describe(handler)}`);
    const names = paramNames(segments);
    const route: Route = {
      handler: routeHandler(handler as Handler, options),
      pattern: formatPattern(segments),
      names,
      build: paramsBuilder(names),
    };
    const node = this.tree.node(segments);
    const mounted = segments.at(-1)?.kind === 'wildcard' ? this.tree.node(segments.slice(0, -1)).mount : undefined;
    if (mounted !== undefined) {
      throw new InvalidOptionError(
        'pattern',
        `a route that does not conflict: '${route.pattern}' covers '${mounted.prefix || '/'}', where a router is mounted`,
      );
    }
    node.value ??= new Endpoint();
    if (methods === undefined) node.value.add(undefined, route);
    else for (const method of methods) node.value.add(method, route);
  }

  mount(prefix: unknown, mounted: unknown): void {
    // A prefix's trailing slash means nothing: '/api/' mounts at '/api'.
    const segments = normalise(parsePattern(prefix, 'prefix', false), 'ignore');
    const state = (mounted as Partial<Routable> | null)?.[kState];
    if (typeof mounted !== 'function' || state === undefined) {
      throw new InvalidOptionError('router', `a router made by router(), got ${describe(mounted)}`);
    }
    if (state === this) throw new InvalidOptionError('router', 'another router than the one it is mounted in');
    const node = this.tree.node(segments);
    const formatted = segments.length === 0 ? '' : formatPattern(segments);
    if (node.mount !== undefined) {
      throw new InvalidOptionError('prefix', `a prefix nothing else is mounted at, got '${formatted || '/'}' twice`);
    }
    if (node.wildcard?.value !== undefined) {
      throw new InvalidOptionError(
        'prefix',
        `a prefix that does not conflict: '${formatted}/*' is a route, and would answer every path below it`,
      );
    }
    node.mount = { state, prefix: formatted, names: paramNames(segments) };
  }
}

function malformed(): HandlerResult {
  return throwError(() => new HttpError(400, 'The path has a malformed percent-encoding.'));
}

/**
 * The params: `base`'s, and `names` given the percent-decoded `values` in order (then `rest`, for
 * a wildcard); `base` itself when there are none; `undefined` for a malformed escape.
 */
function paramsOf(
  base: Readonly<Record<string, string>>,
  names: readonly string[],
  values: readonly string[],
  rest: string | undefined,
): Readonly<Record<string, string>> | undefined {
  if (names.length === 0) return base;
  const params: Record<string, string> = base === noParams ? {} : { ...base };
  const count = values.length;
  for (let i = 0; i < names.length; i++) {
    const raw = i < count ? values[i]! : rest!;
    const value = raw.includes('%') ? decode(raw) : raw;
    if (value === undefined) return undefined;
    params[names[i]!] = value;
  }
  return params;
}

/**
 * Makes a route's params object from a match (its values, then a wildcard's rest), decoding them
 * if the path had escapes; `undefined` for a malformed escape.
 */
type ParamsBuilder = (found: Found<unknown, unknown>, escaped: boolean) => Readonly<Record<string, string>> | undefined;

/**
 * A route's {@link ParamsBuilder}. Every params object of one route then has one shape, made by
 * an object literal: a third of the cost of adding the names one by one. The names are
 * identifiers other than `__proto__`, or `*` (checked when the pattern is parsed), and go in as
 * JSON strings. Where code
 * generation is turned off (`--disallow-code-generation-from-strings`), the general loop.
 */
function paramsBuilder(names: readonly string[]): ParamsBuilder {
  if (names.length === 0) return () => noParams;
  const general: ParamsBuilder = (found) => paramsOf(noParams, names, paramValues(found), found.rest);
  let literal: (path: string, bounds: readonly number[], rest: string | undefined) => Record<string, string>;
  try {
    const fields = names.map((name, i) =>
      name === '*' && i === names.length - 1
        ? `${JSON.stringify(name)}: rest`
        : `${JSON.stringify(name)}: path.slice(bounds[${2 * i}], bounds[${2 * i + 1}])`,
    );
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source is made from checked names only
    literal = new Function('path', 'bounds', 'rest', `return { ${fields.join(', ')} };`) as typeof literal;
  } catch {
    return general;
  }
  return (found, escaped) => (escaped ? general(found, escaped) : literal(found.path, found.bounds, found.rest));
}

/** `decodeURIComponent`, or `undefined` for a malformed escape. */
function decode(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** A mounted route's full pattern: its prefixes' and its own. */
function joinPatterns(prefix: string, pattern: string): string {
  return prefix === '' ? pattern : pattern === '/' ? prefix : prefix + pattern;
}

/** The request a route's handler sees: `req` with what the router matched. */
function routed(
  req: JetRequest,
  params: Readonly<Record<string, string>>,
  route: string,
  rest: string | undefined,
): JetRequest {
  const derived = new RoutedRequest(req, params, route);
  if (rest !== undefined) derived[kRawRest] = rest;
  return derived;
}

/** A routed request: its params and route are fields of its class, so every one has one shape from the start. */
class RoutedRequest extends DerivedRequest {
  declare params: Readonly<Record<string, string>>;
  declare route: string;

  constructor(req: JetRequest, params: Readonly<Record<string, string>>, route: string) {
    super(req);
    this.params = params;
    this.route = route;
  }
}

function paramNames(segments: readonly Segment[]): string[] {
  const names: string[] = [];
  for (const segment of segments) {
    if (segment.kind === 'param') names.push(segment.name);
    else if (segment.kind === 'wildcard') names.push('*');
  }
  return names;
}

/**
 * The segments a pattern is stored under: `/` is the root (no segments); under
 * `trailingSlash: 'ignore'` a trailing slash is dropped, so both forms match the one route.
 */
function normalise(segments: readonly Segment[], trailingSlash: TrailingSlash): readonly Segment[] {
  const last = segments.at(-1);
  const slashed = last?.kind === 'static' && last.text === '';
  if (slashed && (segments.length === 1 || trailingSlash === 'ignore')) return segments.slice(0, -1);
  return segments;
}

/** A route's handler with its own middleware and timeout around it. */
function routeHandler(handler: Handler, options: unknown): Handler {
  if (options === undefined) return handler;
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `route options as an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, routeOptionNames, 'route');
  const { use } = options as RouteOptions;
  if (use !== undefined && !Array.isArray(use)) {
    throw new InvalidOptionError('options.use', `an array of middleware, got ${describe(use)}`);
  }
  if (use !== undefined) checkMiddleware(use, 'options.use');
  const inner = use === undefined || use.length === 0 ? handler : withMiddleware(handler, ...(use as AnyMiddleware[]));
  const ms = integerOption(options as Record<string, unknown>, 'timeout', 0, 1, 2 ** 31 - 1);
  if (ms === 0) return inner;
  return (req: JetRequest) =>
    respond(inner, req).pipe(
      rxTimeout({
        first: ms,
        with: () => throwError(() => new HandlerTimeoutError(`${req.method} ${req.url}`, ms)),
      }),
    );
}

function methodList(method: unknown): string[] {
  const list = typeof method === 'string' ? [method] : Array.isArray(method) ? (method as unknown[]) : undefined;
  if (list === undefined || list.length === 0) {
    throw new InvalidOptionError('method', `a method or a non-empty list of methods, got ${describe(method)}`);
  }
  return list.map((entry) => {
    if (typeof entry !== 'string' || !methodToken.test(entry)) {
      throw new InvalidOptionError('method', `an HTTP method token, got ${describe(entry)}`);
    }
    return entry.toUpperCase();
  });
}

function stateOf(router: unknown): RouterState {
  const state = (router as Partial<Routable> | null)?.[kState];
  if (state === undefined) throw new InvalidOptionError('this', 'a router method called on its router');
  return state;
}

function methodRoute(method: string | undefined) {
  return function (this: Router, pattern: unknown, handler: unknown, options?: unknown): Router {
    stateOf(this).add(method === undefined ? undefined : [method], pattern, handler, options);
    return this;
  };
}

/** The methods every router has; it inherits from `Function.prototype`, as a router is a function. */
const routerMethods = Object.create(Function.prototype, {
  get: { value: methodRoute('GET') },
  post: { value: methodRoute('POST') },
  put: { value: methodRoute('PUT') },
  patch: { value: methodRoute('PATCH') },
  delete: { value: methodRoute('DELETE') },
  head: { value: methodRoute('HEAD') },
  options: { value: methodRoute('OPTIONS') },
  all: { value: methodRoute(undefined) },
  route: {
    value: function (this: Router, method: unknown, pattern: unknown, handler: unknown, options?: unknown): Router {
      stateOf(this).add(methodList(method), pattern, handler, options);
      return this;
    },
  },
  use: {
    value: function (this: Router, ...middleware: unknown[]): Router {
      const state = stateOf(this);
      checkMiddleware(middleware, 'middleware');
      state.use(middleware as Middleware[]);
      return this;
    },
  },
  mount: {
    value: function (this: Router, prefix: unknown, mounted: unknown): Router {
      stateOf(this).mount(prefix, mounted);
      return this;
    },
  },
}) as object;
