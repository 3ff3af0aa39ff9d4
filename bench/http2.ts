/**
 * Hello-world throughput over HTTP/2 (h2c, cleartext with prior knowledge) of rxjet against bare node:http2.
 *
 * Two contenders answer GET / with `hello world` as text/plain: a bare `node:http2` `createServer` with a
 * compatibility-API request listener (the baseline), and rxjet `serve({ http2: true })` with a handler returning a
 * plain response object (rxjet's HTTP/2 front also serves HTTP/1.1 on the same port; the load generator opens with
 * the HTTP/2 preface, so every connection here is HTTP/2). Each server runs in its own child process, and the load
 * generator in a process of its own: h2load (nghttp2's; Debian's nghttp2-client) when it is on the PATH, else
 * bench/h2-load.ts (node:http2's client, counting as h2load does; being JavaScript, it may bound the figures below
 * what h2load reaches, so compare only runs of the same generator). It keeps BENCH_H2_CONNECTIONS connections, each
 * with up to BENCH_H2_STREAMS concurrent streams, for BENCH_SECONDS (h2load's `-D` mode). Every server is checked to
 * answer `hello world` over HTTP/2 first; after one warm-up run each, the contenders are measured in alternating
 * rounds (A B A B ...) and the median requests per second of each is reported, with its ratio to node:http2 (the
 * target: at least 0.95x) and the median server CPU time per request. The results, naming the load generator, are
 * also written to bench/results/http2-latest.json.
 *
 * Run:   npm run bench:http2 (about 40 s with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 npm run bench:http2
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_H2_CONNECTIONS (default 4), BENCH_H2_STREAMS concurrent streams per connection (default 20)
 */
import { connect, createServer } from 'node:http2';
import { fileURLToPath } from 'node:url';
import type { H2LoadResult } from './h2-load.js';
import * as lib from './lib.js';

const contenders = [
  { id: 'node', label: 'node:http2' },
  { id: 'rxjet', label: 'rxjet (http2: true)' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

/** The ratio of rxjet to node:http2 this benchmark holds rxjet to. */
const TARGET_RATIO = 0.95;

interface Sample extends lib.LoadSample {
  /** CPU time the server process spent per request, in microseconds. */
  serverMicrosPerRequest: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, reporting its port and, when asked, its CPU time over IPC.
// ---------------------------------------------------------------------------------------------------------------

const servers: Record<ContenderId, () => Promise<number>> = {
  async node() {
    // The compatibility API, as node's documentation shows a hello-world HTTP/2 server without TLS.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(lib.HELLO);
    });
    server.listen(0, '127.0.0.1');
    return lib.listeningPort(server);
  },

  rxjet: () => lib.startRxjetHello('plain', { http2: true }),
};

async function runChild(id: ContenderId): Promise<void> {
  const port = await servers[id]();
  lib.answerRequests({ cpu: lib.cpuTime });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the servers, drive the load, report.
// ---------------------------------------------------------------------------------------------------------------

/** One request over HTTP/2, to make sure a server answers HELLO on it before it is measured. */
function checkHttp2(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = connect(url);
    const fail = (error: Error): void => {
      session.destroy();
      reject(error);
    };
    session.once('error', fail);
    session.setTimeout(5_000, () => fail(new Error(`${url} did not answer within 5 s`)));
    const req = session.request({ ':method': 'GET', ':path': '/' });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (headers) => (status = Number(headers[':status'])));
    req.on('data', (chunk: string) => (text += chunk));
    req.once('error', fail);
    req.once('end', () => {
      session.close();
      if (status === 200 && text === lib.HELLO) resolve();
      else reject(new Error(`${url} answered ${status} ${JSON.stringify(text)} over HTTP/2`));
    });
  });
}

/** An HTTP/2 load generator in a process of its own, the same for both contenders. */
interface H2LoadGenerator {
  /** What the report and the results file name it. */
  name: string;
  /** Loads `url` over h2c for `seconds`, over `connections` connections with up to `streams` streams in flight each. */
  run(url: string, seconds: number, connections: number, streams: number): Promise<lib.LoadSample>;
}

/** h2load runs of `seconds` (its -D mode); counts failed, errored and timed-out requests and non-2xx answers. */
const h2load: H2LoadGenerator = {
  name: 'h2load',
  async run(url, seconds, connections, streams) {
    const out = await lib.exec(
      'h2load',
      ['-D', String(seconds), '-c', String(connections), '-m', String(streams), '-t', '1', url],
      (seconds + 30) * 1000,
    );
    const rate = /^finished in [\d.]+\w*, ([\d.]+) req\/s/m.exec(out)?.[1];
    if (rate === undefined) throw new Error(`could not read req/s from h2load:\n${out}`);
    const failures = /^requests: .*?(\d+) failed, (\d+) errored, (\d+) timeout/m.exec(out);
    const codes = /^status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/m.exec(out);
    if (failures === null || codes === null) throw new Error(`could not read the errors from h2load:\n${out}`);
    const sum = (match: RegExpExecArray): number => match.slice(1).reduce((total, n) => total + Number(n), 0);
    if (!/^Application protocol: h2c$/m.test(out)) throw new Error(`h2load did not speak h2c:\n${out}`);
    return { requestsPerSecond: Number(rate), errors: sum(failures) + sum(codes) };
  },
};

/** bench/h2-load.ts runs of `seconds`, in a child process as h2load; counts errored requests and non-2xx answers. */
const nodeH2Load: H2LoadGenerator = {
  name: 'bench/h2-load.ts',
  async run(url, seconds, connections, streams) {
    const script = fileURLToPath(new URL('./h2-load.ts', import.meta.url));
    const args = ['--seconds', String(seconds), '--connections', String(connections), '--streams', String(streams)];
    const out = await lib.exec(process.execPath, ['--import', 'tsx', script, url, ...args], (seconds + 30) * 1000);
    const result = JSON.parse(out) as H2LoadResult;
    if (result.protocol !== 'h2c') throw new Error(`bench/h2-load.ts did not speak h2c:\n${out}`);
    const { '3xx': redirects, '4xx': clientErrors, '5xx': serverErrors } = result.statuses;
    return {
      requestsPerSecond: result.requestsPerSecond,
      errors: result.errored + redirects + clientErrors + serverErrors,
    };
  },
};

async function runParent(): Promise<void> {
  const rounds = lib.envInt('BENCH_ROUNDS', 5, 1);
  const seconds = lib.envInt('BENCH_SECONDS', 3, 1);
  const warmup = lib.envInt('BENCH_WARMUP', 2, 0);
  const connections = lib.envInt('BENCH_H2_CONNECTIONS', 4, 1);
  const streams = lib.envInt('BENCH_H2_STREAMS', 20, 1);

  const generator = (await lib.onPath('h2load')) ? h2load : nodeH2Load;
  if (generator === nodeH2Load) {
    console.log(
      "h2load not found (apt-get install nghttp2-client): using bench/h2-load.ts, node:http2's client in a process" +
        ' of its own, whose own speed may bound the figures.',
    );
  }
  const estimate = contenders.length * (warmup + rounds * seconds) + 3;
  console.log(
    `rxjet HTTP/2 benchmark: ${generator.name}, h2c, ${connections} connections x ${streams} streams, ${rounds}` +
      ` round(s) of ${seconds} s, ${warmup} s warm-up (about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 60);

  const children = await Promise.all(contenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])));
  const urls = children.map((s) => `http://127.0.0.1:${s.port}/`);
  for (const url of urls) await checkHttp2(url);

  if (warmup > 0) {
    for (const url of urls) await generator.run(url, warmup, connections, streams);
  }

  const samples = await lib.measureRounds(
    contenders,
    rounds,
    async (i): Promise<Sample> => {
      const before = await lib.askCpu(children[i]!.child);
      const sample = await generator.run(urls[i]!, seconds, connections, streams);
      const cpu = (await lib.askCpu(children[i]!.child)) - before;
      return { ...sample, serverMicrosPerRequest: cpu / (sample.requestsPerSecond * seconds) };
    },
    (sample) => sample.requestsPerSecond,
  );

  const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
  const results = contenders.map((contender, i) => ({
    id: contender.id,
    label: contender.label,
    medianRequestsPerSecond: Math.round(medians[i]!),
    ratio: lib.ratio(medians[i]!, medians[0]!),
    medianServerMicrosPerRequest: Number(lib.median(samples[i]!.map((s) => s.serverMicrosPerRequest)).toFixed(2)),
    samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
    serverMicrosPerRequest: samples[i]!.map((s) => Number(s.serverMicrosPerRequest.toFixed(2))),
    errors: lib.totalErrors(samples[i]!),
  }));

  const meta = {
    ...lib.machine(),
    loadGenerator: generator.name,
    protocol: 'h2c',
    connections,
    streams,
    rounds,
    seconds,
    warmup,
  };

  lib.printMachine(meta);
  console.log(`Load generator: ${generator.name}, h2c, ${connections} connections x ${streams} streams`);
  lib.printTable([
    ['contender', 'median req/s', 'vs node:http2', 'server CPU/req', 'errors'],
    ...results.map((r) => [
      r.label,
      r.medianRequestsPerSecond.toLocaleString('en-US'),
      `${r.ratio.toFixed(2)}x`,
      `${r.medianServerMicrosPerRequest.toFixed(1)} µs`,
      String(r.errors),
    ]),
  ]);
  const rxjet = results.find((r) => r.id === 'rxjet')!;
  console.log(`\nrxjet / node:http2: ${rxjet.ratio.toFixed(2)}x (target >= ${TARGET_RATIO}x)`);
  if (results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or non-2xx responses.');

  await lib.writeResults('http2', { ...meta, target: TARGET_RATIO, results });
}

await lib.main((args) => runChild(lib.contenderId(contenders, args[0])), runParent);
