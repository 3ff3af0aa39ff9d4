/**
 * Hello-world latency of rxjet against bare node:http at a fixed request rate.
 *
 * Two contenders answer GET / with `hello world` as text/plain: a bare `node:http` server (the baseline) and rxjet
 * with a handler returning an Observable of the response. Each server runs in its own child process, and the load
 * generator, the same for both, in a third.
 *
 * 1. The rate: an autocannon run at full speed (BENCH_LATENCY_SEARCH seconds, BENCH_CONNECTIONS connections, in a
 *    process of its own) finds what the bare server can do; the fixed rate is half of that, so that neither server
 *    is saturated and what is measured is the time a request spends in the server rather than in a queue.
 * 2. The runs: the generator sends GET / at that rate for BENCH_SECONDS over BENCH_CONNECTIONS keep-alive
 *    connections, all opened before the run and used in turn (an undici RoundRobinPool), so that none is set up or
 *    goes idle during it. After one warm-up run each, the contenders are measured in alternating rounds (A B A B).
 * 3. The report: for each contender the medians over the rounds of the 50th and 99th percentile latencies, the
 *    ratio of rxjet's p99 to node:http's (the target is at most 1.1x), the rate achieved (correct responses per
 *    second until the last one; flagged below 98% of the target, as the server or the generator did not keep up and
 *    the latencies include queueing) and the errors. The results are also written to
 *    bench/results/latency-latest.json.
 *
 * Why not autocannon for the runs (its -R/--overallRate): its latencies are whole milliseconds (an integer HDR
 * histogram: a hello-world request takes a fraction of one, so p50 and p99 come out as 0, 1 or 2 ms and their ratio
 * means nothing), and its rate limit is per connection and per second: each connection sends its share of a
 * second's requests back to back at the start of the second, then waits for the next one, so the servers get
 * bursts rather than a steady rate; its coordinated-omission correction then adds synthetic samples every 1 ms of
 * each response beyond 1 ms (3 recorded latencies per request in a 2,000 req/s trial).
 *
 * So this script has its own generator. Request i is due at start + i / rate (process.hrtime.bigint) and is sent as
 * soon as the generator notices: after every response, and on a timer in between; each latency is measured in
 * microseconds, from the moment the request is handed to the pool to the end of its body (checked), through
 * undici's low-level dispatch API, which costs little per request. A request sent while every connection is busy
 * waits in the pool, and that wait counts, so a slow server cannot hide its queue (coordinated omission). Node's
 * timers fire after 1 ms at best, so when responses are sparse the requests leave in small batches a millisecond
 * apart; how late the generator sent 1% of its requests is flagged beyond 2 ms. BENCH_LATENCY_SPIN=1 instead
 * polls on every turn of the event loop, for exact intervals and a generator that never sleeps (lower latencies
 * for both, as no wake-up is measured), at the cost of a whole core: on a machine with only 2 cores the server
 * then competes for the CPU, and p99 measures the scheduler, which is why it is not the default.
 *
 * Run:   npm run bench:latency (about 1.5 minutes with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=2 BENCH_WARMUP=1 npm run bench:latency
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 6), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50), BENCH_LATENCY_RATE requests per second (default: half the bare server's
 *        maximum, then not measured), BENCH_LATENCY_SEARCH seconds of that measurement (default 3),
 *        BENCH_LATENCY_SPIN=1 to pace on every turn of the event loop rather than on a timer
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Dispatcher, RoundRobinPool } from 'undici';
import * as lib from './lib.js';

const contenders = [
  { id: 'node', label: 'node:http' },
  { id: 'rxjet', label: 'rxjet (Observable)' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

/** The child argument that makes a child the load generator rather than a server. */
const GENERATOR = 'generator';

/** The p99 ratio of rxjet to node:http the issue asks for. */
const TARGET_RATIO = 1.1;

/** Below this share of the target rate, a run did not really run at the fixed rate. */
const RATE_TOLERANCE = 0.98;

/** Beyond this lateness at p99 (timers fire at 1 ms at best), the generator's pacing is flagged. */
const LAG_TOLERANCE_MS = 2;

/** The parent's order to the generator: one run against one server. */
interface RunMessage {
  type: 'run';
  url: string;
  rate: number;
  seconds: number;
  connections: number;
  /** Whether to wait for each request's time by spinning on the event loop rather than on a timer. */
  spin: boolean;
}

/** One run's figures, the generator's answer to a `run` order. */
interface Sample {
  p50Ms: number;
  p99Ms: number;
  /** Correct responses per second, from the first scheduled request to the last response. */
  achievedRate: number;
  /** How late the generator sent its requests at p99, in milliseconds: its own precision. */
  lagP99Ms: number;
  /** Share of one core the generator used during the run: near 1, its timing cannot be trusted. */
  generatorBusy: number;
  /** Failed requests, timeouts, non-200 statuses and wrong bodies. */
  errors: number;
}

interface ResultMessage extends Sample {
  type: 'result';
}

// ---------------------------------------------------------------------------------------------------------------
// Children: a server, or the load generator.
// ---------------------------------------------------------------------------------------------------------------

const servers: Record<ContenderId, () => Promise<number>> = {
  async node() {
    return (await lib.startHelloServer()).port;
  },

  rxjet: () => lib.startRxjetHello('observable'),
};

/** The value below which a share `q` of the sorted values lie (nearest rank). */
function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Microseconds to milliseconds, to the microsecond. */
function ms(micros: number): number {
  return Number((micros / 1000).toFixed(3));
}

/**
 * One request, handled through undici's low-level dispatch API: no promise and no body stream per request, so that
 * the generator spends as little as it can on each and keeps its timing.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private status = 0;
  private body = '';

  constructor(private readonly settle: (good: boolean) => void) {}

  onRequestStart(): void {
    // Marks this as a handler of the current API; nothing to do.
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.body += chunk.toString('latin1');
  }

  onResponseEnd(): void {
    this.settle(this.status === 200 && this.body === lib.HELLO);
  }

  onResponseError(): void {
    this.settle(false);
  }
}

/** Sends one GET /; calls `settle` with whether the response was the expected one. */
function hello(pool: RoundRobinPool, settle: (good: boolean) => void): void {
  pool.dispatch({ path: '/', method: 'GET' }, new Exchange(settle));
}

/** Sends `rate` requests per second for `seconds` to `url` over `connections` connections; measures each. */
async function generate({ url, rate, seconds, connections, spin }: RunMessage): Promise<Sample> {
  // Imported here, by the load generator: the server children run this file too, and carry only what they measure.
  const { RoundRobinPool } = await import('undici');
  const pool = new RoundRobinPool(url, {
    connections,
    pipelining: 1,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  try {
    // Open every connection first (one request on each at once), so that no connection is set up during the run.
    const opened = await Promise.all(
      Array.from({ length: connections }, () => new Promise<boolean>((resolve) => hello(pool, resolve))),
    );
    if (!opened.every(Boolean)) throw new Error(`${url} did not answer ${JSON.stringify(lib.HELLO)}`);

    const total = Math.max(1, Math.round(rate * seconds));
    const intervalNs = 1e9 / rate;
    const latencies = new Float64Array(total);
    const lags = new Float64Array(total);
    let sent = 0;
    let finished = 0;
    let ok = 0;
    let errors = 0;
    let waiting = false;
    const cpuBefore = process.cpuUsage();
    const start = process.hrtime.bigint();
    let last = start;

    return await new Promise<Sample>((resolve) => {
      const send = (): void => {
        const begin = process.hrtime.bigint();
        hello(pool, (good) => {
          const end = process.hrtime.bigint();
          if (good) {
            latencies[ok++] = Number(end - begin) / 1000;
            last = end;
          } else {
            errors++;
          }
          finished++;
          if (finished === total) done();
          else pump();
        });
      };

      // Sends every request whose time has come, then waits for the next one's time or a response, whichever comes
      // first: on a timer (at least 1 ms), or with `spin` on the next turn of the event loop.
      const pump = (): void => {
        let now = Number(process.hrtime.bigint() - start);
        while (sent < total && sent * intervalNs <= now) {
          lags[sent] = (now - sent * intervalNs) / 1000;
          sent++;
          send();
          now = Number(process.hrtime.bigint() - start);
        }
        if (sent === total || waiting) return;
        waiting = true;
        if (spin) setImmediate(wake);
        else setTimeout(wake, Math.floor((sent * intervalNs - now) / 1e6));
      };
      const wake = (): void => {
        waiting = false;
        pump();
      };

      const done = (): void => {
        const sorted = latencies.subarray(0, ok).sort();
        const elapsed = Number(last - start) / 1e9;
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          p50Ms: ms(percentile(sorted, 0.5)),
          p99Ms: ms(percentile(sorted, 0.99)),
          achievedRate: elapsed > 0 ? Math.round(ok / elapsed) : 0,
          lagP99Ms: ms(percentile(lags.sort(), 0.99)),
          generatorBusy: elapsed > 0 ? Number(((cpu.user + cpu.system) / 1e6 / elapsed).toFixed(3)) : 0,
          errors,
        });
      };

      pump();
    });
  } finally {
    await pool.close();
  }
}

async function runGenerator(): Promise<void> {
  process.on('message', (message: RunMessage) => {
    if (message.type !== 'run') return;
    generate(message).then(
      (sample) => {
        const result: ResultMessage = { type: 'result', ...sample };
        process.send?.(result);
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
  lib.sendReady(0);
}

async function runChild(args: string[]): Promise<void> {
  if (args[0] === GENERATOR) await runGenerator();
  else lib.sendReady(await servers[lib.contenderId(contenders, args[0])]());
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: find the rate, start the servers and the generator, drive the runs, report.
// ---------------------------------------------------------------------------------------------------------------

/** Has the generator run `order` and resolves with its figures. */
function run(generator: ChildProcess, order: Omit<RunMessage, 'type'>): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const finish = (): void => {
      clearTimeout(timer);
      generator.off('message', onMessage);
      generator.off('exit', onExit);
    };
    const timer = setTimeout(
      () => {
        finish();
        reject(new Error(`the load generator did not finish a ${order.seconds} s run within ${order.seconds + 60} s`));
      },
      (order.seconds + 60) * 1000,
    );
    const onMessage = (message: ResultMessage): void => {
      if (message.type !== 'result') return;
      finish();
      resolve(message);
    };
    const onExit = (): void => {
      finish();
      reject(new Error('the load generator exited during a run'));
    };
    generator.on('message', onMessage);
    generator.once('exit', onExit);
    const message: RunMessage = { type: 'run', ...order };
    generator.send(message);
  });
}

/** The bare server's requests per second at full speed, measured with autocannon in a process of its own. */
async function maximumRate(url: string, seconds: number, connections: number): Promise<number> {
  const bin = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));
  if (!existsSync(bin)) throw new Error('autocannon is not installed: run npm install, or set BENCH_LATENCY_RATE.');
  const out = await lib.exec(bin, ['-j', '-c', String(connections), '-d', String(seconds), url], (seconds + 30) * 1000);
  const result = JSON.parse(out) as { requests: { average: number }; non2xx: number; errors: number; timeouts: number };
  const errors = result.non2xx + result.errors + result.timeouts;
  if (errors > 0) console.log(`  warning: ${errors} error(s) while finding the maximum rate`);
  return result.requests.average;
}

/** A run's figures, for the line of its round. */
function describe(sample: Sample): string {
  return `p50 ${sample.p50Ms.toFixed(3)} ms, p99 ${sample.p99Ms.toFixed(3)} ms, ${sample.achievedRate} req/s`;
}

async function runParent(): Promise<void> {
  const rounds = lib.envInt('BENCH_ROUNDS', 5, 1);
  const seconds = lib.envInt('BENCH_SECONDS', 6, 1);
  const warmup = lib.envInt('BENCH_WARMUP', 2, 0);
  const connections = lib.envInt('BENCH_CONNECTIONS', 50, 1);
  const fixedRate = lib.envInt('BENCH_LATENCY_RATE', 0, 0);
  const search = lib.envInt('BENCH_LATENCY_SEARCH', 3, 1);
  const spin = lib.envInt('BENCH_LATENCY_SPIN', 0, 0) > 0;

  const estimate = (fixedRate > 0 ? 0 : search) + contenders.length * (warmup + rounds * seconds) + 5;
  console.log(
    `rxjet latency benchmark: ${connections} connections, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up, ${spin ? 'spinning' : 'timer'} pacing (about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 60);

  const [generator, ...servers] = await Promise.all([
    lib.startChild(import.meta.url, 'the load generator', [GENERATOR]),
    ...contenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])),
  ]);
  const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);

  let maxRate: number | null = null;
  let rate = fixedRate;
  if (rate === 0) {
    maxRate = Math.round(await maximumRate(`${urls[0]!}/`, search, connections));
    rate = Math.max(1, Math.round(maxRate / 2));
    console.log(`  node:http maximum: ${maxRate} req/s with autocannon; fixed rate: ${rate} req/s`);
  } else {
    console.log(`  fixed rate: ${rate} req/s (BENCH_LATENCY_RATE)`);
  }

  const measure = (i: number, runSeconds: number): Promise<Sample> =>
    run(generator.child, { url: urls[i]!, rate, seconds: runSeconds, connections, spin });

  if (warmup > 0) {
    for (const [i, contender] of contenders.entries()) {
      const sample = await measure(i, warmup);
      if (sample.errors > 0) console.log(`  warm-up ${contender.label}: ${sample.errors} error(s)`);
    }
  }

  const samples: Sample[][] = contenders.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    const line: string[] = [];
    for (const [i, contender] of contenders.entries()) {
      const sample = await measure(i, seconds);
      samples[i]!.push(sample);
      line.push(`${contender.label} ${describe(sample)}`);
    }
    console.log(`  round ${round}/${rounds}: ${line.join('; ')}`);
  }

  const p99s = samples.map((s) => lib.median(s.map((x) => x.p99Ms)));
  const results = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    p50Ms: lib.median(samples[i]!.map((s) => s.p50Ms)),
    p99Ms: p99s[i]!,
    p99Ratio: lib.ratio(p99s[i]!, p99s[0]!),
    achievedRate: Math.round(lib.median(samples[i]!.map((s) => s.achievedRate))),
    samples: { p50Ms: samples[i]!.map((s) => s.p50Ms), p99Ms: samples[i]!.map((s) => s.p99Ms) },
    errors: lib.totalErrors(samples[i]!),
  }));

  const meta = { ...lib.machine(), rate, rounds, seconds, connections };
  const below = (sample: Sample): boolean => sample.achievedRate < rate * RATE_TOLERANCE;

  lib.printMachine(meta);
  console.log(`${rate.toLocaleString('en-US')} requests/s over ${connections} connections`);
  lib.printTable([
    ['contender', 'median p50', 'median p99', 'p99 vs node:http', 'achieved req/s', 'errors'],
    ...results.map((r) => [
      r.label,
      `${r.p50Ms.toFixed(3)} ms`,
      `${r.p99Ms.toFixed(3)} ms`,
      `${r.p99Ratio.toFixed(2)}x`,
      `${r.achievedRate < rate * RATE_TOLERANCE ? '(below target) ' : ''}${r.achievedRate.toLocaleString('en-US')}`,
      String(r.errors),
    ]),
  ]);

  const rxjet = results[1]!;
  console.log(
    `\nrxjet p99 is ${rxjet.p99Ratio.toFixed(2)}x node:http's (target <= ${TARGET_RATIO}x): ` +
      (rxjet.p99Ratio <= TARGET_RATIO ? 'met.' : 'NOT met.'),
  );
  const slow = results.filter((_, i) => samples[i]!.some(below));
  if (slow.length > 0) {
    console.log(
      `Warning: some runs of ${slow.map((r) => r.label).join(', ')} fell below ${RATE_TOLERANCE * 100}% of ` +
        `${rate} req/s: the server or the generator could not keep up, so those latencies include queueing.`,
    );
  }
  const late = Math.max(...samples.flat().map((s) => s.lagP99Ms));
  if (late > LAG_TOLERANCE_MS) {
    console.log(
      `Warning: in some runs the generator sent 1% of its requests over ${late.toFixed(1)} ms late, so the load ` +
        'came in bursts: the machine may be too busy for these figures.',
    );
  }
  if (!spin && samples.flat().some((s) => s.generatorBusy > 0.9)) {
    console.log(
      'Warning: the generator used over 90% of a core in some runs: its timing may not hold; lower the rate.',
    );
  }
  if (results.some((r) => r.errors > 0)) console.log('Warning: some runs had errors or unexpected responses.');

  await lib.writeResults('latency', { ...meta, warmup, maxRate, pacing: spin ? 'spin' : 'timer', results });
}

await lib.main(runChild, runParent);
