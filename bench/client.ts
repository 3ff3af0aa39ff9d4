/**
 * HTTP client throughput of rxjet against undici, global fetch and node:http.
 *
 * One bare `node:http` server answering `hello world` runs in a child process; this process is the client. Five
 * contenders each keep BENCH_CONNECTIONS requests in flight (that many loops, each sending its next GET as soon as
 * the previous response body has been read), over a pool of that many keep-alive connections:
 * `undici.request` with an undici Agent (the baseline), rxjet `get` reading the streamed body Observable to its end,
 * rxjet `get` with `as: 'text'`, global `fetch` with `res.text()`, and `http.get` with a keep-alive http.Agent.
 * After one warm-up run each (which also fills the pools), the contenders are measured in alternating rounds
 * (A B C D E A B ...) and the median requests per second of each is reported, with its ratio to undici.request and
 * the median CPU time this process spent per request. The results are also written to
 * bench/results/client-latest.json.
 *
 * Run:   npm run build && node --import tsx bench/client.ts
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 node --import tsx bench/client.ts
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, get as httpGet } from 'node:http';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, type Observable } from 'rxjs';
import { Agent as UndiciAgent, request as undiciRequest } from 'undici';
import { createClient, get } from '../dist/client/index.js';

const BODY = 'hello world';
const CHILD_FLAG = '--bench-child';

const contenders = [
  { id: 'undici', label: 'undici.request' },
  { id: 'rxjet-stream', label: 'rxjet get (streamed body)' },
  { id: 'rxjet-text', label: "rxjet get (as: 'text')" },
  { id: 'fetch', label: 'fetch' },
  { id: 'node', label: 'node:http get' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

interface ReadyMessage {
  type: 'ready';
  port: number;
}

/** Parent to child: report the CPU time used so far. */
interface RequestMessage {
  type: 'cpu';
}

interface CpuMessage {
  type: 'cpu';
  /** User plus system CPU time of the server process so far, in microseconds. */
  micros: number;
}

type ChildMessage = ReadyMessage | CpuMessage;

interface Sample {
  requestsPerSecond: number;
  /** CPU time this (client) process spent per completed request, in microseconds. */
  clientMicrosPerRequest: number;
  /** Share of one core the server process used during the run: near 1, the server was the limit. */
  serverBusy: number;
  /** Failed requests, non-200 statuses and wrong bodies. */
  errors: number;
}

/** One contender: sends one request and reads its body, throwing if anything is not as expected. */
interface Runner {
  once(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: the server, reporting its port and, when asked, its CPU time over IPC.
// ---------------------------------------------------------------------------------------------------------------

async function runChild(): Promise<void> {
  // Exit as soon as the parent goes away, however it ends.
  process.on('disconnect', () => process.exit(0));
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(BODY);
  });
  // Idle connections stay open between a contender's rounds (the server advertises this to the clients).
  server.keepAliveTimeout = 120_000;
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no port'));
      else resolve(address.port);
    });
  });
  process.on('message', (message: RequestMessage) => {
    if (message.type !== 'cpu') return;
    const { user, system } = process.cpuUsage();
    const cpu: CpuMessage = { type: 'cpu', micros: user + system };
    process.send?.(cpu);
  });
  const ready: ReadyMessage = { type: 'ready', port };
  process.send?.(ready);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the server, run the clients, report.
// ---------------------------------------------------------------------------------------------------------------

function envInt(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  children.clear();
}

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== 'ready') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve({ child, port: message.port });
    };
    child.on('message', onMessage);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the server exited early (code ${code ?? 'none'}, signal ${signal ?? 'none'})`));
    });
  });
}

/** Asks the server process for the CPU time it has used, in microseconds. */
function serverCpu(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('the server did not report its CPU time within 30 s'));
    }, 30_000);
    const onMessage = (message: ChildMessage): void => {
      if (message.type !== 'cpu') return;
      done();
      resolve(message.micros);
    };
    const onExit = (): void => {
      done();
      reject(new Error('the server exited before reporting its CPU time'));
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    const request: RequestMessage = { type: 'cpu' };
    child.send(request);
  });
}

function expect(status: number, size: number): void {
  if (status !== 200 || size !== BODY.length) throw new Error(`unexpected response: ${status}, ${size} bytes`);
}

/** Reads a streamed rxjet body to its end; resolves with its size in bytes. */
function drain(body: Observable<Uint8Array>): Promise<number> {
  return new Promise((resolve, reject) => {
    let size = 0;
    body.subscribe({ next: (chunk) => (size += chunk.byteLength), error: reject, complete: () => resolve(size) });
  });
}

/** The global dispatcher behind Node's own fetch, set once fetch has been used. */
function fetchDispatcher(): { close(): Promise<void> } | undefined {
  const dispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  if (typeof (dispatcher as { close?: unknown } | undefined)?.close !== 'function') return undefined;
  return dispatcher as { close(): Promise<void> };
}

function makeRunner(id: ContenderId, url: string, connections: number): Runner {
  switch (id) {
    case 'undici': {
      const agent = new UndiciAgent({ connections });
      return {
        async once() {
          const { statusCode, body } = await undiciRequest(url, { dispatcher: agent });
          expect(statusCode, (await body.text()).length);
        },
        close: () => agent.close(),
      };
    }
    case 'rxjet-stream': {
      const client = createClient({ connections });
      return {
        async once() {
          const res = await lastValueFrom(get(client, url));
          expect(res.status, await drain(res.body));
        },
        close: () => client.close(),
      };
    }
    case 'rxjet-text': {
      const client = createClient({ connections });
      return {
        async once() {
          const res = await lastValueFrom(get(client, url, { as: 'text' }));
          expect(res.status, res.body.length);
        },
        close: () => client.close(),
      };
    }
    case 'fetch':
      return {
        async once() {
          const res = await fetch(url);
          expect(res.status, (await res.text()).length);
        },
        close: () => fetchDispatcher()?.close() ?? Promise.resolve(),
      };
    case 'node': {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: connections });
      return {
        once: () =>
          new Promise<void>((resolve, reject) => {
            const req = httpGet(url, { agent }, (res) => {
              let size = 0;
              res.on('data', (chunk: Buffer) => (size += chunk.byteLength));
              res.on('end', () => {
                try {
                  expect(res.statusCode ?? 0, size);
                  resolve();
                } catch (error) {
                  reject(error instanceof Error ? error : new Error(String(error)));
                }
              });
              res.on('error', reject);
            });
            req.on('error', reject);
          }),
        close: () => {
          agent.destroy();
          return Promise.resolve();
        },
      };
    }
  }
}

/** Keeps `connections` requests in flight for `seconds`, counting those completed. */
async function run(
  runner: Runner,
  server: { child: ChildProcess },
  seconds: number,
  connections: number,
): Promise<Sample> {
  let completed = 0;
  let errors = 0;
  const serverBefore = await serverCpu(server.child);
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      try {
        await runner.once();
        completed++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, loop));
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = await serverCpu(server.child);
  return {
    requestsPerSecond: (completed * 1000) / elapsed,
    clientMicrosPerRequest: completed === 0 ? 0 : (cpu.user + cpu.system) / completed,
    serverBusy: (serverAfter - serverBefore) / (elapsed * 1000),
    errors,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function runParent(): Promise<void> {
  const rounds = envInt('BENCH_ROUNDS', 5, 1);
  const seconds = envInt('BENCH_SECONDS', 3, 1);
  const warmup = envInt('BENCH_WARMUP', 2, 0);
  const connections = envInt('BENCH_CONNECTIONS', 50, 1);

  const estimate = contenders.length * (warmup + rounds * seconds) + 5;
  console.log(
    `rxjet client benchmark: ${connections} requests in flight, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up (about ${estimate} s)`,
  );

  // Whatever happens, do not outlive the run by much.
  setTimeout(
    () => {
      console.error('The benchmark took far longer than expected: stopping.');
      killChildren();
      process.exit(1);
    },
    (estimate * 2 + 60) * 1000,
  ).unref();

  const server = await startServer();
  const url = `http://127.0.0.1:${server.port}/`;
  const runners = new Map<ContenderId, Runner>();
  try {
    for (const contender of contenders) runners.set(contender.id, makeRunner(contender.id, url, connections));
    // One request each, to make sure every client reads what the server sends; then fill the pools.
    for (const contender of contenders) await runners.get(contender.id)!.once();
    if (warmup > 0) {
      for (const contender of contenders) {
        const sample = await run(runners.get(contender.id)!, server, warmup, connections);
        if (sample.errors > 0) console.log(`  warm-up ${contender.label}: ${sample.errors} error(s)`);
      }
    }

    const samples: Sample[][] = contenders.map(() => []);
    for (let round = 1; round <= rounds; round++) {
      const line: string[] = [];
      for (const [i, contender] of contenders.entries()) {
        const sample = await run(runners.get(contender.id)!, server, seconds, connections);
        samples[i]!.push(sample);
        line.push(`${contender.label} ${Math.round(sample.requestsPerSecond)}`);
      }
      console.log(`  round ${round}/${rounds}: ${line.join(', ')}`);
    }

    const medians = samples.map((s) => median(s.map((x) => x.requestsPerSecond)));
    const cpuMedians = samples.map((s) => median(s.map((x) => x.clientMicrosPerRequest)));
    const baseline = medians[0]!;
    const results = contenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      medianRequestsPerSecond: Math.round(medians[i]!),
      ratio: Number((medians[i]! / baseline).toFixed(3)),
      medianClientMicrosPerRequest: Number(cpuMedians[i]!.toFixed(2)),
      medianServerBusy: Number(median(samples[i]!.map((s) => s.serverBusy)).toFixed(3)),
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      clientMicrosPerRequest: samples[i]!.map((s) => Number(s.clientMicrosPerRequest.toFixed(2))),
      errors: samples[i]!.reduce((sum, s) => sum + s.errors, 0),
    }));

    const meta = {
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      connections,
      rounds,
      seconds,
      warmup,
    };

    const rows = [
      ['contender', 'median req/s', 'vs undici.request', 'errors', 'client CPU/req'],
      ...results.map((r) => [
        r.label,
        r.medianRequestsPerSecond.toLocaleString('en-US'),
        `${r.ratio.toFixed(2)}x`,
        String(r.errors),
        `${r.medianClientMicrosPerRequest.toFixed(1)} µs`,
      ]),
    ];
    const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
    const format = (row: string[]): string =>
      row.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]!) : cell.padStart(widths[col]!))).join('  ');
    console.log();
    console.log(`Node ${meta.node}, ${meta.platform}, ${meta.cpus} CPUs (${meta.cpuModel}), ${meta.date}`);
    console.log(format(rows[0]!));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of rows.slice(1)) console.log(format(row));
    if (results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or unexpected responses.');
    const busy = results.filter((r) => r.medianServerBusy > 0.9);
    if (busy.length > 0) {
      console.log(
        `\nWarning: the server used over 90% of a core during ${busy.map((r) => r.label).join(', ')}: ` +
          'those rates may be the server’s limit rather than the client’s.',
      );
    }

    const dir = new URL('./results/', import.meta.url);
    await mkdir(dir, { recursive: true });
    const file = new URL('client-latest.json', dir);
    await writeFile(file, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
    console.log(`\nWritten to ${fileURLToPath(file).replace(`${process.cwd()}/`, '')}`);
  } finally {
    await Promise.all(
      [...runners.values()].map((runner) =>
        Promise.race([runner.close().catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 5_000))]),
      ),
    );
  }
}

if (process.argv[2] === CHILD_FLAG) {
  await runChild();
} else {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killChildren();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  try {
    await runParent();
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    killChildren();
  }
  // Connections the server's death left behind must not keep this process alive.
  process.exit();
}
