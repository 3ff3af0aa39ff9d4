/**
 * Soak test: one rxjet server under steady mixed load for a long time, to show that its memory, handles and latency
 * stay flat. Not part of the test gate or of `npm run bench`.
 *
 * The server runs in a child process (the built package, with --expose-gc): GET /hello answers `hello world`,
 * GET /stream answers an Observable body of STREAM_CHUNKS chunks of 1 KiB, one every STREAM_INTERVAL_MS, and every
 * WebSocket is echoed (`websocketHandler: (conn) => conn.in$`). This process is the load generator, at fixed rates:
 *
 *   hello     200/s  node:http GET /hello over a keep-alive Agent (16 sockets)
 *   client    100/s  rxjet client GET /hello, as: 'text' (its own pool)
 *   stream     20/s  node:http GET /stream read to its end; every 4th is aborted after its first chunk
 *   ws-echo   100/s  a message echoed on one of 10 open WebSockets (ws clients), one in flight on each
 *   ws-churn    5/s  a new WebSocket (ws client): connect, one message echoed, close with 1000
 *
 * Each kind has a cap on requests in flight; a request due while at the cap is not sent and counted as shed (a sign
 * that the server or the generator did not keep up). Every second the server reports its RSS, heapUsed, active
 * handles (process.getActiveResourcesInfo().length) and server.stats(); every few seconds (a third of a window,
 * 2 to 10 s) it also collects garbage and reports heapUsed after gc, a pause that the next second's latencies
 * include (such seconds are marked gcPause). The generator records the latency of every hello and client request
 * (to the end of the body) and of every echo; each second's p50 and p99 are kept.
 *
 * The verdict compares the first and the last window (60 s, or a third of a short run) after a warm-up (10 s, or a
 * tenth of a short run): heap is flat when the median heapUsed after gc of the last window is at most
 * max(1 MiB, 10%) above the first's; handles are flat when their median is at most max(4, 15%) above (the open
 * connections among them follow the clients' pools) and the median of handles other than connections (servers,
 * pipes, timers) at most 2 above. Once the load has stopped and every client is closed, the server must also hold
 * nothing (stats all zero) and have no more handles than before the load. Errors of any kind (failed requests,
 * wrong bodies, onError) fail the run too (exit code 1).
 *
 * The seconds are written to bench/results/soak-latest.json and drawn in bench/results/soak.svg (RSS, heap, handles
 * and latency over time, the two windows shaded).
 *
 * Run:   npm run soak                              (builds first; 10 minutes)
 * Quick: SOAK_SECONDS=20 npm run soak
 * Env:   SOAK_SECONDS (default 600, at least 10)
 */
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { firstValueFrom } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import { createClient, get } from '../dist/client/index.js';
import * as lib from './lib.js';

const STREAM_CHUNKS = 20;
const STREAM_INTERVAL_MS = 10;
const CHUNK = 'x'.repeat(1023) + '\n';
const ECHO_CONNECTIONS = 10;
const MiB = 1024 * 1024;

/** The server's answer to a `sample` request. */
interface ServerSample {
  type: 'sample';
  rss: number;
  heapUsed: number;
  handles: number;
  connections: number;
  exchanges: number;
  websockets: number;
  /** Errors reported to onError so far. */
  errors: number;
  /** The first few of those, as `code: message`. */
  firstErrors: string[];
}

/** The server's answer to a `gc` request. */
interface GcSample {
  type: 'gc';
  heapUsed: number;
}

/** One second of the run, as written to the results file. */
interface Second {
  /** Seconds since the load started, at the end of this second. */
  t: number;
  rssMiB: number;
  heapUsedMiB: number;
  /** heapUsed right after a forced gc, on the seconds it was measured. */
  heapAfterGcMiB: number | null;
  handles: number;
  connections: number;
  exchanges: number;
  websockets: number;
  /** Hello and client requests completed this second, and their latency percentiles. */
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** Echoes received this second on the open WebSockets, and their round-trip percentiles. */
  echoes: number;
  echoP50Ms: number | null;
  echoP99Ms: number | null;
  /** Load errors so far, all kinds together. */
  errors: number;
  /** The server was paused for a forced gc at the start of this second, which its latencies include. */
  gcPause: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: the rxjet server, reporting its memory, handles and stats over IPC.
// ---------------------------------------------------------------------------------------------------------------

async function runChild(): Promise<void> {
  // The built package, as users run it (build first).
  const { serve } = await import('../dist/server/index.js');
  const { interval, map, take } = await import('rxjs');
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('the server process needs --expose-gc');
  let errors = 0;
  const firstErrors: string[] = [];
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler: (req) => {
      if (req.path === '/hello') return { headers: { 'content-type': 'text/plain' }, body: lib.HELLO };
      if (req.path === '/stream') {
        return {
          headers: { 'content-type': 'text/plain' },
          body: interval(STREAM_INTERVAL_MS).pipe(
            take(STREAM_CHUNKS),
            map(() => CHUNK),
          ),
        };
      }
      return null;
    },
    websocketHandler: (conn) => conn.in$,
    onError: (error) => {
      errors++;
      if (firstErrors.length < 5) firstErrors.push(`${error.name}: ${error.message}`);
    },
  });
  lib.answerRequests({
    sample: async (): Promise<ServerSample> => {
      const { rss, heapUsed } = process.memoryUsage();
      const handles = process.getActiveResourcesInfo().length;
      const stats = await server.stats();
      const { connections, websockets } = stats;
      // `exchanges` here is the server's running requests (`stats().requests`), as earlier soak results name it.
      return {
        type: 'sample',
        rss,
        heapUsed,
        handles,
        connections,
        exchanges: stats.requests,
        websockets,
        errors,
        firstErrors,
      };
    },
    gc: async (): Promise<GcSample> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      return { type: 'gc', heapUsed: process.memoryUsage().heapUsed };
    },
  });
  lib.sendReady(server.port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the load.
// ---------------------------------------------------------------------------------------------------------------

/** One kind of load: a rate, a cap on requests in flight, and its tallies. */
interface Kind {
  id: string;
  rate: number;
  maxInFlight: number;
  run: () => Promise<void>;
  scheduled: number;
  inFlight: number;
  ok: number;
  errors: number;
  shed: number;
  firstErrors: string[];
  /** Latencies in ms of every request of this kind (for the totals). */
  latencies: number[];
}

function kind(id: string, rate: number, maxInFlight: number, run: () => Promise<void>): Kind {
  return {
    id,
    rate,
    maxInFlight,
    run,
    scheduled: 0,
    inFlight: 0,
    ok: 0,
    errors: 0,
    shed: 0,
    firstErrors: [],
    latencies: [],
  };
}

/** The nearest-rank percentile of some values, or null when there are none. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const round3 = (value: number | null): number | null => (value === null ? null : Number(value.toFixed(3)));

const describe = (error: unknown): string => (error instanceof Error ? error.message : JSON.stringify(error));

/** GETs `path` with node:http and reads the body; resolves with its status and size. */
function httpGet(
  agent: http.Agent,
  url: string,
  abortAfterFirstChunk = false,
): Promise<{ status: number; size: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent }, (res) => {
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.byteLength;
        if (abortAfterFirstChunk) {
          req.destroy();
          resolve({ status: res.statusCode!, size });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, size }));
      res.on('error', (error) => !abortAfterFirstChunk && reject(error));
    });
    req.on('error', (error) => !abortAfterFirstChunk && reject(error));
  });
}

/** Opens a ws client connection to the server, rejecting if it is not open within 10 s. */
async function openWebSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  const timer = setTimeout(() => ws.terminate(), 10_000);
  try {
    await once(ws, 'open');
    return ws;
  } finally {
    clearTimeout(timer);
  }
}

/** Sends `message` and resolves when the same text comes back (the next message must be the echo). */
function echoOnce(ws: WebSocket, message: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: RawData, isBinary: boolean): void => {
      cleanup();
      const text = Buffer.isBuffer(data) ? data.toString() : '';
      if (isBinary || text !== message) reject(new Error(`wrong echo: ${JSON.stringify(text.slice(0, 40))}`));
      else resolve();
    };
    const onClose = (code: number): void => {
      cleanup();
      reject(new Error(`closed with ${code} while waiting for an echo`));
    };
    const cleanup = (): void => {
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.send(message);
  });
}

/** The open WebSockets that the ws-echo kind uses in turn; one that fails is replaced. */
class EchoPool {
  private readonly sockets: (WebSocket | undefined)[] = [];
  private readonly busy: boolean[] = [];
  private counter = 0;

  constructor(private readonly url: string) {}

  async open(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      this.sockets.push(await this.connect());
      this.busy.push(false);
    }
  }

  private async connect(): Promise<WebSocket> {
    const ws = await openWebSocket(this.url);
    ws.on('error', () => undefined); // reported by the echo that fails
    return ws;
  }

  /** One echo on an idle socket; the kind's cap keeps one idle. */
  async echo(): Promise<void> {
    const index = this.busy.indexOf(false);
    if (index < 0) throw new Error('no idle WebSocket (the cap should prevent this)');
    this.busy[index] = true;
    try {
      const ws = this.sockets[index] ?? (this.sockets[index] = await this.connect());
      try {
        await echoOnce(ws, `echo ${this.counter++}`);
      } catch (error) {
        ws.terminate();
        this.sockets[index] = undefined;
        throw error;
      }
    } finally {
      this.busy[index] = false;
    }
  }

  async close(): Promise<void> {
    await Promise.all(
      this.sockets.map(async (ws) => {
        if (ws === undefined || ws.readyState === WebSocket.CLOSED) return;
        const closed = once(ws, 'close');
        ws.close(1000);
        await closed;
      }),
    );
  }
}

/** Whether the last window is within tolerance of the first: at most max(absolute, relative share) above it. */
function flat(first: number, last: number, absolute: number, relative: number): boolean {
  return last - first <= Math.max(absolute, relative * first);
}

/** Polls the server until `done` accepts its sample; resolves with the last sample whatever happens after `ms`. */
async function sampleUntil(
  server: lib.ChildServer,
  done: (sample: ServerSample) => boolean,
  ms: number,
): Promise<ServerSample> {
  const deadline = Date.now() + ms;
  for (;;) {
    const sample = await lib.ask<ServerSample>(server.child, 'sample', 'sample', 'sample');
    if (done(sample) || Date.now() > deadline) return sample;
    await lib.delay(100);
  }
}

async function runParent(): Promise<void> {
  const seconds = lib.envInt('SOAK_SECONDS', 600, 10);
  const warmup = Math.min(10, Math.floor(seconds / 10));
  const window = Math.min(60, Math.floor((seconds - warmup) / 3));
  const gcEvery = Math.max(2, Math.min(10, Math.floor(window / 3)));
  lib.watchdog(seconds * 2 + 120);
  const meta = lib.machine();

  const server = await lib.startChild(import.meta.url, 'the rxjet server', [], ['--expose-gc']);
  const base = `http://127.0.0.1:${server.port}`;
  const wsUrl = `ws://127.0.0.1:${server.port}/`;
  await lib.ask<GcSample>(server.child, 'gc', 'gc', 'heap');
  const before = await lib.ask<ServerSample>(server.child, 'sample', 'sample', 'sample');

  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const streamAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const client = createClient({ baseUrl: base, connections: 16 });
  const echoPool = new EchoPool(wsUrl);
  await echoPool.open(ECHO_CONNECTIONS);

  // Latencies of the current second: hello and client requests, and echoes.
  let requestLatencies: number[] = [];
  let echoLatencies: number[] = [];
  let streamsStarted = 0;
  let churnCount = 0;

  const timed = async (into: () => number[], k: () => Kind, work: () => Promise<void>): Promise<void> => {
    const started = performance.now();
    await work();
    const ms = performance.now() - started;
    into().push(ms);
    k().latencies.push(ms);
  };
  const expectHello = (status: number, body: string | number): void => {
    const size = typeof body === 'number' ? body : body.length;
    if (status !== 200 || size !== lib.HELLO.length) throw new Error(`unexpected response: ${status}, ${size} bytes`);
  };

  const hello: Kind = kind('hello', 200, 64, () =>
    timed(
      () => requestLatencies,
      () => hello,
      async () => {
        const { status, size } = await httpGet(agent, `${base}/hello`);
        expectHello(status, size);
      },
    ),
  );
  const rxjetClient: Kind = kind('client', 100, 64, () =>
    timed(
      () => requestLatencies,
      () => rxjetClient,
      async () => {
        const res = await firstValueFrom(get(client, '/hello', { as: 'text' }));
        expectHello(res.status, res.body);
      },
    ),
  );
  const stream: Kind = kind('stream', 20, 32, () =>
    timed(
      () => [],
      () => stream,
      async () => {
        const abort = streamsStarted++ % 4 === 3;
        const { status, size } = await httpGet(streamAgent, `${base}/stream`, abort);
        const expected = abort ? size > 0 : size === STREAM_CHUNKS * CHUNK.length;
        if (status !== 200 || !expected) throw new Error(`unexpected stream: ${status}, ${size} bytes`);
      },
    ),
  );
  const wsEcho: Kind = kind('ws-echo', 100, ECHO_CONNECTIONS, () =>
    timed(
      () => echoLatencies,
      () => wsEcho,
      () => echoPool.echo(),
    ),
  );
  const wsChurn: Kind = kind('ws-churn', 5, 16, () =>
    timed(
      () => [],
      () => wsChurn,
      async () => {
        const ws = await openWebSocket(wsUrl);
        ws.on('error', () => undefined); // the close below reports it
        const closed = once(ws, 'close') as Promise<[number, Buffer]>;
        await echoOnce(ws, `churn ${churnCount++}`);
        ws.close(1000);
        const [code] = await closed;
        if (code !== 1000) throw new Error(`closed with ${code}`);
      },
    ),
  );
  const kinds = [hello, rxjetClient, stream, wsEcho, wsChurn];

  console.log(
    `rxjet soak: ${seconds} s of ${kinds.map((k) => `${k.id} ${k.rate}/s`).join(', ')} against one server ` +
      `(port ${server.port}); warm-up ${warmup} s, windows of ${window} s, gc sample every ${gcEvery} s`,
  );

  // The generator: every 5 ms, send what is due for each kind.
  const started = performance.now();
  const send = (k: Kind): void => {
    k.scheduled++;
    if (k.inFlight >= k.maxInFlight) {
      k.shed++;
      return;
    }
    k.inFlight++;
    k.run().then(
      () => {
        k.inFlight--;
        k.ok++;
      },
      (error: unknown) => {
        k.inFlight--;
        k.errors++;
        if (k.firstErrors.length < 5) k.firstErrors.push(describe(error));
      },
    );
  };
  const generator = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    for (const k of kinds) {
      const due = Math.floor(k.rate * elapsed) - k.scheduled;
      for (let i = 0; i < due; i++) send(k);
    }
  }, 5);

  // The sampler: once a second.
  const rows: Second[] = [];
  for (let t = 1; t <= seconds; t++) {
    const wait = started + t * 1000 - performance.now();
    if (wait > 0) await lib.delay(wait);
    const s = await lib.ask<ServerSample>(server.child, 'sample', 'sample', 'sample');
    const requests = requestLatencies;
    const echoes = echoLatencies;
    requestLatencies = [];
    echoLatencies = [];
    const afterGc =
      t % gcEvery === 0 ? (await lib.ask<GcSample>(server.child, 'gc', 'gc', 'heap after gc')).heapUsed : null;
    const row: Second = {
      t,
      rssMiB: Number((s.rss / MiB).toFixed(2)),
      heapUsedMiB: Number((s.heapUsed / MiB).toFixed(3)),
      heapAfterGcMiB: afterGc === null ? null : Number((afterGc / MiB).toFixed(3)),
      handles: s.handles,
      connections: s.connections,
      exchanges: s.exchanges,
      websockets: s.websockets,
      requests: requests.length,
      p50Ms: round3(percentile(requests, 50)),
      p99Ms: round3(percentile(requests, 99)),
      echoes: echoes.length,
      echoP50Ms: round3(percentile(echoes, 50)),
      echoP99Ms: round3(percentile(echoes, 99)),
      errors: kinds.reduce((sum, k) => sum + k.errors, 0),
      gcPause: t > 1 && (t - 1) % gcEvery === 0,
    };
    rows.push(row);
    if (t % 5 === 0 || t === seconds) {
      console.log(
        `  ${String(t).padStart(4)} s  rss ${row.rssMiB.toFixed(1)} MiB  heap ${row.heapUsedMiB.toFixed(1)} MiB` +
          `  handles ${row.handles}  conns ${row.connections}  ${row.requests} req/s` +
          `  p50 ${row.p50Ms?.toFixed(2) ?? '-'} ms  p99 ${row.p99Ms?.toFixed(2) ?? '-'} ms` +
          `  echo p99 ${row.echoP99Ms?.toFixed(2) ?? '-'} ms  errors ${row.errors + s.errors}`,
      );
    }
  }

  // Stop the load, let what is in flight finish, close every client, and see the server come back to idle.
  clearInterval(generator);
  const drainDeadline = Date.now() + 15_000;
  while (kinds.some((k) => k.inFlight > 0) && Date.now() < drainDeadline) await lib.delay(50);
  const stuck = kinds.filter((k) => k.inFlight > 0).map((k) => `${k.id} ${k.inFlight}`);
  await echoPool.close();
  await client.close();
  agent.destroy();
  streamAgent.destroy();
  const idle = await sampleUntil(
    server,
    (s) => s.connections + s.exchanges + s.websockets === 0 && s.handles <= before.handles,
    10_000,
  );
  const idleHeap = (await lib.ask<GcSample>(server.child, 'gc', 'gc', 'heap after gc')).heapUsed;

  // The verdict.
  const firstRows = rows.filter((r) => r.t > warmup && r.t <= warmup + window);
  const lastRows = rows.filter((r) => r.t > seconds - window);
  const med = (rs: Second[], pick: (r: Second) => number | null): number =>
    lib.median(rs.map(pick).filter((v): v is number => v !== null));
  const heapFirst = med(firstRows, (r) => r.heapAfterGcMiB);
  const heapLast = med(lastRows, (r) => r.heapAfterGcMiB);
  const handlesFirst = med(firstRows, (r) => r.handles);
  const handlesLast = med(lastRows, (r) => r.handles);
  // Handles other than the open connections (whose number follows the clients' pools): servers, pipes, timers.
  const ownFirst = med(firstRows, (r) => r.handles - r.connections);
  const ownLast = med(lastRows, (r) => r.handles - r.connections);
  const rssFirst = med(firstRows, (r) => r.rssMiB);
  const rssLast = med(lastRows, (r) => r.rssMiB);
  // The seconds after a forced gc include its pause: leave them out of the latency figures.
  const p99First = med(
    firstRows.filter((r) => !r.gcPause),
    (r) => r.p99Ms,
  );
  const p99Last = med(
    lastRows.filter((r) => !r.gcPause),
    (r) => r.p99Ms,
  );
  const heapFlat = flat(heapFirst, heapLast, 1, 0.1);
  const handlesFlat = flat(handlesFirst, handlesLast, 4, 0.15) && flat(ownFirst, ownLast, 2, 0);
  const idleClean = idle.connections + idle.exchanges + idle.websockets === 0 && idle.handles <= before.handles;
  const loadErrors = kinds.reduce((sum, k) => sum + k.errors, 0);
  const serverErrors = idle.errors;
  const failures: string[] = [];
  if (!heapFlat) failures.push(`heap after gc grew from ${heapFirst.toFixed(2)} to ${heapLast.toFixed(2)} MiB`);
  if (!handlesFlat) {
    failures.push(
      `handles grew from ${handlesFirst} to ${handlesLast} (besides connections: ${ownFirst} to ${ownLast})`,
    );
  }
  if (!idleClean) {
    failures.push(
      `after the load the server still held ${JSON.stringify({ ...idle, type: undefined, firstErrors: undefined })} ` +
        `(handles before the load: ${before.handles})`,
    );
  }
  if (stuck.length > 0) failures.push(`requests still in flight 15 s after the load stopped: ${stuck.join(', ')}`);
  if (loadErrors > 0) failures.push(`${loadErrors} failed requests`);
  if (serverErrors > 0) failures.push(`${serverErrors} errors reported to onError: ${idle.firstErrors.join('; ')}`);

  console.log(`\nWindows: first ${warmup}-${warmup + window} s, last ${seconds - window}-${seconds} s (medians)`);
  lib.printTable([
    ['figure', 'first window', 'last window', 'tolerance', 'flat'],
    [
      'heapUsed after gc',
      `${heapFirst.toFixed(2)} MiB`,
      `${heapLast.toFixed(2)} MiB`,
      '+max(1 MiB, 10%)',
      heapFlat ? 'yes' : 'NO',
    ],
    [
      'active handles',
      String(handlesFirst),
      String(handlesLast),
      '+max(4, 15%)',
      flat(handlesFirst, handlesLast, 4, 0.15) ? 'yes' : 'NO',
    ],
    ['  besides connections', String(ownFirst), String(ownLast), '+2', flat(ownFirst, ownLast, 2, 0) ? 'yes' : 'NO'],
    ['RSS (not judged)', `${rssFirst.toFixed(1)} MiB`, `${rssLast.toFixed(1)} MiB`, '', ''],
    ['request p99 (not judged)*', `${p99First.toFixed(2)} ms`, `${p99Last.toFixed(2)} ms`, '', ''],
  ]);
  console.log('* median of the seconds without a forced gc in the server\n');
  lib.printTable([
    ['kind', 'rate/s', 'ok', 'errors', 'shed', 'p50 (ms)', 'p99 (ms)'],
    ...kinds.map((k) => [
      k.id,
      String(k.rate),
      String(k.ok),
      String(k.errors),
      String(k.shed),
      percentile(k.latencies, 50)?.toFixed(2) ?? '-',
      percentile(k.latencies, 99)?.toFixed(2) ?? '-',
    ]),
  ]);
  for (const k of kinds) for (const e of k.firstErrors) console.log(`  ${k.id} error: ${e}`);
  console.log(
    `\nAfter the load: server stats ${idle.connections}/${idle.exchanges}/${idle.websockets} ` +
      `(connections/exchanges/websockets), ${idle.handles} handles (${before.handles} before), ` +
      `heap after gc ${(idleHeap / MiB).toFixed(2)} MiB`,
  );
  const verdict = failures.length === 0 ? 'FLAT: heap and handles flat, nothing left, no errors' : 'NOT FLAT';
  console.log(`\nVerdict: ${verdict}`);
  for (const failure of failures) console.log(`  - ${failure}`);

  const summary = {
    verdict: failures.length === 0 ? 'flat' : 'not flat',
    failures,
    windows: { warmup, window, first: [warmup, warmup + window], last: [seconds - window, seconds] },
    heapAfterGcMiB: { first: heapFirst, last: heapLast, flat: heapFlat },
    handles: { first: handlesFirst, last: handlesLast, besidesConnections: [ownFirst, ownLast], flat: handlesFlat },
    rssMiB: { first: rssFirst, last: rssLast },
    requestP99Ms: { first: p99First, last: p99Last },
    idle: {
      before: { handles: before.handles, heapUsedMiB: Number((before.heapUsed / MiB).toFixed(3)) },
      after: {
        handles: idle.handles,
        connections: idle.connections,
        exchanges: idle.exchanges,
        websockets: idle.websockets,
        heapAfterGcMiB: Number((idleHeap / MiB).toFixed(3)),
      },
    },
    serverErrors,
    kinds: kinds.map((k) => ({
      id: k.id,
      rate: k.rate,
      ok: k.ok,
      errors: k.errors,
      shed: k.shed,
      p50Ms: round3(percentile(k.latencies, 50)),
      p99Ms: round3(percentile(k.latencies, 99)),
      firstErrors: k.firstErrors,
    })),
  };
  await lib.writeResults('soak', { ...meta, seconds, gcEvery, summary, samples: rows });
  const svg = new URL('./results/soak.svg', import.meta.url);
  await writeFile(
    svg,
    soakChart(
      rows,
      summary.windows,
      `${meta.date.slice(0, 16).replace('T', ' ')} UTC, Node ${meta.node}, ${meta.cpus} CPUs; ${summary.verdict}`,
    ),
  );
  console.log(`Chart in ${fileURLToPath(svg).replace(`${process.cwd()}/`, '')}`);
  if (failures.length > 0) process.exitCode = 1;
}

// ---------------------------------------------------------------------------------------------------------------
// The chart: three panels over time (memory, handles, latency), written by hand.
// ---------------------------------------------------------------------------------------------------------------

interface Line {
  label: string;
  colour: string;
  values: (number | null)[];
  dashed?: boolean;
  /** Draw dots instead of a line (sparse series). */
  dots?: boolean;
}

/** A rounded-up axis maximum with about five ticks. */
function niceMax(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= rough)!;
  return { top: Math.ceil(max / step) * step, step };
}

function soakChart(rows: Second[], windows: { first: number[]; last: number[] }, caption: string): string {
  const left = 70;
  const plotWidth = 760;
  const panelHeight = 130;
  const gap = 55;
  const top = 70;
  const duration = Math.max(1, rows.at(-1)?.t ?? 1);
  const x = (t: number): number => left + (t / duration) * plotWidth;
  const parts: string[] = [];

  const panel = (index: number, title: string, unit: string, lines: Line[]): void => {
    const y0 = top + index * (panelHeight + gap);
    const max = Math.max(0, ...lines.flatMap((l) => l.values.filter((v): v is number => v !== null)));
    const { top: yMax, step } = niceMax(max * 1.05);
    const y = (v: number): number => y0 + panelHeight - (v / yMax) * panelHeight;
    parts.push(`<text x="${left}" y="${y0 - 10}" class="panel">${title}</text>`);
    for (const [from, to] of [windows.first, windows.last]) {
      parts.push(
        `<rect x="${x(from!).toFixed(1)}" y="${y0}" width="${(x(to!) - x(from!)).toFixed(1)}" height="${panelHeight}" class="window"/>`,
      );
    }
    for (let v = 0; v <= yMax + step / 2; v += step) {
      parts.push(
        `<line x1="${left}" x2="${left + plotWidth}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" class="grid"/>`,
        `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" class="tick" text-anchor="end">${Number(v.toFixed(3))}${unit}</text>`,
      );
    }
    parts.push(`<rect x="${left}" y="${y0}" width="${plotWidth}" height="${panelHeight}" class="frame"/>`);
    for (const line of lines) {
      const points = rows
        .map((r, i) => [r.t, line.values[i]] as const)
        .filter((p): p is readonly [number, number] => p[1] !== null && p[1] !== undefined);
      if (line.dots === true) {
        for (const [t, v] of points) {
          parts.push(`<circle cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="2.5" fill="${line.colour}"/>`);
        }
      } else if (points.length > 0) {
        const d = points.map(([t, v], i) => `${i === 0 ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
        parts.push(
          `<path d="${d}" fill="none" stroke="${line.colour}" stroke-width="1.5"${line.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`,
        );
      }
    }
    const lx = left + plotWidth + 12;
    let ly = y0 + 12;
    for (const line of lines) {
      parts.push(
        line.dots === true
          ? `<circle cx="${lx + 9}" cy="${ly - 4}" r="3" fill="${line.colour}"/>`
          : `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${line.colour}" stroke-width="2"${line.dashed === true ? ' stroke-dasharray="4 3"' : ''}/>`,
        `<text x="${lx + 24}" y="${ly}" class="legend">${line.label}</text>`,
      );
      ly += 18;
    }
  };

  panel(0, 'Server RSS', ' MiB', [{ label: 'RSS', colour: '#1565c0', values: rows.map((r) => r.rssMiB) }]);
  panel(1, 'Server heap', ' MiB', [
    { label: 'heapUsed', colour: '#ef6c00', values: rows.map((r) => r.heapUsedMiB) },
    { label: 'heapUsed after gc', colour: '#2e7d32', values: rows.map((r) => r.heapAfterGcMiB), dots: true },
  ]);
  panel(2, 'Server handles and connections', '', [
    { label: 'active handles', colour: '#6a1b9a', values: rows.map((r) => r.handles) },
    { label: 'open connections', colour: '#757575', values: rows.map((r) => r.connections), dashed: true },
  ]);
  panel(3, 'Latency of each second', ' ms', [
    { label: 'request p50', colour: '#00838f', values: rows.map((r) => r.p50Ms) },
    { label: 'request p99', colour: '#c62828', values: rows.map((r) => r.p99Ms) },
    { label: 'echo p99', colour: '#8d6e63', values: rows.map((r) => r.echoP99Ms), dashed: true },
  ]);

  const axisY = top + 4 * (panelHeight + gap) - gap + 18;
  const tick = niceMax(duration);
  for (let t = 0; t <= duration + tick.step / 2; t += tick.step) {
    if (t > duration) break;
    parts.push(`<text x="${x(t).toFixed(1)}" y="${axisY}" class="tick" text-anchor="middle">${t} s</text>`);
  }
  const width = left + plotWidth + 190;
  const height = axisY + 36;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">
<style>
  .title { font-size: 17px; font-weight: bold; fill: #222; }
  .caption { font-size: 12px; fill: #555; }
  .panel { font-size: 13px; font-weight: bold; fill: #333; }
  .legend { font-size: 12px; fill: #333; }
  .tick { font-size: 11px; fill: #777; }
  .grid { stroke: #e5e5e5; stroke-width: 1; }
  .frame { fill: none; stroke: #bbb; stroke-width: 1; }
  .window { fill: #f2f2f2; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="8" y="24" class="title">rxjet soak: one server under mixed load</text>
<text x="8" y="44" class="caption">${caption.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>
${parts.join('\n')}
<text x="${left}" y="${height - 8}" class="caption">Time since the load started. Shaded: the windows the verdict compares. The server pauses for each forced gc (green dots), which the next second's p99 includes.</text>
</svg>
`;
}

await lib.main(() => runChild(), runParent);
