/**
 * WebSocket echo round trips, 64 KiB message throughput and memory per idle connection of rxjet against a bare `ws`
 * server.
 *
 * Two contenders echo every message back: a bare `ws` WebSocketServer, and rxjet serving
 * `websocketHandler: (conn) => conn.in$` with its default options. Each server runs in its own child process; this
 * process is the load generator for both, with `ws` clients.
 *
 * 1. Echo: BENCH_CONNECTIONS clients each send a 32-byte text message, wait for its echo and send the next, for
 *    BENCH_SECONDS. After one warm-up run each, the contenders are measured in alternating rounds (A B A B ...) and
 *    the median round trips per second of each is reported, with its ratio to ws, and the median CPU time the
 *    server process spent per round trip (which other load on the machine disturbs less than the rate).
 * 2. Throughput: on the same servers, BENCH_WS_STREAMS clients each keep BENCH_WS_WINDOW binary messages of 64 KiB
 *    in flight (one preallocated Buffer, sent again whenever an echo returns), for BENCH_SECONDS. After a check
 *    and one warm-up run each, alternating rounds as above; reported: the median MiB/s of echoed payload (every
 *    echo's length checked), its ratio to ws, and the median server CPU time per MiB. rxjet's default outbound
 *    highWaterMark (1 MiB, then close 1008) bounds the window: keep it below 16.
 * 3. Idle memory: for each contender a fresh server process (run with --expose-gc) reports its memory after a
 *    forced GC, BENCH_IDLE idle connections are opened (in batches), and it reports again; the difference divided
 *    by the connections is the cost of one idle connection, in RSS and in V8 heap.
 *
 * The results are also written to bench/results/websocket-latest.json.
 *
 * Run:   npm run build && node --import tsx bench/websocket.ts   (about 1.5 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_IDLE=500 node --import tsx bench/websocket.ts
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50), BENCH_WS_STREAMS throughput clients (default 4), BENCH_WS_WINDOW
 *        messages in flight per throughput client (default 8), BENCH_IDLE connections (default 5000; needs as many
 *        open files per process)
 */
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import * as lib from './lib.js';

/** The echoed message: 32 bytes of text. */
const MESSAGE = Buffer.from('rxjet websocket benchmark 32 B!!');
/** The message of the throughput test: 64 KiB, sent as binary; preallocated, so the client spends nothing on it. */
const BIG = Buffer.alloc(64 * 1024, 'rxjet');
const MiB = 1024 * 1024;
/** Idle connections opened at a time. */
const BATCH = 200;

const contenders = [
  { id: 'ws', label: 'ws (bare)' },
  { id: 'rxjet', label: 'rxjet' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The answer to a `measure` request. */
interface MemoryMessage extends Memory {
  type: 'memory';
  /** Connections the server holds open, as it counts them. */
  connections: number;
}

interface EchoSample {
  roundTripsPerSecond: number;
  /** CPU time the server process spent per round trip, in microseconds: less sensitive to other load. */
  serverMicrosPerRoundTrip: number;
  /** Wrong echoes, and errors or closes during the run. */
  errors: number;
}

interface ThroughputSample {
  /** Echoed payload received per second, in MiB. */
  mibPerSecond: number;
  /** CPU time the server process spent per MiB echoed, in microseconds. */
  serverMicrosPerMiB: number;
  /** Echoes of the wrong length or type, and errors or closes during the run. */
  errors: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, reporting its port and, when asked, its memory or CPU time over IPC.
// ---------------------------------------------------------------------------------------------------------------

async function measureMemory(openConnections: () => Promise<number>): Promise<MemoryMessage> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('the server process needs --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await lib.delay(50);
  }
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage();
  return { type: 'memory', rss, heapUsed, external, arrayBuffers, connections: await openConnections() };
}

async function runChild(id: ContenderId): Promise<void> {
  let port: number;
  let openConnections: () => Promise<number>;
  if (id === 'ws') {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    port = await lib.listeningPort(wss);
    openConnections = () => Promise.resolve(wss.clients.size);
  } else {
    // The built package, as users run it (build first).
    const { serve } = await import('../dist/server/index.js');
    const server = await serve({ port: 0, host: '127.0.0.1', websocketHandler: (conn) => conn.in$ });
    port = server.port;
    openConnections = () =>
      new Promise((resolve, reject) =>
        server.node.getConnections((error, count) => (error ? reject(error) : resolve(count))),
      );
  }
  lib.answerRequests({ cpu: lib.cpuTime, measure: () => measureMemory(openConnections) });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the servers, drive the load, report.
// ---------------------------------------------------------------------------------------------------------------

/** A server process of its own for a contender, with --expose-gc so that it can measure its memory. */
function startServer(id: ContenderId): Promise<lib.ChildServer> {
  return lib.startChild(import.meta.url, `${id} server`, [id], ['--expose-gc']);
}

/** The open-files limit of this process (its children inherit it). */
async function openFilesLimit(): Promise<number> {
  const text = await lib.exec('sh', ['-c', 'ulimit -n']).then(
    (stdout) => stdout.trim(),
    () => 'unlimited',
  );
  return text === 'unlimited' ? Infinity : Number(text) || Infinity;
}

function emfileHelp(connections: number): string {
  return (
    `Out of file descriptors (EMFILE) while opening ${connections} WebSocket connections: raise the open-files ` +
    `limit (e.g. ulimit -n ${connections * 2 + 1024}) or lower BENCH_IDLE / BENCH_CONNECTIONS.`
  );
}

/** Closes the connections with a close handshake, waiting at most 5 s for it. */
async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            ws.terminate();
            resolve();
          }, 5_000);
          ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          ws.close(1000);
        }),
    ),
  );
}

function isEcho(data: RawData, isBinary: boolean): boolean {
  return !isBinary && Buffer.isBuffer(data) && data.equals(MESSAGE);
}

/** Echo round trips per second over `connections` clients, one message in flight on each. */
async function echo(server: lib.ChildServer, seconds: number, connections: number): Promise<EchoSample> {
  const sockets = await lib.connectMany(`ws://127.0.0.1:${server.port}`, connections, BATCH, emfileHelp(connections));
  let running = true;
  let roundTrips = 0;
  let errors = 0;
  for (const ws of sockets) {
    ws.on('message', (data, isBinary) => {
      if (!running) return;
      if (isEcho(data, isBinary)) roundTrips++;
      else errors++;
      ws.send(MESSAGE, { binary: false });
    });
    ws.on('error', () => running && errors++);
    ws.on('close', () => running && errors++);
  }
  const cpuBefore = await lib.askCpu(server.child);
  const start = performance.now();
  for (const ws of sockets) ws.send(MESSAGE, { binary: false });
  await lib.delay(seconds * 1000);
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  const counted = roundTrips;
  const cpuAfter = await lib.askCpu(server.child);
  await closeAll(sockets);
  return {
    roundTripsPerSecond: counted / elapsed,
    serverMicrosPerRoundTrip: counted === 0 ? 0 : (cpuAfter - cpuBefore) / counted,
    errors,
  };
}

/** Echoed 64 KiB binary messages per second over `streams` clients, `window` messages in flight on each. */
async function throughput(
  server: lib.ChildServer,
  seconds: number,
  streams: number,
  window: number,
): Promise<ThroughputSample> {
  const sockets = await lib.connectMany(`ws://127.0.0.1:${server.port}`, streams, BATCH, emfileHelp(streams));
  let running = true;
  let received = 0;
  let errors = 0;
  for (const ws of sockets) {
    ws.on('message', (data, isBinary) => {
      if (!running) return;
      if (isBinary && Buffer.isBuffer(data) && data.byteLength === BIG.byteLength) received += data.byteLength;
      else errors++;
      ws.send(BIG, { binary: true });
    });
    ws.on('error', () => running && errors++);
    ws.on('close', () => running && errors++);
  }
  const cpuBefore = await lib.askCpu(server.child);
  const start = performance.now();
  for (const ws of sockets) for (let i = 0; i < window; i++) ws.send(BIG, { binary: true });
  await lib.delay(seconds * 1000);
  running = false;
  const elapsed = (performance.now() - start) / 1000;
  const mib = received / MiB;
  const cpuAfter = await lib.askCpu(server.child);
  await closeAll(sockets);
  return {
    mibPerSecond: mib / elapsed,
    serverMicrosPerMiB: mib === 0 ? 0 : (cpuAfter - cpuBefore) / mib,
    errors,
  };
}

interface IdleResult {
  id: ContenderId;
  label: string;
  connections: number;
  /** Connections the server counted as open when it measured. */
  openOnServer: number;
  before: Memory;
  after: Memory;
  rssPerConnection: number;
  heapPerConnection: number;
}

/** Memory of one idle connection, on a fresh server process. */
async function idleMemory(contender: (typeof contenders)[number], connections: number): Promise<IdleResult> {
  const { child, port } = await startServer(contender.id);
  try {
    await lib.delay(200);
    const before = await lib.ask<MemoryMessage>(child, 'measure', 'memory');
    const sockets = await lib.connectMany(`ws://127.0.0.1:${port}`, connections, BATCH, emfileHelp(connections));
    await lib.delay(500);
    const after = await lib.ask<MemoryMessage>(child, 'measure', 'memory');
    for (const ws of sockets) ws.terminate();
    const strip = ({ rss, heapUsed, external, arrayBuffers }: Memory): Memory => ({
      rss,
      heapUsed,
      external,
      arrayBuffers,
    });
    return {
      id: contender.id,
      label: contender.label,
      connections,
      openOnServer: after.connections,
      before: strip(before),
      after: strip(after),
      rssPerConnection: Math.round((after.rss - before.rss) / connections),
      heapPerConnection: Math.round((after.heapUsed - before.heapUsed) / connections),
    };
  } finally {
    lib.killChild(child);
  }
}

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;
  const idle = lib.envInt('BENCH_IDLE', 5000, 1);
  const streams = lib.envInt('BENCH_WS_STREAMS', 4, 1);
  const window = lib.envInt('BENCH_WS_WINDOW', 8, 1);

  // This process holds every client socket and each server process every server socket; both inherit this limit.
  const limit = await openFilesLimit();
  const needed = Math.max(idle, connections) + 256;
  if (limit < needed) {
    throw new Error(
      `The open-files limit (ulimit -n) is ${limit}, but ${Math.max(idle, connections)} connections need about ` +
        `${needed} per process: raise it (e.g. ulimit -n ${needed * 2}) or lower BENCH_IDLE / BENCH_CONNECTIONS.`,
    );
  }

  // Per contender: a check, a warm-up and the rounds for echo and for throughput, then the idle connections.
  const estimate = contenders.length * (2 * (warmup + rounds * seconds + 2) + Math.ceil(idle / 1000));
  console.log(
    `rxjet WebSocket benchmark: echo over ${connections} connections, then 64 KiB messages over ${streams} ` +
      `connections with ${window} in flight each, ${rounds} round(s) of ${seconds} s, ${warmup} s warm-up; ` +
      `then ${idle} idle connections per server (about ${estimate} s)`,
  );

  // Whatever happens, do not outlive the run by much.
  lib.watchdog(estimate * 2 + 120);

  // 1. Echo round trips.
  const servers = await Promise.all(contenders.map((c) => startServer(c.id)));
  // Check each server echoes, then warm it up.
  for (const [i, server] of servers.entries()) {
    const check = await echo(server, 1, 1);
    if (check.errors > 0 || check.roundTripsPerSecond === 0) throw new Error(`${contenders[i]!.label} does not echo`);
  }
  if (warmup > 0) {
    for (const server of servers) await echo(server, warmup, connections);
  }

  console.log('  echo, round trips/s');
  const samples = await lib.measureRounds(
    contenders,
    rounds,
    (i) => echo(servers[i]!, seconds, connections),
    (sample) => sample.roundTripsPerSecond,
  );

  // 2. 64 KiB message throughput, on the same servers: check each echoes them, then warm it up.
  for (const [i, server] of servers.entries()) {
    const check = await throughput(server, 1, 1, 1);
    if (check.errors > 0 || check.mibPerSecond === 0) {
      throw new Error(`${contenders[i]!.label} does not echo 64 KiB binary messages`);
    }
  }
  if (warmup > 0) {
    for (const server of servers) await throughput(server, warmup, streams, window);
  }
  console.log('  64 KiB messages, MiB/s');
  const bigSamples = await lib.measureRounds(
    contenders,
    rounds,
    (i) => throughput(servers[i]!, seconds, streams, window),
    (sample) => sample.mibPerSecond,
  );
  for (const { child } of servers) lib.killChild(child);

  const medians = samples.map((s) => lib.median(s.map((x) => x.roundTripsPerSecond)));
  const cpuMedians = samples.map((s) => lib.median(s.map((x) => x.serverMicrosPerRoundTrip)));
  const echoResults = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianRoundTripsPerSecond: Math.round(medians[i]!),
    ratio: lib.ratio(medians[i]!, medians[0]!),
    medianServerMicrosPerRoundTrip: Number(cpuMedians[i]!.toFixed(2)),
    cpuRatio: lib.ratio(cpuMedians[i]!, cpuMedians[0]!),
    samples: samples[i]!.map((s) => Math.round(s.roundTripsPerSecond)),
    serverMicrosPerRoundTrip: samples[i]!.map((s) => Number(s.serverMicrosPerRoundTrip.toFixed(2))),
    errors: lib.totalErrors(samples[i]!),
  }));

  const bigMedians = bigSamples.map((s) => lib.median(s.map((x) => x.mibPerSecond)));
  const throughputResults = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianMiBps: Number(bigMedians[i]!.toFixed(1)),
    ratio: lib.ratio(bigMedians[i]!, bigMedians[0]!),
    serverMicrosPerMiB: Math.round(lib.median(bigSamples[i]!.map((x) => x.serverMicrosPerMiB))),
    samples: bigSamples[i]!.map((s) => Number(s.mibPerSecond.toFixed(1))),
    errors: lib.totalErrors(bigSamples[i]!),
  }));

  // 3. Memory per idle connection, one fresh server process each.
  const idleResults: IdleResult[] = [];
  for (const contender of contenders) {
    const result = await idleMemory(contender, idle);
    idleResults.push(result);
    console.log(
      `  idle ${contender.label}: ${result.rssPerConnection} B RSS, ${result.heapPerConnection} B heap per connection`,
    );
  }
  const baseIdle = idleResults[0]!;
  const idleWithRatios = idleResults.map((r) => ({
    ...r,
    rssRatio: lib.ratio(r.rssPerConnection, baseIdle.rssPerConnection),
    heapRatio: lib.ratio(r.heapPerConnection, baseIdle.heapPerConnection),
  }));

  const meta = { ...lib.machine(), messageBytes: MESSAGE.byteLength, ...bench, idleConnections: idle };

  const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
  lib.printMachine(meta);
  console.log();
  console.log(`Echo, ${connections} connections, ${meta.messageBytes}-byte text messages, one in flight each`);
  lib.printTable([
    ['contender', 'median round trips/s', 'vs ws', 'server CPU/round trip', 'vs ws', 'errors'],
    ...echoResults.map((r) => [
      r.label,
      r.medianRoundTripsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      `${r.medianServerMicrosPerRoundTrip.toFixed(1)} µs`,
      `${r.cpuRatio.toFixed(2)}x`,
      String(r.errors),
    ]),
  ]);
  console.log();
  console.log(`64 KiB binary messages, ${streams} connections, ${window} in flight each`);
  lib.printTable([
    ['contender', 'median MiB/s', 'vs ws', 'server CPU/MiB', 'vs ws', 'errors'],
    ...throughputResults.map((r) => [
      r.label,
      r.medianMiBps.toFixed(1),
      `${r.ratio.toFixed(2)}x`,
      `${(r.serverMicrosPerMiB / 1000).toFixed(2)} ms`,
      `${lib.ratio(r.serverMicrosPerMiB, throughputResults[0]!.serverMicrosPerMiB).toFixed(2)}x`,
      String(r.errors),
    ]),
  ]);
  console.log();
  console.log(`Memory per idle connection, ${idle} connections, after a forced GC`);
  lib.printTable([
    ['contender', 'RSS/conn', 'vs ws', 'heap/conn', 'vs ws', 'open on server'],
    ...idleWithRatios.map((r) => [
      r.label,
      kib(r.rssPerConnection),
      `${r.rssRatio.toFixed(2)}x`,
      kib(r.heapPerConnection),
      `${r.heapRatio.toFixed(2)}x`,
      String(r.openOnServer),
    ]),
  ]);
  if (echoResults.some((r) => r.errors > 0)) console.log('\nWarning: some echo runs had errors.');
  if (throughputResults.some((r) => r.errors > 0)) console.log('\nWarning: some 64 KiB message runs had errors.');
  if (idleResults.some((r) => r.openOnServer !== idle)) {
    console.log('\nWarning: a server did not count every idle connection as open.');
  }

  await lib.writeResults('websocket', {
    ...meta,
    echo: echoResults,
    throughput: { messageKiB: BIG.byteLength / 1024, streams, window, results: throughputResults },
    idle: idleWithRatios,
  });
}

await lib.main(
  (args) => runChild(lib.contenderId(contenders, args[0])),
  runParent,
  (error) => (error instanceof Error && error.message.startsWith('Out of file') ? error.message : error),
);
