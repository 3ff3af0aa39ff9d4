/**
 * Routing and middleware composition: what a routed app with everyday middleware costs in rxjet, against bare
 * node:http, the same jobs written by hand, and other Node.js frameworks; and the router's lookup alone, against
 * find-my-way (Fastify's router).
 *
 * Two parts, each with its baseline measured in the same run:
 *
 * 1. HTTP: every routed contender registers the same 100 GET routes (50 static, `/static<i>/items`, and 50 with two
 *    params, `/users<i>/:id/posts/:post`, each answering `hello world` as text/plain) behind three middlewares: a
 *    request id (an incoming `x-request-id` kept, else a random UUID, sent back as `x-request-id`), CORS (origin `*`)
 *    and request logging to a no-op logger, once per request. The load hits one param route,
 *    `/users42/123/posts/456`, with an `Origin: http://example.test` header. The contenders, each written the plain
 *    way its own documentation shows with its default settings, each in its own child process:
 *    - bare `node:http` answering `hello world` to any path, with no routing and no middleware (the baseline);
 *    - `node:http` with the routes and the three jobs written by hand (a Map of the static paths, a split of the
 *      param paths, headers set and the log call made inline);
 *    - rxjet: `router().use(requestId(), cors(), requestLog({ logger }))` with the 100 routes;
 *    - Fastify 5 (find-my-way): @fastify/cors, `genReqId` with `requestIdHeader`, an `onRequest` hook sending the
 *      id and an `onResponse` hook logging (Fastify's own pino logger stays off, its default);
 *    - Hono 4 on @hono/node-server: hono/request-id, hono/cors and hono/logger printing to a no-op function (it
 *      prints twice per request, `<--` and `-->`, as its docs show);
 *    - Express 5: the cors package, and a request-id and a logging middleware (`res.on('finish')`) of a few lines;
 *    - Marble.js 4: `r.pipe(r.matchPath, r.matchType, r.useEffect)` routes, and the three jobs as middleware
 *      effects on `httpListener` (Marble.js has no CORS, request-id or logger middleware in @marblejs/http).
 *    Every contender is checked first: the loaded route answers 200 `hello world` as text/plain with `x-request-id`
 *    and `access-control-allow-origin`, a static route answers too, an unknown path is a 404, and the logger was
 *    called. The load generator (wrk if it is on the PATH, else autocannon) runs in a process of its own; after one
 *    warm-up run each, alternating rounds; reported: median requests per second, the ratio to bare node:http, and
 *    the median server CPU time per request. Targets: rxjet routed at least 0.90x bare node:http's plain hello,
 *    1.2x Fastify routed and 1.0x Hono routed.
 * 2. Router lookup, in this process, no sockets (and the route tree alone against fmw.find, for the floor): the same 100 routes in an rxjet `router()` and in find-my-way, for
 *    the param route, a static route, a miss and a mix of the three. rxjet: the router called as a handler on a
 *    minimal request (`{ method, path, query, url }`), its route answering a constant; find-my-way:
 *    `find(method, path)`, then the found handler called with the request and the params. Both match, build the
 *    params and call the handler, and are checked first to route the paths alike. Each call gets a new request
 *    object, as a server makes one per request; one more case, the mix on the same request objects reused, shows
 *    what a benchmark that reuses them would see (a router may do per-object work that only a new object pays for).
 *    Alternating rounds of BENCH_LOOKUP_MS each, after a warm-up of BENCH_WARMUP seconds each; reported: median
 *    calls per second and the ratio rxjet / find-my-way (target for the mix, new requests: at least 1.0x).
 *
 * The results are also written to bench/results/routing-latest.json.
 *
 * Run:   npm run bench:routing (about 3 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_WARMUP=1 BENCH_LOOKUP_MS=200 npm run bench:routing
 * Some:  BENCH_PARTS=lookup npm run bench:routing, BENCH_CONTENDERS=rxjet,fastify npm run bench:routing
 *        (node:http always runs, as the baseline; either writes no results file)
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50), BENCH_LOOKUP_MS per lookup run (default 1000), BENCH_PARTS (http,lookup)
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type FindMyWay from 'find-my-way';
import * as lib from './lib.js';

const allContenders = [
  { id: 'node', label: 'node:http, plain hello' },
  { id: 'node-routed', label: 'node:http routed by hand' },
  { id: 'rxjet', label: 'rxjet router' },
  { id: 'fastify', label: 'Fastify' },
  { id: 'hono', label: 'Hono' },
  { id: 'express', label: 'Express' },
  { id: 'marble', label: 'Marble.js' },
] as const;

type ContenderId = (typeof allContenders)[number]['id'];

/** How many routes of each kind: 50 static and 50 with params, 100 in all. */
const ROUTES_PER_KIND = 50;
const staticPatterns = Array.from({ length: ROUTES_PER_KIND }, (_, i) => `/static${i}/items`);
const paramPatterns = Array.from({ length: ROUTES_PER_KIND }, (_, i) => `/users${i}/:id/posts/:post`);
const allPatterns = [...staticPatterns, ...paramPatterns];

/** The path the load hits: one of the param routes. */
const LOADED_PATH = '/users42/123/posts/456';
/** A static route and a path no route matches, for the checks and the lookup part. */
const STATIC_PATH = '/static17/items';
const MISSING_PATH = '/users42/123/comments/456';

/** The Origin every request of the load sends, so that the CORS middleware has work to do. */
const ORIGIN = 'http://example.test';
const loadHeaders: lib.LoadHeaders = { origin: ORIGIN };

/** An incoming request id worth keeping (as rxjet's requestId judges it), for the hand-written request ids. */
const saneId = /^[\x21-\x7e]{1,200}$/;

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, reporting its port over IPC.
// ---------------------------------------------------------------------------------------------------------------

/** Log calls in this process: the no-op logger only counts, so that the check can tell it was called. */
let logged = 0;

/** One request's log entry, as rxjet's requestLog gives it to its logger. */
interface LogEntry {
  method: string | undefined;
  path: string | undefined;
  status: number;
  durationMs: number;
  id: string | undefined;
}

/** The no-op logger every contender logs to (Hono's logger prints lines instead: see `print`). */
const logger: { info(entry: object): void } = {
  info() {
    logged++;
  },
};

/** The no-op print function of Hono's logger. */
const print = (): void => {
  logged++;
};

/** A child's answer to a `logs` request. */
interface LogsMessage {
  type: 'logs';
  count: number;
}

/** The port a listening server is bound to, for the frameworks that only hand back their node:http server. */
function boundPort(server: { address(): AddressInfo | string | null }): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return address.port;
}

/** The request id of a node:http request, by hand: a sane incoming one, else a new UUID. */
function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && saneId.test(incoming) ? incoming : randomUUID();
}

/** The hand-written server's table: the static paths, and the first segment of each param route. */
const staticPaths = new Set(staticPatterns);
const paramPrefixes = new Set(paramPatterns.map((pattern) => pattern.split('/')[1]!));

/** A param of the hand-written router, percent-decoded; `undefined` for a malformed escape. */
function decodeParam(raw: string): string | undefined {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * The hand-written router: whether `path` is one of the 100 routes, with its params decoded (as a router would hand
 * them to the route; this route does not read them).
 */
function handRoute(path: string): boolean {
  if (staticPaths.has(path)) return true;
  const parts = path.split('/');
  if (parts.length !== 5 || parts[3] !== 'posts' || !paramPrefixes.has(parts[1]!)) return false;
  const id = parts[2]!;
  const post = parts[4]!;
  if (id === '' || post === '') return false;
  const params = { id: decodeParam(id), post: decodeParam(post) };
  return params.id !== undefined && params.post !== undefined;
}

/** The hand-written server: the routes, the request id, CORS and the log call, all inline. */
function handRouted(req: IncomingMessage, res: ServerResponse): void {
  const start = performance.now();
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const id = requestIdOf(req);
  const headers: Record<string, string> = { 'x-request-id': id };
  if (req.headers.origin !== undefined) headers['access-control-allow-origin'] = '*';
  let status: number;
  let body: string;
  if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
    headers['access-control-allow-methods'] = 'GET,HEAD,PUT,PATCH,POST,DELETE';
    status = 204;
    body = '';
  } else if (handRoute(path)) {
    status = req.method === 'GET' || req.method === 'HEAD' ? 200 : 405;
    body = status === 200 ? lib.HELLO : '';
  } else {
    status = 404;
    body = 'Not Found';
  }
  headers['content-type'] = 'text/plain';
  res.writeHead(status, headers);
  res.end(body);
  const entry: LogEntry = { method: req.method, path, status, durationMs: performance.now() - start, id };
  logger.info(entry);
}

/** The plain-text hello of the routed contenders' routes. */
const helloResponse = () => ({ headers: { 'content-type': 'text/plain' }, body: lib.HELLO });

/**
 * Starts each contender's server and resolves with its port. Every framework is written the plain way its own
 * documentation shows, with its default (production) settings, and is imported only in its own child.
 */
const servers: Record<ContenderId, () => Promise<number>> = {
  async node() {
    return (await lib.startHelloServer()).port;
  },

  async 'node-routed'() {
    const server = createServer(handRouted);
    server.listen(0, '127.0.0.1');
    return lib.listeningPort(server);
  },

  async rxjet() {
    const { serve } = await import('../dist/server/index.js');
    const { router } = await import('../dist/router/index.js');
    const { cors, requestId, requestLog } = await import('../dist/middleware/index.js');
    const app = router().use(requestId(), cors(), requestLog({ logger }));
    for (const pattern of allPatterns) app.get(pattern, helloResponse);
    const server = await serve({ port: 0, host: '127.0.0.1', handler: app });
    return server.port;
  },

  async fastify() {
    // Fastify's logger stays off (its default): an onResponse hook logs instead, as the others do.
    const { default: Fastify } = await import('fastify');
    const { default: cors } = await import('@fastify/cors');
    const app = Fastify({ genReqId: () => randomUUID(), requestIdHeader: 'x-request-id' });
    await app.register(cors);
    app.addHook('onRequest', (request, reply, done) => {
      reply.header('x-request-id', request.id);
      done();
    });
    app.addHook('onResponse', (request, reply, done) => {
      const entry: LogEntry = {
        method: request.method,
        path: request.url,
        status: reply.statusCode,
        durationMs: reply.elapsedTime,
        id: request.id,
      };
      logger.info(entry);
      done();
    });
    for (const pattern of allPatterns) app.get(pattern, async () => lib.HELLO);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return boundPort(app.server);
  },

  async hono() {
    const { Hono } = await import('hono');
    const { cors } = await import('hono/cors');
    const { requestId } = await import('hono/request-id');
    const { logger: honoLogger } = await import('hono/logger');
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.use(requestId(), cors(), honoLogger(print));
    for (const pattern of allPatterns) app.get(pattern, (c) => c.text(lib.HELLO));
    return new Promise((resolve) => {
      serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    });
  },

  async express() {
    const { default: express } = await import('express');
    const { default: cors } = await import('cors');
    const app = express();
    app.use((req, res, next) => {
      const id = requestIdOf(req);
      (req as IncomingMessage & { id?: string }).id = id;
      res.setHeader('x-request-id', id);
      next();
    });
    app.use(cors());
    app.use((req, res, next) => {
      const start = performance.now();
      res.on('finish', () => {
        const id = (req as IncomingMessage & { id?: string }).id;
        const entry: LogEntry = {
          method: req.method,
          path: req.path,
          status: res.statusCode,
          durationMs: performance.now() - start,
          id,
        };
        logger.info(entry);
      });
      next();
    });
    for (const pattern of allPatterns) {
      app.get(pattern, (_req, res) => {
        res.type('text/plain').send(lib.HELLO);
      });
    }
    return lib.listeningPort(app.listen(0, '127.0.0.1'));
  },

  async marble() {
    // Marble.js 4 is built on RxJS 7, like rxjet; it logs its routes and address once at start-up, not per request.
    const { createServer: createMarbleServer, httpListener, r } = await import('@marblejs/http');
    type Middleware = import('@marblejs/http').HttpMiddlewareEffect;
    const { map, tap } = await import('rxjs');
    const requestId$: Middleware = (req$) =>
      req$.pipe(
        tap((req) => {
          const id = requestIdOf(req);
          req.id = id;
          req.response.setHeader('x-request-id', id);
        }),
      );
    const cors$: Middleware = (req$) =>
      req$.pipe(
        tap((req) => {
          if (req.headers.origin !== undefined) req.response.setHeader('access-control-allow-origin', '*');
        }),
      );
    const logger$: Middleware = (req$) =>
      req$.pipe(
        tap((req) => {
          const start = performance.now();
          req.response.once('finish', () => {
            const entry: LogEntry = {
              method: req.method,
              path: req.url,
              status: req.response.statusCode,
              durationMs: performance.now() - start,
              id: req.id as string | undefined,
            };
            logger.info(entry);
          });
        }),
      );
    const effects = allPatterns.map((pattern) =>
      r.pipe(
        r.matchPath(pattern),
        r.matchType('GET'),
        r.useEffect((req$) => req$.pipe(map(() => helloResponse()))),
      ),
    );
    // createServer resolves with an IO (a function) that starts listening and resolves with the node:http server.
    const listen = await createMarbleServer({
      port: 0,
      hostname: '127.0.0.1',
      listener: httpListener({ middlewares: [requestId$, cors$, logger$], effects }),
    });
    return boundPort(await listen());
  },
};

async function runChild(id: ContenderId): Promise<void> {
  const port = await servers[id]();
  lib.answerRequests({ cpu: lib.cpuTime, logs: (): LogsMessage => ({ type: 'logs', count: logged }) });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent, part 1: the routed servers over HTTP.
// ---------------------------------------------------------------------------------------------------------------

type Settings = ReturnType<typeof lib.settings>;

/** Throws unless `res` is the routes' `hello world`, with a request id and CORS when `routed`. */
function expectHello(what: string, res: lib.WholeResponse, routed: boolean): void {
  const problems: string[] = [];
  if (res.status !== 200) problems.push(`status ${res.status}`);
  if (res.body.toString() !== lib.HELLO) problems.push(`body ${JSON.stringify(res.body.toString().slice(0, 80))}`);
  if (!String(res.headers['content-type']).startsWith('text/plain')) {
    problems.push(`content-type ${String(res.headers['content-type'])}`);
  }
  if (routed && !res.headers['x-request-id']) problems.push('no x-request-id');
  if (routed && res.headers['access-control-allow-origin'] === undefined) {
    problems.push('no access-control-allow-origin');
  }
  if (problems.length > 0) throw new Error(`${what}: ${problems.join(', ')}`);
}

/**
 * Checks that a contender answers as the benchmark expects: the loaded route, and for the routed ones a static
 * route, a 404 for an unknown path and a logger that was called; returns the log calls per checked request.
 */
async function checkContender(id: ContenderId, server: lib.ChildServer): Promise<number | undefined> {
  const base = `http://127.0.0.1:${server.port}`;
  const routed = id !== 'node';
  expectHello(`${id} ${LOADED_PATH}`, await lib.getWhole(base + LOADED_PATH, loadHeaders), routed);
  if (!routed) return undefined;
  expectHello(`${id} ${STATIC_PATH}`, await lib.getWhole(base + STATIC_PATH, loadHeaders), routed);
  const missing = await lib.getWhole(base + MISSING_PATH, loadHeaders);
  if (missing.status !== 404) throw new Error(`${id} ${MISSING_PATH}: status ${missing.status}, not 404`);
  // Some contenders log when the response has finished: give the last one a moment.
  await lib.delay(50);
  const count = (await lib.ask<LogsMessage>(server.child, 'logs', 'logs', 'log count')).count;
  if (count === 0) throw new Error(`${id}: the logger was not called`);
  return count / 3;
}

async function httpPart(generator: lib.LoadGenerator, bench: Settings, contenders: (typeof allContenders)[number][]) {
  const { rounds, seconds, warmup, connections } = bench;
  console.log(
    `\nHTTP: ${allPatterns.length} routes, request id, CORS and a request log; GET ${LOADED_PATH} with ` +
      `Origin, ${generator.name}, ${connections} connections`,
  );
  const children = await Promise.all(contenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])));
  try {
    const logCalls: (number | undefined)[] = [];
    for (const [i, contender] of contenders.entries()) logCalls.push(await checkContender(contender.id, children[i]!));
    const urls = children.map((s) => `http://127.0.0.1:${s.port}${LOADED_PATH}`);

    if (warmup > 0) {
      for (const url of urls) await generator.run(url, warmup, connections, loadHeaders);
    }
    const samples = await lib.measureRounds(
      contenders,
      rounds,
      async (i) => {
        const before = await lib.askCpu(children[i]!.child);
        const sample = await generator.run(urls[i]!, seconds, connections, loadHeaders);
        const cpu = (await lib.askCpu(children[i]!.child)) - before;
        return { ...sample, serverMicrosPerRequest: cpu / Math.max(1, sample.requestsPerSecond * seconds) };
      },
      (sample) => sample.requestsPerSecond,
    );

    const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
    const results = contenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      medianRequestsPerSecond: Math.round(medians[i]!),
      ratio: lib.ratio(medians[i]!, medians[0]!),
      medianServerMicrosPerRequest: Number(lib.median(samples[i]!.map((s) => s.serverMicrosPerRequest)).toFixed(2)),
      logCallsPerRequest: logCalls[i] ?? null,
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      errors: lib.totalErrors(samples[i]!),
    }));
    return { loadGenerator: generator.name, path: LOADED_PATH, routes: allPatterns.length, results };
  } finally {
    for (const child of children) lib.killChild(child.child);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parent, part 2: the router's lookup alone, in this process.
// ---------------------------------------------------------------------------------------------------------------

/**
 * The lookup cases: which paths, in turn, and whether each call gets a request of its own, as a server hands each
 * request a new object, or every call the same one (a request object seen before may be cheaper to route: this
 * shows what a benchmark that reuses one would miss). The target is on the first, `mix`.
 */
const lookupCases = [
  { id: 'mix', label: 'mix (param, static, miss)', paths: [LOADED_PATH, STATIC_PATH, MISSING_PATH], fresh: true },
  { id: 'param', label: `param route ${LOADED_PATH}`, paths: [LOADED_PATH], fresh: true },
  { id: 'static', label: `static route ${STATIC_PATH}`, paths: [STATIC_PATH], fresh: true },
  { id: 'miss', label: `miss ${MISSING_PATH}`, paths: [MISSING_PATH], fresh: true },
  {
    id: 'mix-reused',
    label: 'mix, the same request objects reused',
    paths: [LOADED_PATH, STATIC_PATH, MISSING_PATH],
    fresh: false,
  },
] as const;

const lookupContenders = [
  { id: 'rxjet', label: 'rxjet router()' },
  { id: 'find-my-way', label: 'find-my-way' },
] as const;

/** The minimal request both routers get: what rxjet's router reads. */
interface MinimalRequest {
  method: string;
  path: string;
  query: string;
  url: string;
}

const minimalRequest = (path: string): MinimalRequest => ({ method: 'GET', path, query: '', url: path });

/** What a route answers in the lookup part: a constant, so that only lookup, params and the call are measured. */
const ANSWER = Object.freeze({ body: lib.HELLO });

/** One timed loop: how many calls it made, how many answered (not a miss), and calls per second. */
interface LookupSample {
  calls: number;
  hits: number;
  opsPerSecond: number;
}

/**
 * One contender's timed loop: calls for the `requests` in turn, for about `ms`, on a new request object per call
 * (made from the given one's path, as a server makes one per request) when `fresh`, else on the given ones.
 */
type LookupLoop = (requests: readonly MinimalRequest[], fresh: boolean, ms: number) => LookupSample;

/** A batch of calls between two looks at the clock. */
const BATCH = 1024;

/** The two tables, with `handler` on every route (a constant answer for timing, a recorder for the checks). */
async function lookupTables(handler: (req: MinimalRequest, params: Readonly<Record<string, string>>) => unknown) {
  const { router } = await import('../dist/router/index.js');
  const { default: FindMyWay } = await import('find-my-way');
  type JetRequest = import('../dist/server/index.js').JetRequest;
  const app = router();
  const fmw = FindMyWay();
  // The same route handler for both; rxjet hands it the routed request, which carries `params`.
  const rxjetRoute = (req: JetRequest & { params: Record<string, string> }) =>
    handler(req, req.params) as typeof ANSWER;
  const fmwRoute = handler as unknown as FindMyWay.Handler<FindMyWay.HTTPVersion.V1>;
  for (const pattern of allPatterns) {
    app.get(pattern, rxjetRoute);
    fmw.on('GET', pattern, fmwRoute);
  }
  type FmwHandler = (req: MinimalRequest, params: unknown) => unknown;

  const rxjet: LookupLoop = (requests, fresh, ms) => {
    let hits = 0;
    let calls = 0;
    const start = performance.now();
    let now: number;
    do {
      for (let k = 0; k < BATCH; k++) {
        for (const given of requests) {
          const req = fresh ? minimalRequest(given.path) : given;
          if (app(req as unknown as JetRequest) != null) hits++;
        }
      }
      calls += BATCH * requests.length;
      now = performance.now();
    } while (now - start < ms);
    return { calls, hits, opsPerSecond: (calls * 1000) / (now - start) };
  };
  const findMyWay: LookupLoop = (requests, fresh, ms) => {
    let hits = 0;
    let calls = 0;
    const start = performance.now();
    let now: number;
    do {
      for (let k = 0; k < BATCH; k++) {
        for (const given of requests) {
          const req = fresh ? minimalRequest(given.path) : given;
          const found = fmw.find(req.method as 'GET', req.path);
          if (found !== null && (found.handler as unknown as FmwHandler)(req, found.params) != null) hits++;
        }
      }
      calls += BATCH * requests.length;
      now = performance.now();
    } while (now - start < ms);
    return { calls, hits, opsPerSecond: (calls * 1000) / (now - start) };
  };
  return { rxjet, 'find-my-way': findMyWay };
}

/** Checks that both tables route the paths alike, with the same params, before anything is timed. */
async function checkLookup(): Promise<void> {
  let seen: { path: string; params: Record<string, string> }[] = [];
  const loops = await lookupTables((req, params) => {
    seen.push({ path: req.path, params: { ...params } });
    return ANSWER;
  });
  const requests = [LOADED_PATH, STATIC_PATH, MISSING_PATH].map(minimalRequest);
  const expected = JSON.stringify([
    { path: LOADED_PATH, params: { id: '123', post: '456' } },
    { path: STATIC_PATH, params: {} },
  ]);
  for (const contender of lookupContenders) {
    seen = [];
    // One batch (the shortest loop): the first two calls are the two routes; the miss calls nothing.
    loops[contender.id](requests, true, 0);
    const routed = JSON.stringify(seen.slice(0, 2));
    if (routed !== expected) throw new Error(`lookup check, ${contender.id}: routed ${routed}, expected ${expected}`);
  }
}

async function lookupPart(bench: Settings, ms: number) {
  const { rounds, warmup } = bench;
  console.log(`\nRouter lookup: ${allPatterns.length} routes, in this process, runs of ${ms} ms`);
  await checkLookup();
  const loops = await lookupTables(() => ANSWER);
  const requests = lookupCases.map((c) => c.paths.map(minimalRequest));
  const runs = lookupCases.flatMap((c, caseIndex) =>
    lookupContenders.map((contender) => ({ caseIndex, contender, label: `${c.id} ${contender.label}` })),
  );
  if (warmup > 0) {
    for (const contender of lookupContenders) loops[contender.id](requests[0]!, true, warmup * 1000);
  }
  const samples = await lib.measureRounds(
    runs,
    rounds,
    async (i) => {
      const run = runs[i]!;
      const { paths, fresh } = lookupCases[run.caseIndex]!;
      const sample = loops[run.contender.id](requests[run.caseIndex]!, fresh, ms);
      // Both routers answer every path but the miss, which answers nothing.
      const answered = (sample.calls / paths.length) * paths.filter((p) => p !== MISSING_PATH).length;
      if (sample.hits !== answered) throw new Error(`${run.label}: ${sample.hits} answers, expected ${answered}`);
      return sample;
    },
    (sample) => sample.opsPerSecond,
  );
  const medianOf = (caseIndex: number, id: string): number =>
    lib.median(
      samples[runs.findIndex((r) => r.caseIndex === caseIndex && r.contender.id === id)]!.map((s) => s.opsPerSecond),
    );
  const results = lookupCases.map((c, caseIndex) => {
    const rxjet = medianOf(caseIndex, 'rxjet');
    const fmw = medianOf(caseIndex, 'find-my-way');
    return {
      id: c.id,
      label: c.label,
      freshRequests: c.fresh,
      rxjetOpsPerSecond: Math.round(rxjet),
      findMyWayOpsPerSecond: Math.round(fmw),
      ratio: lib.ratio(rxjet, fmw),
    };
  });
  return {
    runMs: ms,
    results,
    samples: runs.map((r, i) => ({ run: r.label, opsPerSecond: samples[i]!.map((s) => Math.round(s.opsPerSecond)) })),
  };
}

/**
 * The lookup alone, for where the floor is: rxjet's route tree (`find`, internal, so from src/) against `fmw.find`, the same
 * 100 patterns, no request built and nothing called. Medians of alternating runs, calls per second.
 */
async function treeAlone(bench: Settings, ms: number) {
  const { RouteTree, parsePattern } = await import('../src/router/tree.js');
  const { default: FindMyWay } = await import('find-my-way');
  const tree = new RouteTree<number, never>();
  const fmw = FindMyWay();
  allPatterns.forEach((pattern, i) => {
    tree.node(parsePattern(pattern, 'pattern')).value = i;
    fmw.on('GET', pattern, () => i);
  });
  const paths = [LOADED_PATH, STATIC_PATH, MISSING_PATH];
  const loop = (find: (path: string) => unknown) => (): { opsPerSecond: number } => {
    let calls = 0;
    const start = performance.now();
    let now: number;
    do {
      for (let k = 0; k < BATCH; k++) for (const path of paths) if (find(path) === 0.5) calls--;
      calls += BATCH * paths.length;
      now = performance.now();
    } while (now - start < ms);
    return { opsPerSecond: (calls * 1000) / (now - start) };
  };
  const loops = [loop((path) => tree.find(path)), loop((path) => fmw.find('GET', path))];
  const samples = await lib.measureRounds(
    [{ label: 'rxjet route tree' }, { label: 'find-my-way find' }],
    bench.rounds,
    async (i): Promise<{ opsPerSecond: number }> => loops[i]!(),
    (sample) => sample.opsPerSecond,
  );
  const [tree$, fmw$] = samples.map((s) => lib.median(s.map((x) => x.opsPerSecond)));
  return {
    rxjetTreeOpsPerSecond: Math.round(tree$!),
    findMyWayOpsPerSecond: Math.round(fmw$!),
    ratio: lib.ratio(tree$!, fmw$!),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: both parts, the tables and the results file.
// ---------------------------------------------------------------------------------------------------------------

const parts = ['http', 'lookup'] as const;

/** A ratio held to an at-least target; `value` is null when a contender it needs was not measured. */
function target(id: string, label: string, value: number | null, bound: number) {
  return { id, label, value, target: bound, met: value === null ? null : value >= bound };
}

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;
  const lookupMs = lib.envInt('BENCH_LOOKUP_MS', 1000, 1);
  const chosenParts = process.env.BENCH_PARTS?.split(',') ?? [...parts];
  for (const part of chosenParts) {
    if (!parts.includes(part as (typeof parts)[number])) throw new Error(`BENCH_PARTS: unknown part ${part}`);
  }
  // BENCH_CONTENDERS=rxjet,fastify measures a few (node:http always, as the baseline) without writing results.
  const only = process.env.BENCH_CONTENDERS?.split(',');
  const contenders = allContenders.filter((c) => only === undefined || c.id === 'node' || only.includes(c.id));

  const generator = chosenParts.includes('http') ? await lib.pickLoadGenerator() : undefined;
  if (chosenParts.includes('http') && generator === undefined) {
    console.error(lib.NO_LOAD_GENERATOR);
    process.exitCode = 1;
    return;
  }
  const httpSeconds = chosenParts.includes('http') ? contenders.length * (warmup + rounds * seconds) : 0;
  const lookupSeconds = chosenParts.includes('lookup')
    ? lookupContenders.length * warmup + (lookupCases.length * lookupContenders.length * rounds * lookupMs) / 1000
    : 0;
  const estimate = Math.round(httpSeconds + lookupSeconds + 5);
  console.log(
    `rxjet routing benchmark: ${connections} connections, ${rounds} round(s) of ${seconds} s, ${warmup} s warm-up` +
      `, lookup runs of ${lookupMs} ms (about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 60);

  const http = generator === undefined ? undefined : await httpPart(generator, bench, [...contenders]);
  const lookup = chosenParts.includes('lookup') ? await lookupPart(bench, lookupMs) : undefined;
  const alone = chosenParts.includes('lookup') ? await treeAlone(bench, lookupMs) : undefined;
  const meta = { ...lib.machine(), ...bench, lookupMs };

  lib.printMachine(meta);
  if (http !== undefined) {
    console.log();
    lib.printTable([
      [`routed GET ${LOADED_PATH}`, 'median req/s', 'vs node:http', 'server CPU/req', 'errors'],
      ...http.results.map((r) => [
        r.label,
        r.medianRequestsPerSecond.toLocaleString('en-US'),
        `${r.ratio.toFixed(2)}x`,
        `${r.medianServerMicrosPerRequest.toFixed(1)} µs`,
        String(r.errors),
      ]),
    ]);
    const logs = http.results.filter((r) => r.logCallsPerRequest !== null);
    console.log(`\nLog calls per request: ${logs.map((r) => `${r.label} ${r.logCallsPerRequest}`).join(', ')}.`);
    if (http.results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or non-2xx responses.');
  }
  if (lookup !== undefined) {
    console.log();
    lib.printTable([
      ['router lookup + params + call', 'rxjet calls/s', 'find-my-way calls/s', 'rxjet / find-my-way'],
      ...lookup.results.map((r) => [
        r.label,
        r.rxjetOpsPerSecond.toLocaleString('en-US'),
        r.findMyWayOpsPerSecond.toLocaleString('en-US'),
        `${r.ratio.toFixed(2)}x`,
      ]),
    ]);
  }
  if (alone !== undefined) {
    console.log(
      `\nThe lookup alone (the mix; no request built, nothing called): rxjet's route tree ` +
        `${alone.rxjetTreeOpsPerSecond.toLocaleString('en-US')}/s, find-my-way ` +
        `${alone.findMyWayOpsPerSecond.toLocaleString('en-US')}/s, ${alone.ratio.toFixed(2)}x.`,
    );
  }
  const rate = (id: ContenderId): number | undefined => http?.results.find((r) => r.id === id)?.medianRequestsPerSecond;
  const versus = (id: ContenderId): number | null => {
    const rxjet = rate('rxjet');
    const other = rate(id);
    return rxjet === undefined || !other ? null : lib.ratio(rxjet, other);
  };
  const targets = [
    ...(http === undefined
      ? []
      : [
          target('vsNode', 'rxjet routed / node:http plain hello', versus('node'), 0.9),
          target('vsFastify', 'rxjet routed / Fastify routed', versus('fastify'), 1.2),
          target('vsHono', 'rxjet routed / Hono routed', versus('hono'), 1),
        ]),
    ...(lookup === undefined
      ? []
      : [
          target(
            'lookupVsFindMyWay',
            'router lookup, mix: rxjet / find-my-way',
            lookup.results.find((r) => r.id === 'mix')!.ratio,
            1,
          ),
        ]),
  ];
  console.log();
  lib.printTable([
    ['target', 'ratio', 'target', 'met'],
    ...targets.map((t) => [
      t.label,
      t.value === null ? 'n/a' : `${t.value.toFixed(2)}x`,
      `>= ${t.target}x`,
      t.met === null ? 'n/a' : t.met ? 'met' : 'missed',
    ]),
  ]);

  const complete = only === undefined && chosenParts.length === parts.length;
  if (complete)
    await lib.writeResults('routing', {
      ...meta,
      loadGenerator: generator!.name,
      http,
      lookup,
      lookupAlone: alone,
      targets,
    });
}

await lib.main((args) => runChild(lib.contenderId(allContenders, args[0])), runParent);
