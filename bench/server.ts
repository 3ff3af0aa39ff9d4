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
import { existsSync } from 'node:fs';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import * as lib from './lib.js';

const contenders = [
  { id: 'node', label: 'node:http' },
  { id: 'rxjet', label: 'rxjet (plain response)' },
  { id: 'rxjet-observable', label: 'rxjet (Observable)' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

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
  if (id === 'node') {
    lib.sendReady((await lib.startHelloServer()).port);
    return;
  }
  // The built package, as users run it (npm run bench builds first).
  const { serve } = await import('../dist/server/index.js');
  const { of } = await import('rxjs');
  const server =
    id === 'rxjet'
      ? await serve({
          port: 0,
          host: '127.0.0.1',
          handler: () => ({ headers: { 'content-type': 'text/plain' }, body: lib.HELLO }),
        })
      : await serve({
          port: 0,
          host: '127.0.0.1',
          handler: () => of({ headers: { 'content-type': 'text/plain' }, body: lib.HELLO }),
        });
  lib.sendReady(server.port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the servers, drive the load, report.
// ---------------------------------------------------------------------------------------------------------------

/** One plain request, to make sure a server answers what it should before it is measured. */
function check(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode === 200 && text === lib.HELLO) resolve();
        else reject(new Error(`${url} answered ${res.statusCode ?? '?'} ${JSON.stringify(text)}`));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5_000, () => req.destroy(new Error(`${url} did not answer within 5 s`)));
  });
}

function onPath(command: string): Promise<boolean> {
  return lib.exec('sh', ['-c', `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

const wrk: LoadGenerator = {
  name: 'wrk',
  async run(url, seconds, connections) {
    const out = await lib.exec('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, `${url}/`], (seconds + 30) * 1000);
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
      const out = await lib.exec(
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

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;

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

  const servers = await Promise.all(contenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])));
  const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
  for (const url of urls) await check(url);

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

  await lib.writeResults('server', { ...meta, results });
}

await lib.main((args) => runChild(lib.contenderId(contenders, args[0])), runParent);
