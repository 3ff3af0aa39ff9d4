/**
 * Hello-world throughput of rxjet against bare node:http.
 *
 * Three contenders answer every request with `hello world` as text/plain: a bare `node:http` server, rxjet with
 * a handler returning a plain response object, and rxjet with a handler returning an Observable of one. Each server
 * runs in its own child process, so it does not share a thread with the load generator (wrk if it is on the PATH,
 * else autocannon from node_modules). After one warm-up run each, the contenders are measured in alternating
 * rounds (A B C A B C ...) and the median requests per second of each is reported, with its ratio to node:http.
 * The results are also written to bench/results/server-latest.json.
 *
 * Run:   npm run bench
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 npm run bench
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50)
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const BODY = 'hello world';
const CHILD_FLAG = '--bench-child';

const contenders = [
  { id: 'node', label: 'node:http' },
  { id: 'rxjet', label: 'rxjet (plain response)' },
  { id: 'rxjet-observable', label: 'rxjet (Observable)' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

interface ReadyMessage {
  port: number;
}

interface Sample {
  requestsPerSecond: number;
  /** Non-2xx responses plus connection, read, write and timeout errors. */
  errors: number;
}

interface LoadGenerator {
  name: string;
  run(url: string, seconds: number, connections: number): Promise<Sample>;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, reporting its port over IPC.
// ---------------------------------------------------------------------------------------------------------------

async function runChild(id: ContenderId): Promise<void> {
  // Exit as soon as the parent goes away, however it ends.
  process.on('disconnect', () => process.exit(0));
  let port: number;
  if (id === 'node') {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(BODY);
    });
    port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  } else {
    // The built package, as users run it (npm run bench builds first).
    const { serve } = await import('../dist/server/index.js');
    const { of } = await import('rxjs');
    const server =
      id === 'rxjet'
        ? await serve({
            port: 0,
            host: '127.0.0.1',
            handler: () => ({ headers: { 'content-type': 'text/plain' }, body: BODY }),
          })
        : await serve({
            port: 0,
            host: '127.0.0.1',
            handler: () => of({ headers: { 'content-type': 'text/plain' }, body: BODY }),
          });
    port = server.port;
  }
  const ready: ReadyMessage = { port };
  process.send?.(ready);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the servers, drive the load, report.
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

function startServer(id: ContenderId): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, id], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${id} server did not start within 30 s`)), 30_000);
    child.once('message', (message: ReadyMessage) => {
      clearTimeout(timer);
      resolve({ child, port: message.port });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${id} server exited early (code ${code ?? 'none'}, signal ${signal ?? 'none'})`));
    });
  });
}

/** One plain request, to make sure a server answers what it should before it is measured. */
function check(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode === 200 && text === BODY) resolve();
        else reject(new Error(`${url} answered ${res.statusCode ?? '?'} ${JSON.stringify(text)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`${url} did not answer within 5 s`)));
  });
}

function exec(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function onPath(command: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sh', ['-c', `command -v ${command}`], (error) => resolve(error === null));
  });
}

const wrk: LoadGenerator = {
  name: 'wrk',
  async run(url, seconds, connections) {
    const out = await exec('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `${url}/`], (seconds + 30) * 1000);
    const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(out)?.[1];
    if (rate === undefined) throw new Error(`could not read Requests/sec from wrk:\n${out}`);
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0);
    return { requestsPerSecond: Number(rate), errors: non2xx + socketErrors };
  },
};

function autocannon(bin: string): LoadGenerator {
  return {
    name: 'autocannon',
    async run(url, seconds, connections) {
      const out = await exec(
        bin,
        ['-j', '-c', String(connections), '-d', String(seconds), `${url}/`],
        (seconds + 30) * 1000,
      );
      const result = JSON.parse(out) as {
        requests: { average: number };
        non2xx: number;
        errors: number;
        timeouts: number;
      };
      return { requestsPerSecond: result.requests.average, errors: result.non2xx + result.errors + result.timeouts };
    },
  };
}

async function pickLoadGenerator(): Promise<LoadGenerator | undefined> {
  if (await onPath('wrk')) return wrk;
  const bin = fileURLToPath(new URL('../node_modules/.bin/autocannon', import.meta.url));
  if (existsSync(bin)) return autocannon(bin);
  return undefined;
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

  const generator = await pickLoadGenerator();
  if (generator === undefined) {
    console.error(
      'No load generator found: install wrk (e.g. apt-get install wrk) or add autocannon to devDependencies.',
    );
    process.exitCode = 1;
    return;
  }

  const estimate = contenders.length * (warmup + rounds * seconds);
  console.log(
    `rxjet server benchmark: ${generator.name}, ${connections} connections, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up (about ${estimate} s)`,
  );

  const servers = await Promise.all(contenders.map((c) => startServer(c.id)));
  const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
  for (const url of urls) await check(url);

  if (warmup > 0) {
    for (const url of urls) await generator.run(url, warmup, connections);
  }

  const samples: Sample[][] = contenders.map(() => []);
  for (let round = 1; round <= rounds; round++) {
    const line: string[] = [];
    for (const [i, contender] of contenders.entries()) {
      const sample = await generator.run(urls[i]!, seconds, connections);
      samples[i]!.push(sample);
      line.push(`${contender.label} ${Math.round(sample.requestsPerSecond)}`);
    }
    console.log(`  round ${round}/${rounds}: ${line.join(', ')}`);
  }

  const medians = samples.map((s) => median(s.map((x) => x.requestsPerSecond)));
  const baseline = medians[0]!;
  const results = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianRequestsPerSecond: Math.round(medians[i]!),
    ratio: Number((medians[i]! / baseline).toFixed(3)),
    samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
    errors: samples[i]!.reduce((sum, s) => sum + s.errors, 0),
  }));

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    loadGenerator: generator.name,
    connections,
    rounds,
    seconds,
    warmup,
  };

  const rows = [
    ['contender', 'median req/s', 'vs node:http', 'errors'],
    ...results.map((r) => [
      r.label,
      r.medianRequestsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      String(r.errors),
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
  if (results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or non-2xx responses.');

  const dir = new URL('./results/', import.meta.url);
  await mkdir(dir, { recursive: true });
  const file = new URL('server-latest.json', dir);
  await writeFile(file, `${JSON.stringify({ ...meta, results }, null, 2)}\n`);
  console.log(`\nWritten to ${fileURLToPath(file).replace(`${process.cwd()}/`, '')}`);
}

if (process.argv[2] === CHILD_FLAG) {
  const id = process.argv[3];
  if (!contenders.some((c) => c.id === id)) throw new Error(`unknown contender ${String(id)}`);
  await runChild(id as ContenderId);
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
}
