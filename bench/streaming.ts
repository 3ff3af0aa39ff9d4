/**
 * Streaming response bodies: rxjet's throughput against a bare node:http pipeline, and its memory under a slow reader.
 *
 * Every server runs in its own child process on 127.0.0.1 and streams 64 KiB chunks, chunked (no content-length).
 * Each client is another process too. Each server samples its own RSS every 50 ms (and checks
 * process.resourceUsage().maxRSS), so that the parent can ask it for the peak of one run.
 *
 * 1. Streaming: BENCH_STREAM_MIB (default 1024) from one server to one client reading as fast as it can, every chunk
 *    the same preallocated Buffer. Contenders: bare node:http with `stream.pipeline(Readable.from(chunks()), res)`
 *    (the baseline); rxjet with an Observable body made by `pullable(chunks)`, which the writer pulls as the socket
 *    drains; rxjet with the async generator `chunks()` as a pull body; and, outside the targets, rxjet with a plain
 *    push Observable emitting one chunk per event-loop turn (setImmediate, so that it yields to I/O as a real push
 *    source would), with the default highWaterMark (1 MiB) and overflow ('error').
 *    The client is curl (`-o /dev/null`) if it is on the
 *    PATH, else a node:http client in a child process (BENCH_CLIENT=node forces it). After one warm-up run each (a
 *    quarter of the size, at most 256 MiB), the contenders are measured in alternating rounds (A B C A B C ...);
 *    reported are the median throughput in MiB/s (1 MiB = 1,048,576 bytes, from the bytes the client received and its
 *    total time), its ratio to the pipeline, and the server's median peak RSS. A run whose byte count is not the
 *    expected one, whose client fails, or whose server reports an error (such as a BodyOverflowError) counts as an
 *    error, and its throughput is left out of the median (null when no run delivered the whole body). Note that a
 *    producer emitting 64 KiB per event-loop turn can outrun even a client on loopback: then the push body ends with
 *    a BodyOverflowError, as documented, and the table says so.
 * 2. Slow reader: a client reading at BENCH_SLOW_RATE_KIB (default 1024 KiB/s) from a BENCH_SLOW_MIB (default 200)
 *    body for BENCH_SLOW_SECONDS (default 10), then disconnecting, from a fresh server each: rxjet with the async
 *    generator (pull) and rxjet with the push Observable, which produces far faster than the client reads. Here each
 *    chunk is a fresh copy, as a real source's data would be, so that what a server queues shows in its RSS (queued
 *    references to one shared Buffer would cost nothing), and the server forces a GC every 500 ms, so that its RSS
 *    shows what it holds rather than copies already sent that V8 has not yet collected (without it, a pull body's
 *    RSS grows by about what the client has read, until V8 collects). The client is a node:http client in a child
 *    process that pauses the response to keep to the rate counted from its start (curl's --limit-rate lets the first
 *    seconds run at two to three times the rate); socket buffers absorb a few MiB as well. Reported are the server's
 *    RSS when idle (after one small warm-up request and a forced GC), its peak during the run and the difference, and
 *    what happened: a pull body should follow the reader and be torn down at the disconnect; a push body should get
 *    at most highWaterMark ahead and then be ended with a BodyOverflowError (RXJET_ERR_BODY_OVERFLOW, seen by the
 *    server's onError; the client sees the early end once it has read what the socket buffers held, if it gets there
 *    before its time is up).
 *
 * The results are also written to bench/results/streaming-latest.json.
 *
 * Run:   npm run build && node --import tsx bench/streaming.ts
 * Quick: BENCH_ROUNDS=1 BENCH_WARMUP=0 BENCH_STREAM_MIB=128 BENCH_SLOW_SECONDS=4 node --import tsx bench/streaming.ts
 * Env:   BENCH_ROUNDS (default 5), BENCH_WARMUP (0 skips the warm-up runs), BENCH_STREAM_MIB (default 1024),
 *        BENCH_SLOW_MIB (default 200), BENCH_SLOW_RATE_KIB (default 1024), BENCH_SLOW_SECONDS (default 10),
 *        BENCH_CLIENT (curl or node; default curl if on the PATH)
 */
import { execFile } from 'node:child_process';
import { createServer, get } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Readable, pipeline } from 'node:stream';
import { Observable } from 'rxjs';
import * as lib from './lib.js';

const MIB = 1024 * 1024;
/** The one chunk every server sends over and over: 64 KiB, allocated once. */
const CHUNK = Buffer.alloc(64 * 1024, 'x');
/** rxjet's default highWaterMark, which the push body must stay within. */
const HIGH_WATER_MARK = MIB;
/** The throughput the run-time estimate assumes. */
const ASSUMED_MIB_PER_SECOND = 400;
/** How often a slow-reader server forces a GC, so that its RSS shows what it holds rather than uncollected copies. */
const SLOW_GC_MS = 500;

/** The servers, one kind per child process. */
const serverKinds = [{ id: 'pipeline' }, { id: 'observable' }, { id: 'pullable' }, { id: 'iterable' }] as const;

type ServerKind = (typeof serverKinds)[number]['id'];

const streamingContenders = [
  { id: 'pipeline', label: 'node:http pipeline', server: 'pipeline' },
  { id: 'rxjet-observable', label: 'rxjet (Observable from pullable())', server: 'pullable' },
  { id: 'rxjet-iterable', label: 'rxjet (async generator, pull)', server: 'iterable' },
  { id: 'rxjet-push', label: 'rxjet (push Observable, a chunk per turn)', server: 'observable' },
] as const;

const slowContenders = [
  { id: 'pull', label: 'rxjet pull (async generator)', server: 'iterable' },
  { id: 'push', label: 'rxjet push (Observable)', server: 'observable' },
] as const;

/** What a server counts between two `reset`s: bodies started, finished, torn down early, and errors by code. */
interface Tally {
  started: number;
  completed: number;
  tornDown: number;
  errors: Record<string, number>;
  /** Milliseconds from the start of the first body to the first error, if any. */
  firstErrorMs?: number;
  /** When the first body started (performance.now()), to time the first error. */
  startedAt?: number;
}

/** The answer to a `report` request. */
interface ReportMessage {
  type: 'report';
  /** The highest RSS since the last `reset` or `idle`, in bytes. */
  peakRss: number;
  rss: number;
  tally: Tally;
}

/** The answer to an `idle` request: the RSS after a forced GC, which becomes the start of the next peak. */
interface IdleMessage {
  type: 'idle';
  rss: number;
}

/** How one download went, as the client saw it. */
interface Download {
  bytes: number;
  seconds: number;
  /** `limit`: the client stopped at its time limit (the slow reader's disconnect); `early`: the response broke off. */
  ended: 'complete' | 'limit' | 'early';
  detail: string;
}

/** The answer of a node client child to a `go` request. */
interface DownloadMessage extends Download {
  type: 'download';
}

interface Client {
  name: string;
  /** Downloads `url`, at `rateKiB` KiB/s (0: as fast as it can), for at most `maxSeconds`. */
  download(url: string, rateKiB: number, maxSeconds: number): Promise<Download>;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server streaming bodies, reporting its memory and what its bodies did over IPC.
// ---------------------------------------------------------------------------------------------------------------

function newTally(): Tally {
  return { started: 0, completed: 0, tornDown: 0, errors: {} };
}

function countError(tally: Tally, error: unknown): void {
  const code = (error as { code?: unknown } | null)?.code;
  const key = typeof code === 'string' ? code : error instanceof Error ? error.name : String(error);
  tally.errors[key] = (tally.errors[key] ?? 0) + 1;
  if (tally.firstErrorMs === undefined && tally.startedAt !== undefined) {
    tally.firstErrorMs = Math.round(performance.now() - tally.startedAt);
  }
}

function startBody(tally: Tally): void {
  tally.started++;
  tally.startedAt ??= performance.now();
}

/** The body a request asks for. */
interface BodySpec {
  total: number;
  /** Whether each chunk is a fresh copy of CHUNK rather than CHUNK itself. */
  fresh: boolean;
}

/** The body a request asks for: its path is `/<bytes>`, or `/<bytes>/fresh` for fresh chunks. */
function requestedBody(path: string): BodySpec {
  const [, size = '', flag] = path.split('/');
  const bytes = Number(size);
  return { total: Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : 0, fresh: flag === 'fresh' };
}

/**
 * The next chunk of a body of which `sent` bytes are sent: CHUNK itself (or a piece of it at the end), or a fresh copy,
 * which costs memory for as long as it is queued, as a real source's data would.
 */
function nextChunk({ total, fresh }: BodySpec, sent: number): Buffer {
  const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
  return fresh ? Buffer.from(chunk) : chunk;
}

/** A pull body: an async generator of `spec.total` bytes, noting in `tally` whether it finished or was closed early. */
async function* pullChunks(spec: BodySpec, tally: Tally): AsyncGenerator<Buffer> {
  startBody(tally);
  let sent = 0;
  let finished = false;
  try {
    while (sent < spec.total) {
      const chunk = nextChunk(spec, sent);
      sent += chunk.length;
      yield chunk;
    }
    finished = true;
    tally.completed++;
  } finally {
    if (!finished) tally.tornDown++;
  }
}

/**
 * A push body: an Observable of `spec.total` bytes emitting one chunk per event-loop turn (setImmediate), so that it
 * yields to I/O between chunks but never waits for the client; it stops when unsubscribed.
 */
function pushChunks(spec: BodySpec, tally: Tally): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    startBody(tally);
    let sent = 0;
    let finished = false;
    let timer: NodeJS.Immediate | undefined;
    const step = (): void => {
      timer = undefined;
      if (sent >= spec.total) {
        finished = true;
        tally.completed++;
        subscriber.complete();
        return;
      }
      const chunk = nextChunk(spec, sent);
      sent += chunk.length;
      subscriber.next(chunk);
      if (!subscriber.closed) timer = setImmediate(step);
    };
    timer = setImmediate(step);
    return () => {
      if (timer !== undefined) clearImmediate(timer);
      if (!finished) tally.tornDown++;
    };
  });
}

/** The peak RSS of this process since the last reset: sampled every 50 ms, and exact when it is a new lifetime peak. */
class PeakRss {
  private peakBytes = 0;
  private maxRssKiB = 0;

  constructor() {
    setInterval(() => this.sample(), 50).unref();
    this.reset();
  }

  sample(): number {
    const rss = process.memoryUsage.rss();
    if (rss > this.peakBytes) this.peakBytes = rss;
    return rss;
  }

  /** Starts a new peak from the current RSS, which it returns. */
  reset(): number {
    this.peakBytes = 0;
    this.maxRssKiB = process.resourceUsage().maxRSS;
    return this.sample();
  }

  peak(): number {
    this.sample();
    // maxRSS (KiB) is the lifetime peak: if it grew since the reset, it is the peak of this run, to the byte.
    const maxRssKiB = process.resourceUsage().maxRSS;
    return maxRssKiB > this.maxRssKiB ? Math.max(this.peakBytes, maxRssKiB * 1024) : this.peakBytes;
  }
}

async function runServer(kind: ServerKind, periodicGc: boolean): Promise<void> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('the server process needs --expose-gc');
  if (periodicGc) setInterval(() => gc(), SLOW_GC_MS).unref();
  let tally = newTally();
  const memory = new PeakRss();
  const headers = { 'content-type': 'application/octet-stream' };
  let port: number;
  if (kind === 'pipeline') {
    const server = createServer((req, res) => {
      res.writeHead(200, headers);
      const body = Readable.from(pullChunks(requestedBody(req.url ?? '/'), tally));
      pipeline(body, res, (error) => {
        if (error) countError(tally, error);
      });
    });
    server.listen(0, '127.0.0.1');
    port = await lib.listeningPort(server);
  } else {
    // The built package, as users run it (build first).
    const { pullable, serve } = await import('../dist/server/index.js');
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (req) => {
        const spec = requestedBody(req.path);
        return {
          status: 200,
          headers,
          body:
            kind === 'observable'
              ? pushChunks(spec, tally)
              : kind === 'pullable'
                ? pullable(() => pullChunks(spec, tally))
                : pullChunks(spec, tally),
        };
      },
      onError: (error) => countError(tally, error),
    });
    port = server.port;
  }
  lib.answerRequests({
    reset: () => {
      tally = newTally();
      memory.reset();
      return { type: 'reset' };
    },
    idle: async (): Promise<IdleMessage> => {
      for (let i = 0; i < 3; i++) {
        gc();
        await lib.delay(50);
      }
      tally = newTally();
      return { type: 'idle', rss: memory.reset() };
    },
    report: (): ReportMessage => ({ type: 'report', peakRss: memory.peak(), rss: memory.sample(), tally }),
  });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Child: the node:http client (the slow reader, and the fast one when curl is not on the PATH).
// ---------------------------------------------------------------------------------------------------------------

/** Downloads `url` with node:http, pausing the response to read at `rateKiB` KiB/s (0: as fast as it can). */
function nodeDownload(url: string, rateKiB: number, maxSeconds: number): Promise<Download> {
  return new Promise((resolve) => {
    const start = performance.now();
    let bytes = 0;
    let settled = false;
    const finish = (ended: Download['ended'], detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(limit);
      const seconds = (performance.now() - start) / 1000;
      req.destroy();
      resolve({ bytes, seconds, ended, detail });
    };
    const req = get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) finish('early', `status ${res.statusCode ?? '?'}`);
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (rateKiB <= 0) return;
        const wait = start + (bytes / (rateKiB * 1024)) * 1000 - performance.now();
        if (wait > 1) {
          res.pause();
          setTimeout(() => res.resume(), wait);
        }
      });
      res.on('end', () => finish('complete', ''));
      res.on('error', (error) => finish('early', error.message));
      res.on('close', () => finish(res.complete ? 'complete' : 'early', 'the connection closed early'));
    });
    req.on('error', (error) => finish('early', error.message));
    const limit = setTimeout(() => finish('limit', `stopped after ${maxSeconds} s`), maxSeconds * 1000);
  });
}

function runClient(args: string[]): void {
  const [url = '', rate = '0', seconds = '0'] = args;
  lib.answerRequests({
    go: async (): Promise<DownloadMessage> => ({
      type: 'download',
      ...(await nodeDownload(url, Number(rate), Number(seconds))),
    }),
  });
  lib.sendReady(0);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: clients.
// ---------------------------------------------------------------------------------------------------------------

const CURL_ERRORS: Record<number, string> = {
  7: 'could not connect',
  18: 'transfer closed with outstanding read data remaining',
  28: 'time limit reached',
  52: 'empty reply',
  56: 'failure receiving data (connection reset)',
};

const curl: Client = {
  name: 'curl',
  download(url, rateKiB, maxSeconds) {
    const args = ['-s', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', '--max-time', String(maxSeconds)];
    if (rateKiB > 0) args.push('--limit-rate', `${rateKiB}K`);
    args.push(url);
    return new Promise((resolve, reject) => {
      execFile('curl', args, { timeout: (maxSeconds + 30) * 1000 }, (error, stdout, stderr) => {
        const [bytes, seconds] = stdout.trim().split(' ').map(Number);
        if (bytes === undefined || seconds === undefined || Number.isNaN(bytes) || Number.isNaN(seconds)) {
          reject(new Error(`curl ${url} failed: ${error?.message ?? 'no output'}\n${stderr}`));
          return;
        }
        // A number is curl's exit status; anything else (killed, not started) is a failure of its own.
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        const detail =
          code === 0
            ? ''
            : code === -1
              ? `curl failed: ${error?.message ?? ''}`
              : `curl exit ${code}${code in CURL_ERRORS ? ` (${CURL_ERRORS[code]!})` : ''}`;
        resolve({ bytes, seconds, ended: code === 0 ? 'complete' : code === 28 ? 'limit' : 'early', detail });
      });
    });
  },
};

const nodeClient: Client = {
  name: 'node:http (child process)',
  async download(url, rateKiB, maxSeconds) {
    const { child } = await lib.startChild(import.meta.url, 'client', [
      'client',
      url,
      String(rateKiB),
      String(maxSeconds),
    ]);
    try {
      const answer = lib.nextMessage<DownloadMessage>(child, 'download', 'download', (maxSeconds + 30) * 1000);
      child.send({ type: 'go' });
      const { bytes, seconds, ended, detail } = await answer;
      return { bytes, seconds, ended, detail };
    } finally {
      lib.killChild(child);
    }
  },
};

async function pickClient(): Promise<Client> {
  const wanted = process.env.BENCH_CLIENT ?? '';
  if (wanted === 'node') return nodeClient;
  const hasCurl = await lib.exec('sh', ['-c', 'command -v curl']).then(
    () => true,
    () => false,
  );
  if (wanted === 'curl' && !hasCurl) throw new Error('BENCH_CLIENT=curl, but curl is not on the PATH');
  if (wanted !== '' && wanted !== 'curl') throw new Error(`BENCH_CLIENT must be curl or node, got ${wanted}`);
  return hasCurl ? curl : nodeClient;
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the scenarios.
// ---------------------------------------------------------------------------------------------------------------

/** Starts a server of `kind` in a child process; `periodicGc` makes it force a GC every SLOW_GC_MS. */
function startServer(kind: ServerKind, periodicGc = false): Promise<lib.ChildServer> {
  const args = periodicGc ? [kind, 'periodic-gc'] : [kind];
  return lib.startChild(import.meta.url, `${kind} server`, args, ['--expose-gc']);
}

function report(server: lib.ChildServer): Promise<ReportMessage> {
  return lib.ask<ReportMessage>(server.child, 'report', 'report', 'peak memory');
}

function mib(bytes: number): number {
  return bytes / MIB;
}

function round1(value: number): number {
  return Number(value.toFixed(1));
}

function describeErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([code, count]) => (count === 1 ? code : `${code} x${count}`))
    .join(', ');
}

function tallyErrors(tally: Tally): number {
  return Object.values(tally.errors).reduce((sum, n) => sum + n, 0);
}

interface StreamSample {
  mibPerSecond: number;
  peakRssMiB: number;
  errors: number;
  /** What went wrong, if anything. */
  problems: string[];
}

/** One download of `bytes` from `server` at full speed, with the server's peak RSS during it. */
async function stream(client: Client, server: lib.ChildServer, bytes: number): Promise<StreamSample> {
  await lib.ask(server.child, 'reset', 'reset');
  const result = await client.download(`http://127.0.0.1:${server.port}/${bytes}`, 0, 600);
  const { peakRss, tally } = await report(server);
  const problems: string[] = [];
  if (result.ended !== 'complete') problems.push(result.detail || result.ended);
  if (result.bytes !== bytes) problems.push(`received ${result.bytes} of ${bytes} bytes`);
  if (tallyErrors(tally) > 0) problems.push(`server: ${describeErrors(tally.errors)}`);
  return {
    mibPerSecond: result.seconds > 0 ? mib(result.bytes) / result.seconds : 0,
    peakRssMiB: mib(peakRss),
    errors: (result.ended === 'complete' ? 0 : 1) + (result.bytes === bytes ? 0 : 1) + tallyErrors(tally),
    problems,
  };
}

interface SlowResult {
  id: (typeof slowContenders)[number]['id'];
  label: string;
  idleRssMiB: number;
  peakRssMiB: number;
  peakAboveIdleMiB: number;
  /** What the client read, and in how long. */
  readMiB: number;
  readSeconds: number;
  clientEnd: Download['ended'];
  clientDetail: string;
  serverErrors: Record<string, number>;
  /** Milliseconds from the start of the body to the server's first error (the overflow), or null. */
  serverErrorAfterMs: number | null;
  bodyTornDown: boolean;
  overflowed: boolean;
  outcome: string;
  errors: number;
}

/** One slow reader against a fresh server of `contender`'s kind, for at most `seconds`. */
async function slowReader(
  client: Client,
  contender: (typeof slowContenders)[number],
  totalBytes: number,
  rateKiB: number,
  seconds: number,
): Promise<SlowResult> {
  const server = await startServer(contender.server, true);
  try {
    const url = `http://127.0.0.1:${server.port}`;
    // One small request first, so that the idle figure already includes what serving the first request loads.
    await client.download(`${url}/${4 * MIB}/fresh`, 0, 30);
    await lib.delay(200);
    const idle = await lib.ask<IdleMessage>(server.child, 'idle', 'idle', 'idle memory');
    const result = await nodeClient.download(`${url}/${totalBytes}/fresh`, rateKiB, seconds);
    // Let the server notice the disconnect and tear the body down.
    await lib.delay(500);
    const { peakRss, tally } = await report(server);

    const overflows = tally.errors.RXJET_ERR_BODY_OVERFLOW ?? 0;
    const otherErrors = tallyErrors(tally) - overflows;
    const readMiB = mib(result.bytes);
    const parts: string[] = [];
    let errors = otherErrors;
    if (overflows > 0) {
      const when = tally.firstErrorMs === undefined ? '' : ` ${tally.firstErrorMs} ms after the body began`;
      parts.push(`the server destroyed the response${when} with a BodyOverflowError (RXJET_ERR_BODY_OVERFLOW)`);
    }
    if (otherErrors > 0) parts.push(`server errors: ${describeErrors(tally.errors)}`);
    const read = `the client read ${readMiB.toFixed(1)} MiB in ${result.seconds.toFixed(1)} s`;
    const rate = `${(readMiB / result.seconds).toFixed(2)} MiB/s`;
    if (result.ended === 'limit') {
      parts.push(`${read} (${rate}), then disconnected`);
    } else if (result.ended === 'early') {
      parts.push(`${read} (${rate}), then the response ended early (${result.detail})`);
      if (overflows === 0) errors++;
    } else {
      parts.push(`${read}: the whole body`);
      errors++;
    }
    parts.push(tally.tornDown > 0 ? 'the body was torn down' : 'the body was NOT torn down');
    const outcome = parts.join('; ');
    if (tally.tornDown === 0 && tally.completed === 0) errors++;

    const idleRssMiB = mib(idle.rss);
    const peakRssMiB = mib(Math.max(peakRss, idle.rss));
    return {
      id: contender.id,
      label: contender.label,
      idleRssMiB: round1(idleRssMiB),
      peakRssMiB: round1(peakRssMiB),
      peakAboveIdleMiB: round1(peakRssMiB - idleRssMiB),
      readMiB: round1(readMiB),
      readSeconds: round1(result.seconds),
      clientEnd: result.ended,
      clientDetail: result.detail,
      serverErrors: tally.errors,
      serverErrorAfterMs: tally.firstErrorMs ?? null,
      bodyTornDown: tally.tornDown > 0,
      overflowed: overflows > 0,
      outcome,
      errors,
    };
  } finally {
    lib.killChild(server.child);
  }
}

async function runParent(): Promise<void> {
  const rounds = lib.envInt('BENCH_ROUNDS', 5, 1);
  const warmup = lib.envInt('BENCH_WARMUP', 2, 0) > 0;
  const streamMiB = lib.envInt('BENCH_STREAM_MIB', 1024, 1);
  const slowMiB = lib.envInt('BENCH_SLOW_MIB', 200, 1);
  const rateKiBps = lib.envInt('BENCH_SLOW_RATE_KIB', 1024, 1);
  const slowSeconds = lib.envInt('BENCH_SLOW_SECONDS', 10, 1);
  const client = await pickClient();

  const warmupMiB = warmup ? Math.min(256, Math.ceil(streamMiB / 4)) : 0;
  const streamedMiB = streamingContenders.length * (warmupMiB + rounds * streamMiB);
  const estimate = Math.ceil(streamedMiB / ASSUMED_MIB_PER_SECOND + 2 + slowContenders.length * (slowSeconds + 3));
  console.log(
    `rxjet streaming benchmark: client ${client.name}; ${streamMiB} MiB at full speed, ${rounds} round(s)` +
      `${warmup ? `, ${warmupMiB} MiB warm-up` : ''}; then ${slowMiB} MiB read at ${rateKiBps} KiB/s for ` +
      `${slowSeconds} s by a ${nodeClient.name} (about ${estimate} s at ${ASSUMED_MIB_PER_SECOND} MiB/s)`,
  );

  // Whatever happens, do not outlive the run by much.
  lib.watchdog(estimate * 4 + 180);

  // 1. Streaming at full speed.
  const streamBytes = streamMiB * MIB;
  const servers = await Promise.all(streamingContenders.map((c) => startServer(c.server)));
  if (warmup) {
    for (const server of servers) await stream(client, server, warmupMiB * MIB);
  }
  const samples = await lib.measureRounds(
    streamingContenders,
    rounds,
    (i) => stream(client, servers[i]!, streamBytes),
    (sample) => sample.mibPerSecond,
  );
  for (const { child } of servers) lib.killChild(child);

  // Only the runs that delivered the whole body count towards the median throughput.
  const medians = samples.map((s) => {
    const complete = s.filter((x) => x.errors === 0);
    return complete.length === 0 ? null : lib.median(complete.map((x) => x.mibPerSecond));
  });
  const baseline = medians[0];
  const streamingResults = streamingContenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianMiBps: medians[i] === null ? null : round1(medians[i]!),
    ratio: medians[i] === null || baseline === null ? null : lib.ratio(medians[i]!, baseline!),
    medianPeakRssMiB: round1(lib.median(samples[i]!.map((x) => x.peakRssMiB))),
    /** Every run's throughput, those with errors included (they delivered only part of the body). */
    samples: samples[i]!.map((x) => round1(x.mibPerSecond)),
    completeRuns: samples[i]!.filter((x) => x.errors === 0).length,
    peakRssMiB: samples[i]!.map((x) => round1(x.peakRssMiB)),
    errors: lib.totalErrors(samples[i]!),
    problems: [...new Set(samples[i]!.flatMap((x) => x.problems))],
  }));

  // 2. A slow reader, one fresh server each.
  const slowResults: SlowResult[] = [];
  for (const contender of slowContenders) {
    const result = await slowReader(client, contender, slowMiB * MIB, rateKiBps, slowSeconds);
    slowResults.push(result);
    console.log(`  slow reader, ${contender.label}: +${result.peakAboveIdleMiB} MiB RSS; ${result.outcome}`);
  }

  const meta = { ...lib.machine(), client: client.name, rounds, warmupMiB };
  const streaming = { totalMiB: streamMiB, chunkKiB: CHUNK.length / 1024, unit: 'MiB/s', results: streamingResults };
  const slowReaderData = {
    client: nodeClient.name,
    totalMiB: slowMiB,
    rateKiBps,
    seconds: slowSeconds,
    highWaterMarkMiB: HIGH_WATER_MARK / MIB,
    freshChunks: true,
    gcEveryMs: SLOW_GC_MS,
    overflow: 'error',
    results: slowResults,
  };

  lib.printMachine(meta);
  console.log();
  console.log(`Streaming ${streamMiB} MiB in ${streaming.chunkKiB} KiB chunks to ${client.name}, as fast as it reads`);
  lib.printTable([
    ['contender', 'median MiB/s', 'vs pipeline', 'server peak RSS', 'complete runs', 'errors'],
    ...streamingResults.map((r) => [
      r.label,
      r.medianMiBps === null ? 'n/a' : r.medianMiBps.toFixed(0),
      r.ratio === null ? 'n/a' : `${r.ratio.toFixed(2)}x`,
      `${r.medianPeakRssMiB.toFixed(1)} MiB`,
      `${r.completeRuns}/${rounds}`,
      String(r.errors),
    ]),
  ]);
  for (const r of streamingResults) {
    if (r.problems.length > 0) console.log(`  ${r.label}: ${r.problems.join('; ')}`);
  }
  console.log();
  console.log(
    `Slow reader: ${rateKiBps} KiB/s from a ${slowMiB} MiB body for ${slowSeconds} s, then disconnecting ` +
      `(fresh 64 KiB chunks, a GC every ${SLOW_GC_MS} ms; highWaterMark ${slowReaderData.highWaterMarkMiB} MiB, ` +
      `overflow 'error')`,
  );
  lib.printTable([
    ['contender', 'idle RSS', 'peak RSS', 'peak - idle', 'read', 'ended', 'errors'],
    ...slowResults.map((r) => [
      r.label,
      `${r.idleRssMiB.toFixed(1)} MiB`,
      `${r.peakRssMiB.toFixed(1)} MiB`,
      `${r.peakAboveIdleMiB.toFixed(1)} MiB`,
      `${r.readMiB.toFixed(1)} MiB in ${r.readSeconds.toFixed(1)} s`,
      r.overflowed ? 'BodyOverflowError' : r.clientEnd === 'limit' ? 'client disconnected' : r.clientEnd,
      String(r.errors),
    ]),
  ]);
  for (const r of slowResults) console.log(`  ${r.label}: ${r.outcome}`);
  if (streamingResults.some((r) => r.errors > 0) || slowResults.some((r) => r.errors > 0)) {
    console.log('\nWarning: some runs had errors.');
  }

  await lib.writeResults('streaming', { ...meta, streaming, slowReader: slowReaderData });
}

await lib.main(async (args) => {
  if (args[0] === 'client') runClient(args.slice(1));
  else await runServer(lib.contenderId(serverKinds, args[0]), args[1] === 'periodic-gc');
}, runParent);
