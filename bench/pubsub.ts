/**
 * Scale-out: broadcast to WebSocket subscribers on one process, and delivery across processes over Redis, of
 * `rxjet/pubsub` against the loops people write by hand and against Socket.IO.
 *
 * 1. Broadcast on one process: a server in its own child process holds N subscribers (BENCH_PUBSUB_SUBSCRIBERS, real
 *    `ws` client connections opened by this process), one of which also publishes: each message it sends, the
 *    server broadcasts to every subscriber, itself included (a chat room). rxjet serves
 *    `{ websocket: (conn) => (conn.in$.subscribe((m) => room.publish(m)), room) }` on a hub topic with the default
 *    memoryBus; the baseline is a bare `ws` WebSocketServer sending each message on with
 *    `for (const c of wss.clients) c.send(data)`, as ws's README shows. The publisher keeps BENCH_PUBSUB_WINDOW
 *    messages in flight, a message leaving the window once the last subscriber has it, so the subscribers set the
 *    pace and no buffer grows without bound. Measured at the clients: messages delivered per second (every
 *    subscriber's copy counts), for 32-byte text and 16 KiB binary messages, and the server's CPU time per
 *    delivered message.
 * 2. Across processes over Redis: a redis-server started here (a free port of 127.0.0.1, no persistence, killed by
 *    its PID at the end, also on failure) carries messages from a publisher process to a subscriber process:
 *    (a) a bare `redis` client `publish` loop and `subscribe` listener (the limit), (b) rxjet hubs with `redisBus`,
 *    (c) two Socket.IO servers with `@socket.io/redis-adapter` (`io.emit` on one, a socket.io-client connected to
 *    the other receives), and (d) the same path with rxjet: a hub publishing, and `serve()` answering
 *    `{ websocket: () => room }` on the other process, a `ws` client receiving, so that (d) is held to (c) and (b)
 *    to (a). The receiver tells the publisher what it has over a TCP connection of their own, and the publisher
 *    keeps a window of messages in flight (256 of 32 B, 32 of 16 KiB), so again the receiver sets the pace.
 *    Measured: messages received per second, 32-byte text and 16 KiB binary, with the CPU time per message of the
 *    publisher and subscriber (server) processes; and the latency from publish to receipt (each message carries its
 *    publish time from the machine's monotonic clock, which every process shares) at a fixed BENCH_PUBSUB_RATE of
 *    32-byte messages: p50 and p99. Without `redis-server` on the PATH these rows are not measured, and say so.
 *
 * Every contender is checked first: a run of numbered messages, each delivered exactly once, in order, byte-exact
 * (in part 2 every message of every run is checked so). Then one warm-up run each, then alternating rounds; medians
 * are reported with their ratio to the baseline. Results go to bench/results/pubsub-latest.json.
 *
 * Run:   npm run bench:pubsub   (about 3 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_WARMUP=0 BENCH_PUBSUB_SUBSCRIBERS=100 npm run bench:pubsub
 * Env:   BENCH_ROUNDS (default 3), BENCH_SECONDS per run (default 2), BENCH_WARMUP seconds (default 1),
 *        BENCH_PUBSUB_SUBSCRIBERS, the subscriber counts of part 1 (default 100,1000), BENCH_PUBSUB_WINDOW, messages
 *        in flight in part 1 (default 16; times 16 KiB it must stay below rxjet's 1 MiB outbound limit),
 *        BENCH_PUBSUB_RATE, messages per second of the latency runs (default 1000), BENCH_PUBSUB_PARTS
 *        (default broadcast,redis)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import * as lib from './lib.js';

// ---------------------------------------------------------------------------------------------------------------
// The messages, the same in every process.
// ---------------------------------------------------------------------------------------------------------------

type Size = 'small' | 'big';
const SMALL_BYTES = 32;
const BIG_BYTES = 16 * 1024;
const bytesOf = (size: Size): number => (size === 'small' ? SMALL_BYTES : BIG_BYTES);
const sizeLabel = (size: Size): string => (size === 'small' ? '32 B text' : '16 KiB binary');

/** The body of every 16 KiB message after its 12-byte header: every byte value, in a fixed scramble. */
const TEMPLATE = Buffer.alloc(BIG_BYTES);
for (let i = 0; i < BIG_BYTES; i++) TEMPLATE[i] = (Math.imul(i + 1, 2654435761) >>> 24) & 0xff;

/** A 32-byte text message: its number, the time it was published (ns of the monotonic clock), and nothing else. */
function smallMessage(seq: number, ns: number): string {
  return `${String(seq).padStart(10, '0')}|${String(ns).padStart(20, '0')}|`;
}

/** A 16 KiB binary message: its number (uint32), its publish time (float64 ns), then TEMPLATE. A new Buffer each. */
function bigMessage(seq: number, ns: number): Buffer {
  const message = Buffer.allocUnsafe(BIG_BYTES);
  TEMPLATE.copy(message, 12, 12);
  message.writeUInt32LE(seq, 0);
  message.writeDoubleLE(ns, 4);
  return message;
}

/** The monotonic clock in nanoseconds: the same clock in every process of the machine. */
const nowNs = (): number => Number(process.hrtime.bigint());

function asBytes(message: unknown): Buffer | undefined {
  if (Buffer.isBuffer(message)) return message;
  if (message instanceof Uint8Array) return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
  if (message instanceof ArrayBuffer) return Buffer.from(message);
  return undefined;
}

/** A received message's number and publish time, or undefined unless it is byte for byte what was published. */
function readMessage(size: Size, message: unknown): { seq: number; ns: number } | undefined {
  if (size === 'small') {
    const text = typeof message === 'string' ? message : asBytes(message)?.toString('latin1');
    if (text?.length !== SMALL_BYTES) return undefined;
    const seq = Number(text.slice(0, 10));
    const ns = Number(text.slice(11, 31));
    return text === smallMessage(seq, ns) ? { seq, ns } : undefined;
  }
  const bytes = asBytes(message);
  if (bytes?.byteLength !== BIG_BYTES) return undefined;
  if (Buffer.compare(bytes.subarray(12), TEMPLATE.subarray(12)) !== 0) return undefined;
  return { seq: bytes.readUInt32LE(0), ns: bytes.readDoubleLE(4) };
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1, child: a broadcast server.
// ---------------------------------------------------------------------------------------------------------------

const broadcastContenders = [
  { id: 'ws', label: 'ws, loop over wss.clients' },
  { id: 'rxjet', label: 'rxjet, hub topic (memoryBus)' },
] as const;

async function runBroadcastServer(id: (typeof broadcastContenders)[number]['id']): Promise<void> {
  let port: number;
  if (id === 'ws') {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        for (const client of wss.clients) {
          if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
        }
      });
    });
    port = await lib.listeningPort(wss);
  } else {
    // The built package, as users run it (build first).
    const { serve } = await import('../dist/server/index.js');
    const { createHub } = await import('../dist/pubsub/index.js');
    const room = createHub().topic<string | Uint8Array>('room');
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: () => ({
        websocket: (conn) => {
          conn.in$.subscribe((message) => void room.publish(message));
          return room;
        },
      }),
    });
    port = server.port;
  }
  lib.answerRequests({ cpu: lib.cpuTime });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2, children: publishers, subscribers (servers) and receivers.
// ---------------------------------------------------------------------------------------------------------------

const redisContenders = [
  { id: 'redis', label: 'redis (bare publish/subscribe)', viaWebSocket: false, baseline: 'redis' },
  { id: 'rxjet', label: 'rxjet hubs, redisBus', viaWebSocket: false, baseline: 'redis' },
  { id: 'socketio', label: 'Socket.IO + redis-adapter', viaWebSocket: true, baseline: 'socketio' },
  { id: 'rxjet-ws', label: 'rxjet redisBus + serve() WebSocket', viaWebSocket: true, baseline: 'socketio' },
] as const;
type RedisContenderId = (typeof redisContenders)[number]['id'];

/** The window of messages in flight in part 2, by size (16 KiB ones within rxjet's 1 MiB outbound limit). */
const REDIS_WINDOW: Record<Size, number> = { small: 256, big: 32 };
/** The Redis channel of the bare contender, and the hub topics of the rxjet ones. */
const CHANNEL = 'bench';
const TOPIC: Record<'rxjet' | 'rxjet-ws', string> = { rxjet: 'bench', 'rxjet-ws': 'bench-ws' };

type Publish = (message: string | Buffer) => void;

async function redisClient(url: string) {
  const { createClient } = await import('redis');
  const client = createClient({ url });
  client.on('error', (error: unknown) => console.error(error));
  await client.connect();
  return client;
}

/** A Socket.IO server with the Redis adapter, listening on a free port. */
async function socketIoServer(url: string): Promise<{ io: import('socket.io').Server; port: number }> {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  const pub = await redisClient(url);
  const sub = pub.duplicate();
  sub.on('error', (error: unknown) => console.error(error));
  await sub.connect();
  const http = createHttpServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub) });
  http.listen(0, '127.0.0.1');
  return { io, port: await lib.listeningPort(http) };
}

/** The publishing side of a contender: how it sends one message. */
async function makePublisher(id: RedisContenderId, url: string, failed: (error: unknown) => void): Promise<Publish> {
  if (id === 'redis') {
    const client = await redisClient(url);
    return (message) => void client.publish(CHANNEL, message).catch(failed);
  }
  if (id === 'socketio') {
    const { io } = await socketIoServer(url);
    return (message) => void io.emit('m', message);
  }
  const { createHub, redisBus } = await import('../dist/pubsub/index.js');
  const topic = createHub({ bus: redisBus({ url }) }).topic<string | Uint8Array>(TOPIC[id]);
  return (message) => void topic.publish(message).catch(failed);
}

// A type, not an interface, so that it is a lib.ChildMessage (an interface has no index signature).
type RunRequest = {
  type: 'run';
  runId: number;
  size: Size;
  /** ready: one message every 20 ms until one arrives; count: `count` messages; rate: as fast as the window lets;
   * latency: `rate` messages per second. */
  mode: 'ready' | 'count' | 'rate' | 'latency';
  seconds: number;
  count: number;
  rate: number;
  window: number;
};

interface RunReply {
  type: 'ran';
  sent: number;
  /** Messages the receiver had when sending stopped. */
  acked: number;
  /** From the first message to when sending stopped. */
  seconds: number;
  /** Failed publishes. */
  errors: number;
  /** Whether everything sent arrived before the publisher gave up waiting. */
  drained: boolean;
}

/**
 * The publisher's end of the receiver's reports: 8-byte records (run id, messages received so far, uint32 LE),
 * keeping the count of the current run and calling `onAck` after each read.
 */
class Acks {
  runId = -1;
  acked = 0;
  onAck: () => void = () => undefined;
  readonly server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let rest: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      const data = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
      let offset = 0;
      for (; offset + 8 <= data.length; offset += 8) {
        if (data.readUInt32LE(offset) === this.runId) this.acked = Math.max(this.acked, data.readUInt32LE(offset + 4));
      }
      rest = data.subarray(offset);
      this.onAck();
    });
  });
}

function publishRun(publish: Publish, acks: Acks, request: RunRequest, errors: { count: number }): Promise<RunReply> {
  const { runId, size, mode, window } = request;
  acks.runId = runId;
  acks.acked = 0;
  errors.count = 0;
  let sent = 0;
  const one = (): void => {
    publish(size === 'small' ? smallMessage(sent, nowNs()) : bigMessage(sent, nowNs()));
    sent++;
  };
  return new Promise((resolve) => {
    const start = performance.now();
    let stoppedAt = 0;
    let ackedAtStop = 0;
    let sending = true;
    const timers: NodeJS.Timeout[] = [];
    const finish = (drained: boolean): void => {
      for (const timer of timers) clearTimeout(timer);
      acks.onAck = () => undefined;
      resolve({
        type: 'ran',
        sent,
        acked: ackedAtStop,
        seconds: (stoppedAt - start) / 1000,
        errors: errors.count,
        drained,
      });
    };
    const stop = (): void => {
      if (!sending) return;
      sending = false;
      stoppedAt = performance.now();
      ackedAtStop = acks.acked;
      if (mode === 'ready') {
        timers.push(setTimeout(() => finish(true), 300));
        return;
      }
      // Wait for everything sent to arrive, so that the next run starts on a quiet path.
      acks.onAck = () => acks.acked >= sent && finish(true);
      timers.push(setTimeout(() => finish(false), 10_000));
      acks.onAck();
    };
    if (mode === 'ready') {
      acks.onAck = () => acks.acked > 0 && stop();
      const tick = (): void => {
        if (!sending) return;
        if (performance.now() - start > 20_000) stop();
        else {
          one();
          timers.push(setTimeout(tick, 20));
        }
      };
      tick();
    } else if (mode === 'count') {
      acks.onAck = () => {
        while (sent < request.count && sent - acks.acked < window) one();
        if (acks.acked >= request.count) stop();
      };
      acks.onAck();
    } else if (mode === 'rate') {
      acks.onAck = () => {
        while (sending && sent - acks.acked < window) one();
      };
      timers.push(setTimeout(stop, request.seconds * 1000));
      acks.onAck();
    } else {
      const interval = setInterval(() => {
        const due = Math.floor((request.rate * (performance.now() - start)) / 1000);
        while (sent < due && sent - acks.acked < window) one();
      }, 1);
      timers.push(
        setTimeout(() => {
          clearInterval(interval);
          stop();
        }, request.seconds * 1000),
      );
    }
  });
}

async function runPublisher(id: RedisContenderId, url: string): Promise<void> {
  const errors = { count: 0 };
  const publish = await makePublisher(id, url, () => errors.count++);
  const acks = new Acks();
  acks.server.listen(0, '127.0.0.1');
  const port = await lib.listeningPort(acks.server);
  lib.answerRequests({
    cpu: lib.cpuTime,
    run: (message) => publishRun(publish, acks, message as unknown as RunRequest, errors),
  });
  lib.sendReady(port);
}

interface StatsReply {
  type: 'stats';
  received: number;
  /** Messages out of order, missing, repeated, or not byte for byte as published. */
  errors: number;
  p50Micros: number;
  p99Micros: number;
}

/** The receiving end: checks every message, keeps its latency, and tells the publisher how many it has. */
class Receiver {
  #runId = -1;
  #size: Size = 'small';
  #lenient = true;
  #next = 0;
  #received = 0;
  #errors = 0;
  #latencies: number[] = [];
  #reporting = false;
  readonly #feedback: net.Socket;

  constructor(feedback: net.Socket) {
    this.#feedback = feedback;
  }

  reset(message: lib.ChildMessage): object {
    this.#runId = message.runId as number;
    this.#size = message.size as Size;
    this.#lenient = message.lenient === true;
    this.#next = 0;
    this.#received = 0;
    this.#errors = 0;
    this.#latencies = [];
    return { type: 'reset' };
  }

  stats(): StatsReply {
    const sorted = Float64Array.from(this.#latencies).sort();
    const at = (p: number): number =>
      sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
    return { type: 'stats', received: this.#received, errors: this.#errors, p50Micros: at(0.5), p99Micros: at(0.99) };
  }

  take(message: unknown): void {
    const now = nowNs();
    this.#received++;
    const read = readMessage(this.#size, message);
    if (read === undefined) this.#errors++;
    else {
      if (read.seq !== this.#next && !this.#lenient) this.#errors++;
      this.#next = read.seq + 1;
      if (!this.#lenient && this.#latencies.length < 4_000_000) this.#latencies.push((now - read.ns) / 1000);
    }
    if (!this.#reporting) {
      this.#reporting = true;
      setImmediate(this.#report);
    }
  }

  readonly #report = (): void => {
    this.#reporting = false;
    const record = Buffer.allocUnsafe(8);
    record.writeUInt32LE(this.#runId >>> 0, 0);
    record.writeUInt32LE(this.#received >>> 0, 4);
    this.#feedback.write(record);
  };
}

async function startReceiver(feedbackPort: number): Promise<Receiver> {
  const feedback = net.connect(feedbackPort, '127.0.0.1');
  await once(feedback, 'connect');
  feedback.setNoDelay(true);
  const receiver = new Receiver(feedback);
  lib.answerRequests({ cpu: lib.cpuTime, reset: (m) => receiver.reset(m), stats: () => receiver.stats() });
  return receiver;
}

/** The subscribing side: for (a) and (b) the receiver itself; for (c) and (d) the server the client connects to. */
async function runSubscriber(id: RedisContenderId, url: string, feedbackPort: number): Promise<void> {
  if (id === 'redis' || id === 'rxjet') {
    const receiver = await startReceiver(feedbackPort);
    if (id === 'redis') {
      const client = await redisClient(url);
      await client.subscribe(CHANNEL, (message: Buffer) => receiver.take(message), true);
    } else {
      const { createHub, redisBus } = await import('../dist/pubsub/index.js');
      createHub({ bus: redisBus({ url }) })
        .topic<string | Uint8Array>(TOPIC.rxjet)
        .subscribe((message) => receiver.take(message));
    }
    lib.sendReady(0);
    return;
  }
  let port: number;
  if (id === 'socketio') port = (await socketIoServer(url)).port;
  else {
    const { serve } = await import('../dist/server/index.js');
    const { createHub, redisBus } = await import('../dist/pubsub/index.js');
    const room = createHub({ bus: redisBus({ url }) }).topic<string | Uint8Array>(TOPIC['rxjet-ws']);
    port = (await serve({ port: 0, host: '127.0.0.1', handler: () => ({ websocket: () => room }) })).port;
  }
  lib.answerRequests({ cpu: lib.cpuTime });
  lib.sendReady(port);
}

/** The client of (c) and (d), in a process of its own: socket.io-client, or a `ws` client. */
async function runClient(id: RedisContenderId, port: number, feedbackPort: number): Promise<void> {
  const receiver = await startReceiver(feedbackPort);
  if (id === 'socketio') {
    const { io } = await import('socket.io-client');
    const socket = io(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
    socket.on('m', (message: unknown) => receiver.take(message));
    await new Promise((resolve) => socket.once('connect', () => resolve(undefined)));
  } else {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false });
    ws.on('message', (data: Buffer, isBinary) => receiver.take(isBinary ? data : data.toString()));
    await once(ws, 'open');
  }
  lib.sendReady(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent, part 1: the subscribers and the publisher are ws clients of this process.
// ---------------------------------------------------------------------------------------------------------------

interface BroadcastSample {
  /** Copies received per second, summed over the subscribers. */
  messagesPerSecond: number;
  /** CPU time of the server process per delivered copy, in microseconds. */
  serverMicrosPerMessage: number;
  /** Copies of the wrong type, length or content, missing or extra ones, and errors or closes of the clients. */
  errors: number;
}

/** A ring of per-message counters, larger than any window. */
const RING = 1 << 12;

/**
 * One run: the first socket publishes, keeping `window` messages that not every subscriber has yet in flight, for
 * `seconds`, or, to check, exactly the numbered messages of `expected`.
 */
async function broadcastRun(
  server: lib.ChildServer,
  sockets: WebSocket[],
  size: Size,
  seconds: number,
  window: number,
  expected?: Buffer[],
): Promise<BroadcastSample> {
  const n = sockets.length;
  const bytes = bytesOf(size);
  const binary = size === 'big';
  const counts = new Uint32Array(n);
  const ring = new Uint32Array(RING);
  const constant = binary ? bigMessage(0, 0) : Buffer.from(smallMessage(0, 0));
  let sent = 0;
  let retired = 0;
  let received = 0;
  let errors = 0;
  let sending = true;
  let drained: (() => void) | undefined;
  const pump = (): void => {
    while (sending && sent - retired < window && (expected === undefined || sent < expected.length)) {
      sockets[0]!.send(expected?.[sent] ?? constant, { binary });
      sent++;
    }
  };
  const listeners = sockets.map((ws, i) => {
    const onMessage = (data: RawData, isBinary: boolean): void => {
      const k = counts[i]!++;
      received++;
      if (isBinary !== binary || !Buffer.isBuffer(data) || data.byteLength !== bytes) errors++;
      else if (expected !== undefined && (k >= expected.length || !data.equals(expected[k]!))) errors++;
      const slot = k & (RING - 1);
      if (++ring[slot]! === n) {
        ring[slot] = 0;
        retired++;
        if (retired === sent && !sending) drained?.();
        pump();
      }
    };
    const onEnd = (): void => {
      errors++;
    };
    ws.on('message', onMessage);
    ws.on('close', onEnd);
    ws.on('error', onEnd);
    return { ws, onMessage, onEnd };
  });
  const cpuBefore = await lib.askCpu(server.child);
  const start = performance.now();
  pump();
  let elapsed: number;
  let counted: number;
  if (expected !== undefined) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000);
      const check = (): void => {
        if (retired === expected.length) {
          clearTimeout(timer);
          resolve();
        } else setTimeout(check, 10);
      };
      check();
    });
    await lib.delay(200); // anything repeated arrives meanwhile
    elapsed = (performance.now() - start) / 1000;
    counted = received;
    sending = false;
    for (const count of counts) if (count !== expected.length) errors++;
  } else {
    await lib.delay(seconds * 1000);
    sending = false;
    elapsed = (performance.now() - start) / 1000;
    counted = received;
    if (retired !== sent) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          errors++;
          resolve();
        }, 10_000);
        drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }
  const cpuAfter = await lib.askCpu(server.child);
  for (const { ws, onMessage, onEnd } of listeners) {
    ws.off('message', onMessage);
    ws.off('close', onEnd);
    ws.off('error', onEnd);
  }
  return {
    messagesPerSecond: counted / elapsed,
    serverMicrosPerMessage: received === 0 ? 0 : (cpuAfter - cpuBefore) / received,
    errors,
  };
}

interface BroadcastResult {
  subscribers: number;
  size: Size;
  messageBytes: number;
  id: string;
  label: string;
  medianMessagesPerSecond: number;
  ratio: number;
  medianServerMicrosPerMessage: number;
  cpuRatio: number;
  samples: number[];
  errors: number;
}

async function broadcastPart(
  counts: number[],
  rounds: number,
  seconds: number,
  warmup: number,
  window: number,
): Promise<BroadcastResult[]> {
  const servers = await Promise.all(
    broadcastContenders.map((c) => lib.startChild(import.meta.url, `${c.id} broadcast server`, ['broadcast', c.id])),
  );
  const results: BroadcastResult[] = [];
  for (const subscribers of counts) {
    const sockets = await Promise.all(
      servers.map((s) =>
        lib.connectMany(
          `ws://127.0.0.1:${s.port}/`,
          subscribers,
          200,
          'Out of file descriptors: raise ulimit -n or lower BENCH_PUBSUB_SUBSCRIBERS.',
        ),
      ),
    );
    await lib.delay(300);
    for (const size of ['small', 'big'] as const) {
      const expected = Array.from({ length: 100 }, (_, seq) =>
        size === 'big' ? bigMessage(seq, 0) : Buffer.from(smallMessage(seq, 0)),
      );
      for (const [i, server] of servers.entries()) {
        const check = await broadcastRun(server, sockets[i]!, size, 0, window, expected);
        if (check.errors > 0) {
          throw new Error(
            `${broadcastContenders[i]!.label} did not deliver ${expected.length} ${sizeLabel(size)} messages to ` +
              `each of ${subscribers} subscribers exactly once, byte-exact (${check.errors} errors)`,
          );
        }
      }
      if (warmup > 0) {
        for (const [i, server] of servers.entries()) await broadcastRun(server, sockets[i]!, size, warmup, window);
      }
      console.log(`  broadcast to ${subscribers} subscribers, ${sizeLabel(size)}: messages delivered/s`);
      const samples = await lib.measureRounds(
        broadcastContenders,
        rounds,
        (i) => broadcastRun(servers[i]!, sockets[i]!, size, seconds, window),
        (sample) => sample.messagesPerSecond,
      );
      const rates = samples.map((s) => lib.median(s.map((x) => x.messagesPerSecond)));
      const cpus = samples.map((s) => lib.median(s.map((x) => x.serverMicrosPerMessage)));
      for (const [i, contender] of broadcastContenders.entries()) {
        results.push({
          subscribers,
          size,
          messageBytes: bytesOf(size),
          id: contender.id,
          label: contender.label,
          medianMessagesPerSecond: Math.round(rates[i]!),
          ratio: lib.ratio(rates[i]!, rates[0]!),
          medianServerMicrosPerMessage: Number(cpus[i]!.toFixed(3)),
          cpuRatio: lib.ratio(cpus[i]!, cpus[0]!),
          samples: samples[i]!.map((s) => Math.round(s.messagesPerSecond)),
          errors: lib.totalErrors(samples[i]!),
        });
      }
    }
    for (const list of sockets) for (const ws of list) ws.terminate();
    await lib.delay(300);
  }
  for (const { child } of servers) lib.killChild(child);
  return results;
}

// ---------------------------------------------------------------------------------------------------------------
// Parent, part 2: a redis-server, and per contender a publisher, a subscriber and maybe a client.
// ---------------------------------------------------------------------------------------------------------------

/** Why part 2 cannot run here, or undefined when `redis-server` is on the PATH. */
function redisMissing(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return found.error === undefined && found.status === 0 ? undefined : 'no redis-server found';
}

/** Starts a redis-server with no persistence on a free port of 127.0.0.1; it is killed by its PID when this exits. */
async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  const port = await lib.listeningPort(probe);
  probe.close();
  await once(probe, 'close');
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const stop = (): void => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  process.once('exit', stop);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += String(chunk);
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
  });
  child.stdout.resume();
  return { url: `redis://127.0.0.1:${port}`, stop };
}

interface RedisSetup {
  publisher: ChildProcess;
  /** The process that subscribes to Redis: the receiver for (a) and (b), the server for (c) and (d). */
  subscriber: ChildProcess;
  /** Where the messages are counted and checked. */
  receiver: ChildProcess;
}

async function startRedisContender(id: RedisContenderId, url: string): Promise<RedisSetup> {
  const publisher = await lib.startChild(import.meta.url, `${id} publisher`, ['publisher', id, url]);
  const feedback = String(publisher.port);
  const subscriber = await lib.startChild(import.meta.url, `${id} subscriber`, ['subscriber', id, url, feedback]);
  const viaWebSocket = redisContenders.find((c) => c.id === id)!.viaWebSocket;
  const receiver = viaWebSocket
    ? (await lib.startChild(import.meta.url, `${id} client`, ['client', id, String(subscriber.port), feedback])).child
    : subscriber.child;
  return { publisher: publisher.child, subscriber: subscriber.child, receiver };
}

interface RedisSample {
  messagesPerSecond: number;
  /** CPU time of the publisher and subscriber processes per message received, in microseconds. */
  cpuMicrosPerMessage: number;
  /** The publisher's part of it. */
  publisherMicrosPerMessage: number;
  p50Micros: number;
  p99Micros: number;
  received: number;
  errors: number;
}

let runIds = 0;

async function redisRun(
  setup: RedisSetup,
  request: Omit<RunRequest, 'type' | 'runId' | 'window'>,
): Promise<RedisSample> {
  const runId = ++runIds;
  const reset = { type: 'reset', runId, size: request.size, lenient: request.mode === 'ready' };
  await lib.ask(setup.receiver, reset, 'reset', 'reset', 60_000);
  const cpu = async (): Promise<[number, number]> => [
    await lib.askCpu(setup.publisher),
    await lib.askCpu(setup.subscriber),
  ];
  const before = await cpu();
  const window = request.mode === 'ready' ? 1 : REDIS_WINDOW[request.size];
  const ran = await lib.ask<RunReply>(
    setup.publisher,
    { type: 'run', runId, window, ...request },
    'ran',
    'run result',
    60_000,
  );
  const after = await cpu();
  if (request.mode === 'count') await lib.delay(200); // anything repeated arrives meanwhile
  const stats = await lib.ask<StatsReply>(setup.receiver, 'stats', 'stats', 'stats', 60_000);
  const lost = request.mode === 'ready' ? 0 : Math.abs(ran.sent - stats.received);
  return {
    messagesPerSecond: ran.seconds === 0 ? 0 : ran.acked / ran.seconds,
    cpuMicrosPerMessage: stats.received === 0 ? 0 : (after[0] - before[0] + after[1] - before[1]) / stats.received,
    publisherMicrosPerMessage: stats.received === 0 ? 0 : (after[0] - before[0]) / stats.received,
    p50Micros: stats.p50Micros,
    p99Micros: stats.p99Micros,
    received: stats.received,
    errors: stats.errors + ran.errors + lost + (ran.drained ? 0 : 1),
  };
}

interface RedisPart {
  measured: true;
  rate: { size: Size; messageBytes: number; results: object[] }[];
  latency: { messagesPerSecond: number; messageBytes: number; results: object[] };
}

async function redisPart(rounds: number, seconds: number, warmup: number, latencyRate: number): Promise<RedisPart> {
  const redis = await startRedis();
  try {
    const setups: RedisSetup[] = [];
    for (const contender of redisContenders) setups.push(await startRedisContender(contender.id, redis.url));
    // Until a message arrives, the subscriptions may not be in place yet.
    for (const [i, setup] of setups.entries()) {
      const ready = await redisRun(setup, { size: 'small', mode: 'ready', seconds: 0, count: 0, rate: 0 });
      if (ready.received === 0) throw new Error(`${redisContenders[i]!.label}: no message arrived within 20 s`);
    }
    const baselineOf = (i: number): number => redisContenders.findIndex((c) => c.id === redisContenders[i]!.baseline);
    const rate: RedisPart['rate'] = [];
    for (const size of ['small', 'big'] as const) {
      for (const [i, setup] of setups.entries()) {
        const check = await redisRun(setup, { size, mode: 'count', seconds: 0, count: 500, rate: 0 });
        if (check.errors > 0 || check.received !== 500) {
          throw new Error(
            `${redisContenders[i]!.label} did not deliver 500 ${sizeLabel(size)} messages exactly once, in order, ` +
              `byte-exact (${check.received} received, ${check.errors} errors)`,
          );
        }
      }
      if (warmup > 0) {
        for (const setup of setups) await redisRun(setup, { size, mode: 'rate', seconds: warmup, count: 0, rate: 0 });
      }
      console.log(`  over Redis, ${sizeLabel(size)}: messages/s`);
      const samples = await lib.measureRounds(
        redisContenders,
        rounds,
        (i) => redisRun(setups[i]!, { size, mode: 'rate', seconds, count: 0, rate: 0 }),
        (sample) => sample.messagesPerSecond,
      );
      const rates = samples.map((s) => lib.median(s.map((x) => x.messagesPerSecond)));
      const cpus = samples.map((s) => lib.median(s.map((x) => x.cpuMicrosPerMessage)));
      const pubCpus = samples.map((s) => lib.median(s.map((x) => x.publisherMicrosPerMessage)));
      rate.push({
        size,
        messageBytes: bytesOf(size),
        results: redisContenders.map((contender, i) => ({
          id: contender.id,
          label: contender.label,
          baseline: contender.baseline,
          medianMessagesPerSecond: Math.round(rates[i]!),
          ratio: lib.ratio(rates[i]!, rates[baselineOf(i)]!),
          medianCpuMicrosPerMessage: Number(cpus[i]!.toFixed(2)),
          cpuRatio: lib.ratio(cpus[i]!, cpus[baselineOf(i)]!),
          medianPublisherMicrosPerMessage: Number(pubCpus[i]!.toFixed(2)),
          samples: samples[i]!.map((s) => Math.round(s.messagesPerSecond)),
          errors: lib.totalErrors(samples[i]!),
        })),
      });
    }

    console.log(`  over Redis, latency at ${latencyRate} messages/s of 32 B: p50 / p99 µs`);
    const samples = await lib.measureRounds(
      redisContenders,
      rounds,
      (i) => redisRun(setups[i]!, { size: 'small', mode: 'latency', seconds, count: 0, rate: latencyRate }),
      (sample) => sample.p99Micros,
    );
    const p50 = samples.map((s) => lib.median(s.map((x) => x.p50Micros)));
    const p99 = samples.map((s) => lib.median(s.map((x) => x.p99Micros)));
    const latency = {
      messagesPerSecond: latencyRate,
      messageBytes: SMALL_BYTES,
      results: redisContenders.map((contender, i) => ({
        id: contender.id,
        label: contender.label,
        baseline: contender.baseline,
        p50Micros: Math.round(p50[i]!),
        p99Micros: Math.round(p99[i]!),
        p50Ratio: lib.ratio(p50[i]!, p50[baselineOf(i)]!),
        p99Ratio: lib.ratio(p99[i]!, p99[baselineOf(i)]!),
        samplesP99: samples[i]!.map((s) => Math.round(s.p99Micros)),
        errors: lib.totalErrors(samples[i]!),
      })),
    };
    for (const setup of setups)
      for (const child of new Set([setup.publisher, setup.subscriber, setup.receiver])) {
        lib.killChild(child);
      }
    return { measured: true, rate, latency };
  } finally {
    redis.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: settings, the parts, the report.
// ---------------------------------------------------------------------------------------------------------------

type Row = Record<string, unknown>;
const str = (value: unknown): string => (typeof value === 'number' ? String(value) : (value as string));

async function runParent(): Promise<void> {
  const rounds = lib.envInt('BENCH_ROUNDS', 3, 1);
  const seconds = lib.envInt('BENCH_SECONDS', 2, 1);
  const warmup = lib.envInt('BENCH_WARMUP', 1, 0);
  const window = lib.envInt('BENCH_PUBSUB_WINDOW', 16, 1);
  const latencyRate = lib.envInt('BENCH_PUBSUB_RATE', 1000, 1);
  const subscriberCounts = (process.env.BENCH_PUBSUB_SUBSCRIBERS ?? '100,1000').split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_PUBSUB_SUBSCRIBERS: not a count: ${JSON.stringify(s)}`);
    return n;
  });
  const parts = (process.env.BENCH_PUBSUB_PARTS ?? 'broadcast,redis').split(',');
  for (const part of parts) {
    if (part !== 'broadcast' && part !== 'redis') throw new Error(`BENCH_PUBSUB_PARTS: unknown part ${part}`);
  }
  if (window * BIG_BYTES >= 1024 * 1024) {
    throw new Error('BENCH_PUBSUB_WINDOW times 16 KiB must stay below 1 MiB, rxjet’s outbound limit per connection');
  }
  const missing = parts.includes('redis') ? redisMissing() : undefined;

  const perRun = rounds * seconds + warmup + 1;
  const estimate =
    (parts.includes('broadcast') ? subscriberCounts.length * 2 * (2 * perRun + 2) : 0) +
    (parts.includes('redis') && missing === undefined ? 3 * 4 * perRun + 15 : 0);
  console.log(
    `rxjet pub/sub benchmark: ${parts.join(' and ')}; ${rounds} round(s) of ${seconds} s, ${warmup} s warm-up ` +
      `(about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 120);

  const bench = { rounds, seconds, warmup, window, subscribers: subscriberCounts };
  const broadcast = parts.includes('broadcast')
    ? await broadcastPart(subscriberCounts, rounds, seconds, warmup, window)
    : [];
  let redis: RedisPart | { measured: false; reason: string } | undefined;
  if (parts.includes('redis')) {
    if (missing !== undefined) {
      console.log(`  over Redis: not measured: ${missing}`);
      redis = { measured: false, reason: missing };
    } else redis = await redisPart(rounds, seconds, warmup, latencyRate);
  }

  const meta = { ...lib.machine(), ...bench };
  lib.printMachine(meta);
  const rate = (n: number): string => Math.round(n).toLocaleString('en-US');
  for (const subscribers of subscriberCounts) {
    for (const size of ['small', 'big'] as const) {
      const rows = broadcast.filter((r) => r.subscribers === subscribers && r.size === size);
      if (rows.length === 0) continue;
      console.log();
      console.log(`Broadcast to ${subscribers} WebSocket subscribers on one process, ${sizeLabel(size)} messages`);
      lib.printTable([
        ['contender', 'median delivered/s', 'vs ws', 'server CPU/message', 'vs ws', 'errors'],
        ...rows.map((r) => [
          r.label,
          rate(r.medianMessagesPerSecond),
          `${r.ratio.toFixed(2)}x`,
          `${r.medianServerMicrosPerMessage.toFixed(2)} µs`,
          `${r.cpuRatio.toFixed(2)}x`,
          String(r.errors),
        ]),
      ]);
    }
  }
  if (redis !== undefined && !redis.measured) {
    console.log();
    console.log('Across processes over Redis');
    for (const contender of redisContenders) console.log(`  ${contender.label}: not measured: ${redis.reason}`);
  } else if (redis !== undefined) {
    for (const { size, results } of redis.rate) {
      console.log();
      console.log(`Across processes over Redis, ${sizeLabel(size)} messages (ratios: rxjet to bare redis, rxjet over`);
      console.log('WebSocket to Socket.IO)');
      lib.printTable([
        ['contender', 'median messages/s', 'vs baseline', 'pub+sub CPU/message', 'of it pub', 'vs baseline', 'errors'],
        ...(results as Row[]).map((r) => [
          str(r.label),
          rate(r.medianMessagesPerSecond as number),
          `${(r.ratio as number).toFixed(2)}x`,
          `${(r.medianCpuMicrosPerMessage as number).toFixed(1)} µs`,
          `${(r.medianPublisherMicrosPerMessage as number).toFixed(1)} µs`,
          `${(r.cpuRatio as number).toFixed(2)}x`,
          str(r.errors),
        ]),
      ]);
    }
    console.log();
    console.log(`Across processes over Redis, latency from publish to receipt at ${latencyRate} messages/s of 32 B`);
    lib.printTable([
      ['contender', 'p50', 'vs baseline', 'p99', 'vs baseline', 'errors'],
      ...(redis.latency.results as Row[]).map((r) => [
        str(r.label),
        `${str(r.p50Micros)} µs`,
        `${(r.p50Ratio as number).toFixed(2)}x`,
        `${str(r.p99Micros)} µs`,
        `${(r.p99Ratio as number).toFixed(2)}x`,
        str(r.errors),
      ]),
    ]);
  }
  const anyErrors =
    broadcast.some((r) => r.errors > 0) ||
    (redis?.measured === true &&
      [...redis.rate.flatMap((r) => r.results), ...redis.latency.results].some((r) => (r as Row).errors !== 0));
  if (anyErrors) console.log('\nWarning: some runs had errors.');

  await lib.writeResults('pubsub', {
    ...meta,
    loadGenerator: 'ws clients; publisher and receiver processes',
    broadcast: { results: broadcast },
    ...(redis === undefined ? {} : { redis }),
  });
}

await lib.main(async (args) => {
  const [role, id, ...rest] = args;
  if (role === 'broadcast') return runBroadcastServer(lib.contenderId(broadcastContenders, id));
  const contender = lib.contenderId(redisContenders, id);
  if (role === 'publisher') return runPublisher(contender, rest[0]!);
  if (role === 'subscriber') return runSubscriber(contender, rest[0]!, Number(rest[1]));
  if (role === 'client') return runClient(contender, Number(rest[0]), Number(rest[1]));
  throw new Error(`unknown role ${String(role)}`);
}, runParent);
