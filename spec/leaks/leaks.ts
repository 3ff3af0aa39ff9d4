/**
 * Leak check: repeats each operation that allocates sockets, subscriptions and timers thousands of times in this
 * process and proves that nothing accumulates.
 *
 *   node --expose-gc --import tsx spec/leaks/leaks.ts
 *
 * Not a mocha spec: it needs `--expose-gc` and a process of its own. Five phases, each on fresh servers and clients:
 *
 *   stream-abort   node:http GET of an rxjet Observable body that never ends; the client aborts after the first chunk
 *   routed-stream-abort  the same through a router and five middleware (request id, request log, problem+json,
 *                  CORS, gzip): every body torn down and every request logged exactly once
 *   websocket      rxjet connect() to an rxjet echo server, one message echoed, closed with 1000
 *   client-refused rxjet client GET to a port nobody listens on (listened on, then closed): NetworkError ECONNREFUSED
 *   client-reset   rxjet client GET to an rxjet server whose handler destroys the socket: NetworkError
 *
 * Each phase runs LEAKS_WARMUP iterations (1000), then LEAKS_ITERATIONS (10000, the least), LEAKS_CONCURRENCY (20)
 * at a time. After the warm-up and after every 1000 iterations it waits for the server to hold nothing
 * (server.stats() all zero), runs gc() four times with a turn of the event loop between, and samples heapUsed.
 * A phase passes when:
 *
 *   - the heap is flat after the warm-up: the last sample is less than TOLERANCE_BYTES_PER_ITERATION (200 B) times
 *     the iterations (2,000,000 bytes for 10000) above the first, and so is the least-squares slope over all the samples;
 *   - every iteration did what it should (the chunk arrived, the echo came back, the error had the right code) and
 *     every server-side subscription was torn down;
 *   - server.stats() is all zero; process.getActiveResourcesInfo() holds no more at the last sample than at the
 *     first, and is back to what it was before the phase (per resource type) once its servers and clients are closed;
 *   - no server reported an error to onError and no process warning (MaxListenersExceededWarning, say) was emitted.
 *
 * It prints a table of samples per phase and a summary, then exits 0, or 1 naming each failure.
 */
import { once } from 'node:events';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { inspect } from 'node:util';
import { NEVER, Observable, filter, firstValueFrom, lastValueFrom } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';
import { compress, cors, problemJson, requestId, requestLog } from '../../src/middleware/index.js';
import { router } from '../../src/router/index.js';
import { serve, type JetResponse, type ServeOptions, type Server } from '../../src/server/index.js';
import { connect } from '../../src/websocket/index.js';
import { eventually, within } from '../helpers.js';

/** Reads a whole-number LEAKS_* setting, so that a mistyped value fails loudly. */
function setting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${raw}`);
  return value;
}

// Not fewer: after gc, heapUsed still moves by a few hundred KiB from one sample to the next, which only 10000
// iterations and 11 samples average out against a 200 B/iteration tolerance.
const ITERATIONS = setting('LEAKS_ITERATIONS', 10_000, 10_000);
const WARMUP = setting('LEAKS_WARMUP', 1000, 0);
const CONCURRENCY = setting('LEAKS_CONCURRENCY', 20, 1);
const SAMPLE_EVERY = 1000;
/**
 * Heap growth allowed per measured iteration. A leaked socket, request, subscription or closure per iteration costs
 * from several hundred bytes to kilobytes, so it shows; what is left is V8's own drift (optimised code, inline caches,
 * feedback vectors), measured here at a few hundred kilobytes at most over a phase.
 */
const TOLERANCE_BYTES_PER_ITERATION = 200;
/** The most one iteration may take before the phase fails as stuck. */
const ITERATION_TIMEOUT = 10_000;

const gc = globalThis.gc;
const KiB = 1024;
const MiB = 1024 * 1024;

/** What a phase needs for its iterations, and the checks only it can make. */
interface PhaseRun {
  /** One iteration; rejects when it did not behave. */
  iteration: (i: number) => Promise<void>;
  /** The servers whose stats() must come back to zero at each sample. */
  servers: (Server & { errors: Error[] })[];
  /** Closes the phase's servers and clients. */
  close: () => Promise<void>;
  /** Problems the phase's own counters show once it is over (`done` iterations ran). */
  check: (done: number) => string[];
}

interface Phase {
  name: string;
  description: string;
  start: () => Promise<PhaseRun>;
}

interface Sample {
  iterations: number;
  heapUsed: number;
  resources: number;
  seconds: number;
}

interface PhaseResult {
  name: string;
  samples: Sample[];
  seconds: number;
  growth: number;
  slope: number;
  failures: string[];
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------------------------

/** Starts an rxjet server on 127.0.0.1, port 0, collecting what it reports to onError. */
async function startServer(options: Partial<ServeOptions>): Promise<Server & { errors: Error[] }> {
  const errors: Error[] = [];
  const server = await serve({ ...options, onError: (error) => errors.push(error), port: 0, host: '127.0.0.1' });
  return Object.assign(server, { errors });
}

/** heapUsed after a full collection: gc() four times, letting the event loop turn between (finalizers, weak refs). */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

/** The active resources by type, e.g. { TCPServerWrap: 1, Timeout: 2 }. */
function resourceCounts(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** The resource types of which there are more now than in `baseline`, as "Type: before -> now". */
function resourceGrowth(baseline: Map<string, number>): string[] {
  const grown: string[] = [];
  for (const [type, count] of resourceCounts()) {
    const before = baseline.get(type) ?? 0;
    if (count > before) grown.push(`${type}: ${before} -> ${count}`);
  }
  return grown;
}

/** Waits until every server holds no connection, exchange or WebSocket; rejects with the stats after 10 s. */
async function serversIdle(servers: Server[]): Promise<void> {
  for (const server of servers) {
    await eventually(
      () => server.stats(),
      (s) => s.connections === 0 && s.requests === 0 && s.websockets === 0,
      `server.stats() to be all zero on port ${server.port}`,
      10_000,
    );
  }
}

/** Runs iterations `from` to `from + count - 1`, `concurrency` at a time; rejects with the first failure. */
async function runIterations(
  from: number,
  count: number,
  concurrency: number,
  iteration: (i: number) => Promise<void>,
): Promise<void> {
  let next = from;
  const end = from + count;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < end && !failed) {
      const i = next++;
      try {
        await within(ITERATION_TIMEOUT, iteration(i), `iteration ${i}`);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** The least-squares slope of heapUsed over iterations, in bytes per iteration. */
function slope(samples: Sample[]): number {
  const n = samples.length;
  const mx = samples.reduce((sum, s) => sum + s.iterations, 0) / n;
  const my = samples.reduce((sum, s) => sum + s.heapUsed, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of samples) {
    sxy += (s.iterations - mx) * (s.heapUsed - my);
    sxx += (s.iterations - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** Prints rows as a table, the first column left-aligned and the others right-aligned. */
function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  const format = (row: string[]): string =>
    row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
  console.log(format(rows[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(format(row));
}

/** A port on 127.0.0.1 where nothing listens: listened on, then closed. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Fails when an error is not the NetworkError expected, describing what came instead. */
function expectNetworkError(error: unknown, causeCode: string | undefined, i: number): void {
  if (error === undefined) {
    throw new Error(`iteration ${i}: the request succeeded (was the closed port taken by another process?)`);
  }
  const code = (error as { code?: unknown }).code;
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (code !== 'RXJET_ERR_NETWORK' || (causeCode !== undefined && cause?.code !== causeCode)) {
    throw new Error(
      `iteration ${i}: expected a NetworkError` +
        `${causeCode === undefined ? '' : ` caused by ${causeCode}`}, got ${String(code)} ` +
        `(cause ${String(cause?.code)}): ${inspect(error)}`,
    );
  }
}

/** The error a client request ends with, or undefined when it succeeds. */
async function requestError(client: Client, url: string): Promise<unknown> {
  return firstValueFrom(get(client, url, { as: 'text' })).then(
    () => undefined,
    (error: unknown) => error ?? new Error('rejected with nothing'),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// The phases.
// ---------------------------------------------------------------------------------------------------------------

/** A text body that never ends, counting in `counts` its subscriptions and teardowns. */
function endlessStream(counts: { subscribed: number; tornDown: number }): JetResponse {
  return {
    headers: { 'content-type': 'text/plain' },
    body: new Observable<string>((subscriber) => {
      counts.subscribed++;
      subscriber.next('first chunk\n');
      // A server-side timer per stream: a body that is never torn down leaves it among the active resources.
      const timer = setInterval(() => subscriber.next('tick\n'), 5);
      return () => {
        clearInterval(timer);
        counts.tornDown++;
      };
    }),
  };
}

/**
 * One request that goes away mid-stream: a GET of `url` with `headers`, destroyed once the first chunk of a 200
 * answer arrives; rejects on any other answer, or when `accept` refuses the response's headers.
 */
function abortAfterFirstChunk(
  url: string,
  i: number,
  headers: Record<string, string> = {},
  accept: (res: http.IncomingMessage) => boolean = () => true,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let gotChunk = false;
    const req = http.get(url, { agent: false, headers });
    req.on('response', (res) => {
      res.on('error', () => undefined); // 'aborted', caused by the destroy below
      if (res.statusCode !== 200 || !accept(res)) {
        reject(new Error(`iteration ${i}: status ${res.statusCode}, ${inspect(res.headers)}`));
        req.destroy();
        return;
      }
      res.once('data', () => {
        gotChunk = true;
        req.destroy(); // the client goes away mid-stream
      });
    });
    req.on('error', (error) => {
      if (!gotChunk) reject(new Error(`iteration ${i}: ${error.message}`));
    });
    req.on('close', () => (gotChunk ? resolve() : reject(new Error(`iteration ${i}: closed before the first chunk`))));
  });
}

const streamAbort: Phase = {
  name: 'stream-abort',
  description: 'node:http GET of a never-ending Observable body, aborted by the client after the first chunk',
  start: async () => {
    const counts = { subscribed: 0, tornDown: 0 };
    const server = await startServer({
      handler: () => endlessStream(counts),
    });
    const iteration = (i: number): Promise<void> => abortAfterFirstChunk(`${server.url}/stream`, i);
    return {
      iteration,
      servers: [server],
      close: () => server.close({ timeout: 1000 }),
      check: (done) =>
        counts.subscribed === done && counts.tornDown === done
          ? []
          : [`${done} iterations, but ${counts.subscribed} bodies subscribed and ${counts.tornDown} torn down`],
    };
  },
};

const routedStreamAbort: Phase = {
  name: 'routed-stream-abort',
  description:
    'the same through a router and five middleware (request id, log, problem+json, CORS, gzip), aborted mid-stream',
  start: async () => {
    const counts = { subscribed: 0, tornDown: 0 };
    let logged = 0;
    const app = router()
      .use(
        requestId(),
        requestLog({ logger: { info: () => (logged += 1), error: () => (logged += 1) } }),
        problemJson(),
        cors({ origin: ['http://example.test'] }),
        compress(),
      )
      .get('/stream/:id', () => endlessStream(counts));
    const server = await startServer({ handler: app });
    const iteration = (i: number): Promise<void> =>
      abortAfterFirstChunk(
        `${server.url}/stream/${i}`,
        i,
        { origin: 'http://example.test', 'accept-encoding': 'gzip' },
        (res) => res.headers['content-encoding'] === 'gzip',
      );
    return {
      iteration,
      servers: [server],
      close: () => server.close({ timeout: 1000 }),
      check: (done) =>
        counts.subscribed === done && counts.tornDown === done && logged === done
          ? []
          : [
              `${done} iterations, but ${counts.subscribed} bodies subscribed, ${counts.tornDown} torn down, ${logged} logged`,
            ],
    };
  },
};

const websocketEcho: Phase = {
  name: 'websocket',
  description: 'rxjet connect() to an rxjet echo server, one message echoed, closed with 1000',
  start: async () => {
    let opened = 0;
    const server = await startServer({
      websocketHandler: (conn) => {
        opened++;
        return conn.in$;
      },
    });
    const url = server.url.replace('http:', 'ws:');
    const iteration = async (i: number): Promise<void> => {
      const conn = await connect(url, () => undefined);
      const message = `message ${i}`;
      const echoed = firstValueFrom(conn.in$);
      conn.out$.next(message);
      const received = await echoed;
      if (received !== message) throw new Error(`iteration ${i}: echoed ${JSON.stringify(received)}`);
      const closed = lastValueFrom(conn.ctrl$.pipe(filter((event) => event.type === 'close')));
      conn.out$.complete();
      const close = await closed;
      if (close.code !== 1000) throw new Error(`iteration ${i}: closed with ${close.code} ${close.reason}`);
    };
    return {
      iteration,
      servers: [server],
      close: () => server.close({ timeout: 1000 }),
      check: (done) => (opened === done ? [] : [`${done} iterations, but the server handled ${opened} connections`]),
    };
  },
};

const clientRefused: Phase = {
  name: 'client-refused',
  description: 'rxjet client GET to a closed port: NetworkError caused by ECONNREFUSED',
  start: async () => {
    const url = `http://127.0.0.1:${await closedPort()}/`;
    const client = createClient();
    return {
      iteration: async (i) => expectNetworkError(await requestError(client, url), 'ECONNREFUSED', i),
      servers: [],
      close: () => client.close(),
      check: () => [],
    };
  },
};

const clientReset: Phase = {
  name: 'client-reset',
  description: 'rxjet client GET to an rxjet server whose handler destroys the socket: NetworkError',
  start: async () => {
    let handled = 0;
    const server = await startServer({
      handler: (req) => {
        handled++;
        req.raw?.socket.destroy();
        return NEVER; // the exchange must end because the socket closed, not because the handler answered
      },
    });
    const client = createClient();
    const url = `${server.url}/reset`;
    return {
      iteration: async (i) => expectNetworkError(await requestError(client, url), undefined, i),
      servers: [server],
      close: async () => {
        await client.close();
        await server.close({ timeout: 1000 });
      },
      check: (done) => (handled === done ? [] : [`${done} iterations, but the handler ran ${handled} times`]),
    };
  },
};

// ---------------------------------------------------------------------------------------------------------------
// Running a phase.
// ---------------------------------------------------------------------------------------------------------------

async function runPhase(phase: Phase): Promise<PhaseResult> {
  console.log(`\n${phase.name}: ${phase.description}`);
  console.log(`  ${WARMUP} warm-up iterations, then ${ITERATIONS}, ${CONCURRENCY} at a time`);
  const failures: string[] = [];
  const samples: Sample[] = [];
  const baseline = resourceCounts();
  const started = performance.now();
  const run = await phase.start();
  let done = 0;
  try {
    await runIterations(0, WARMUP, CONCURRENCY, run.iteration);
    done = WARMUP;
    for (;;) {
      await serversIdle(run.servers);
      samples.push({
        iterations: done - WARMUP,
        heapUsed: await heapAfterGc(),
        resources: process.getActiveResourcesInfo().length,
        seconds: (performance.now() - started) / 1000,
      });
      if (done - WARMUP >= ITERATIONS) break;
      const count = Math.min(SAMPLE_EVERY, WARMUP + ITERATIONS - done);
      await runIterations(done, count, CONCURRENCY, run.iteration);
      done += count;
    }
  } catch (error) {
    failures.push(error instanceof Error ? error.message : String(error));
  }

  const firstSample = samples[0];
  const lastSample = samples.at(-1);
  if (firstSample !== undefined && lastSample !== undefined && lastSample.resources > firstSample.resources) {
    failures.push(
      `active resources grew while the phase ran: ${firstSample.resources} after the warm-up, ` +
        `${lastSample.resources} at the end`,
    );
  }
  const stats = await Promise.all(run.servers.map((server) => server.stats()));
  for (const s of stats) {
    if (s.connections + s.requests + s.websockets !== 0)
      failures.push(`server.stats() not all zero: ${JSON.stringify(s)}`);
  }
  failures.push(...run.check(done));
  for (const server of run.servers) {
    for (const error of server.errors.slice(0, 3)) failures.push(`onError: ${error.name}: ${error.message}`);
    if (server.errors.length > 3) failures.push(`onError: ${server.errors.length - 3} more errors`);
  }
  await run.close();
  const resourcesBack = await eventually(
    () => Promise.resolve(resourceGrowth(baseline)),
    (grown) => grown.length === 0,
    'the active resources to come back to what they were before the phase',
    5000,
  ).then(
    () => undefined,
    () => resourceGrowth(baseline),
  );
  if (resourcesBack !== undefined && resourcesBack.length > 0) {
    failures.push(`active resources grew: ${resourcesBack.join(', ')}`);
  }

  const seconds = (performance.now() - started) / 1000;
  const first = firstSample;
  const last = lastSample;
  const growth = first !== undefined && last !== undefined ? last.heapUsed - first.heapUsed : 0;
  const perIteration = samples.length > 1 ? slope(samples) : 0;
  const measured = last?.iterations ?? 0;
  const allowed = TOLERANCE_BYTES_PER_ITERATION * measured;
  if (measured > 0 && growth > allowed) {
    failures.push(
      `heap grew ${(growth / KiB).toFixed(0)} KiB over ${measured} iterations (allowed ${(allowed / KiB).toFixed(0)} KiB)`,
    );
  }
  if (measured > 0 && perIteration > TOLERANCE_BYTES_PER_ITERATION) {
    failures.push(
      `heap slope ${perIteration.toFixed(1)} B/iteration (allowed ${TOLERANCE_BYTES_PER_ITERATION} B/iteration)`,
    );
  }

  if (first !== undefined) {
    printTable([
      ['iterations', 'heapUsed (MiB)', 'vs first (KiB)', 'resources', 'elapsed (s)'],
      ...samples.map((s) => [
        String(s.iterations),
        (s.heapUsed / MiB).toFixed(3),
        `${s.heapUsed >= first.heapUsed ? '+' : ''}${((s.heapUsed - first.heapUsed) / KiB).toFixed(0)}`,
        String(s.resources),
        s.seconds.toFixed(1),
      ]),
    ]);
  }
  console.log(
    `  heap ${growth >= 0 ? '+' : ''}${(growth / KiB).toFixed(0)} KiB, slope ${perIteration.toFixed(1)} B/iteration ` +
      `(allowed ${TOLERANCE_BYTES_PER_ITERATION}); ${seconds.toFixed(1)} s; ${failures.length === 0 ? 'ok' : 'FAILED'}`,
  );
  for (const failure of failures) console.log(`  FAILED: ${failure}`);
  return { name: phase.name, samples, seconds, growth, slope: perIteration, failures };
}

async function main(): Promise<number> {
  if (gc === undefined) {
    console.error('spec/leaks/leaks.ts needs --expose-gc: node --expose-gc --import tsx spec/leaks/leaks.ts');
    return 1;
  }
  const warnings: string[] = [];
  process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));
  const started = performance.now();
  console.log(
    `rxjet leak check: heap after gc must stay within ${TOLERANCE_BYTES_PER_ITERATION} B/iteration ` +
      `(${((TOLERANCE_BYTES_PER_ITERATION * ITERATIONS) / MiB).toFixed(1)} MiB over ${ITERATIONS}) after the warm-up`,
  );
  const results: PhaseResult[] = [];
  for (const phase of [streamAbort, routedStreamAbort, websocketEcho, clientRefused, clientReset])
    results.push(await runPhase(phase));

  console.log('\nSummary');
  printTable([
    ['phase', 'iterations', 'heap growth (KiB)', 'slope (B/it)', 'time (s)', 'verdict'],
    ...results.map((r) => [
      r.name,
      String(r.samples.at(-1)?.iterations ?? 0),
      (r.growth / KiB).toFixed(0),
      r.slope.toFixed(1),
      r.seconds.toFixed(1),
      r.failures.length === 0 ? 'flat' : 'FAILED',
    ]),
  ]);
  const failed = results.filter((r) => r.failures.length > 0);
  if (warnings.length > 0) console.log(`\nFAILED: process warnings: ${warnings.join('; ')}`);
  console.log(`\nTotal ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (failed.length > 0 || warnings.length > 0) {
    console.log(`FAILED: ${[...failed.map((r) => `${r.name} (${r.failures.join('; ')})`), ...warnings].join('; ')}`);
    return 1;
  }
  console.log('OK: heap flat after warm-up, servers idle and no active resources left in every phase');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
