/**
 * Hello-world throughput of rxjet against bare node:http and other Node.js HTTP frameworks.
 *
 * Seven contenders answer GET / with `hello world` as text/plain: a bare `node:http` server (the baseline), rxjet
 * with a handler returning a plain response object, rxjet with a handler returning an Observable of one, Fastify 5,
 * Hono 4 on @hono/node-server, Marble.js 4 (also built on RxJS) and Express 5, each written the plain way its own
 * documentation shows, with its default settings. Each server runs in its own child process, so it does not share a
 * thread with the load generator (wrk if it is on the PATH, else autocannon from node_modules). Every server is
 * checked to answer `hello world` first; after one warm-up run each, the contenders are measured in alternating
 * rounds (A B C ... A B C ...) and the median requests per second of each is reported, with its ratio to node:http.
 * The results are also written to bench/results/server-latest.json.
 *
 * Run:   npm run bench (about 2 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 npm run bench
 * Some:  BENCH_CONTENDERS=rxjet,rxjet-observable npm run bench:server (with node:http; writes no results file)
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50)
 */
import type { AddressInfo } from 'node:net';
import * as lib from './lib.js';

const allContenders = [
  { id: 'node', label: 'node:http' },
  { id: 'rxjet', label: 'rxjet (plain response)' },
  { id: 'rxjet-observable', label: 'rxjet (Observable)' },
  { id: 'fastify', label: 'Fastify' },
  { id: 'hono', label: 'Hono' },
  { id: 'marble', label: 'Marble.js' },
  { id: 'express', label: 'Express' },
] as const;

type ContenderId = (typeof allContenders)[number]['id'];

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, reporting its port over IPC.
// ---------------------------------------------------------------------------------------------------------------

/** The port a listening server is bound to, for the frameworks that only hand back their node:http server. */
function boundPort(server: { address(): AddressInfo | string | null }): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return address.port;
}

/**
 * Starts each contender's server and resolves with its port. Every framework is written the plain way its own
 * documentation shows a hello-world server, with its default (production) settings, and is imported only in its
 * own child, so that no process loads the others.
 */
const servers: Record<ContenderId, () => Promise<number>> = {
  async node() {
    return (await lib.startHelloServer()).port;
  },

  rxjet: () => lib.startRxjetHello('plain'),

  'rxjet-observable': () => lib.startRxjetHello('observable'),

  async fastify() {
    // The logger is off unless asked for; a string reply is sent as text/plain.
    const { default: Fastify } = await import('fastify');
    const app = Fastify();
    app.get('/', async () => lib.HELLO);
    await app.listen({ port: 0, host: '127.0.0.1' });
    return boundPort(app.server);
  },

  async hono() {
    const { Hono } = await import('hono');
    const { serve } = await import('@hono/node-server');
    const app = new Hono();
    app.get('/', (c) => c.text(lib.HELLO));
    return new Promise((resolve) => {
      serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(info.port));
    });
  },

  async marble() {
    // Marble.js 4 is built on RxJS 7, like rxjet; it logs its routes and address once at start-up, not per request.
    const { createServer, httpListener, r } = await import('@marblejs/http');
    const { map } = await import('rxjs');
    const hello$ = r.pipe(
      r.matchPath('/'),
      r.matchType('GET'),
      r.useEffect((req$) => req$.pipe(map(() => ({ headers: { 'content-type': 'text/plain' }, body: lib.HELLO })))),
    );
    // createServer resolves with an IO (a function) that starts listening and resolves with the node:http server.
    const listen = await createServer({
      port: 0,
      hostname: '127.0.0.1',
      listener: httpListener({ effects: [hello$] }),
    });
    return boundPort(await listen());
  },

  async express() {
    const { default: express } = await import('express');
    const app = express();
    app.get('/', (_req, res) => {
      res.type('text/plain').send(lib.HELLO);
    });
    return lib.listeningPort(app.listen(0, '127.0.0.1'));
  },
};

async function runChild(id: ContenderId): Promise<void> {
  lib.sendReady(await servers[id]());
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the servers, drive the load, report.
// ---------------------------------------------------------------------------------------------------------------

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;

  const generator = await lib.pickLoadGenerator();
  if (generator === undefined) {
    console.error(lib.NO_LOAD_GENERATOR);
    process.exitCode = 1;
    return;
  }

  // BENCH_CONTENDERS=node,rxjet-observable measures a few (node:http always, as the baseline) without writing results.
  const only = process.env.BENCH_CONTENDERS?.split(',');
  const contenders =
    only === undefined ? allContenders : allContenders.filter((c) => c.id === 'node' || only.includes(c.id));
  const estimate = contenders.length * (warmup + rounds * seconds);
  console.log(
    `rxjet server benchmark: ${generator.name}, ${connections} connections, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up (about ${estimate} s)`,
  );

  const servers = await Promise.all(contenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])));
  const urls = servers.map((s) => `http://127.0.0.1:${s.port}/`);
  for (const url of urls) await lib.checkHello(url);

  if (warmup > 0) {
    for (const url of urls) await generator.run(url, warmup, connections);
  }

  const samples = await lib.measureRounds(
    contenders,
    rounds,
    (i) => generator.run(urls[i]!, seconds, connections),
    (sample) => sample.requestsPerSecond,
  );

  const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
  const results = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianRequestsPerSecond: Math.round(medians[i]!),
    ratio: lib.ratio(medians[i]!, medians[0]!),
    samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
    errors: lib.totalErrors(samples[i]!),
  }));

  const meta = { ...lib.machine(), loadGenerator: generator.name, ...bench };

  lib.printMachine(meta);
  lib.printTable([
    ['contender', 'median req/s', 'vs node:http', 'errors'],
    ...results.map((r) => [
      r.label,
      r.medianRequestsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      String(r.errors),
    ]),
  ]);
  if (results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or non-2xx responses.');

  if (only === undefined) await lib.writeResults('server', { ...meta, results });
}

await lib.main((args) => runChild(lib.contenderId(allContenders, args[0])), runParent);
