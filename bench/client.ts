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
import { Agent as HttpAgent, get as httpGet } from 'node:http';
import { lastValueFrom } from 'rxjs';
import { createClient, get } from '../dist/client/index.js';
import * as lib from './lib.js';

const contenders = [
  { id: 'undici', label: 'undici.request' },
  { id: 'rxjet-stream', label: 'rxjet get (streamed body)' },
  { id: 'rxjet-text', label: "rxjet get (as: 'text')" },
  { id: 'fetch', label: 'fetch' },
  { id: 'node', label: 'node:http get' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

type Runner = lib.ClientRunner;

// ---------------------------------------------------------------------------------------------------------------
// Parent: start the server, run the clients, report.
// ---------------------------------------------------------------------------------------------------------------

/** The global dispatcher behind Node's own fetch, set once fetch has been used. */
function fetchDispatcher(): { close(): Promise<void> } | undefined {
  const dispatcher = (globalThis as Record<symbol, unknown>)[Symbol.for('undici.globalDispatcher.1')];
  if (typeof (dispatcher as { close?: unknown } | undefined)?.close !== 'function') return undefined;
  return dispatcher as { close(): Promise<void> };
}

async function makeRunner(id: ContenderId, url: string, connections: number): Promise<Runner> {
  switch (id) {
    case 'undici':
      return lib.undiciRunner(url, connections);
    case 'rxjet-stream': {
      const client = createClient({ connections });
      return {
        async once() {
          const res = await lastValueFrom(get(client, url));
          lib.expectHello(res.status, await lib.drain(res.body));
        },
        close: () => client.close(),
      };
    }
    case 'rxjet-text': {
      const client = createClient({ connections });
      return {
        async once() {
          const res = await lastValueFrom(get(client, url, { as: 'text' }));
          lib.expectHello(res.status, res.body.length);
        },
        close: () => client.close(),
      };
    }
    case 'fetch':
      return {
        async once() {
          const res = await fetch(url);
          lib.expectHello(res.status, (await res.text()).length);
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
                  lib.expectHello(res.statusCode ?? 0, size);
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

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;

  const estimate = contenders.length * (warmup + rounds * seconds) + 5;
  console.log(
    `rxjet client benchmark: ${connections} requests in flight, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up (about ${estimate} s)`,
  );
  // Whatever happens, do not outlive the run by much.
  lib.watchdog(estimate * 2 + 60);

  const server = await lib.startChild(import.meta.url, 'the server');
  const url = `http://127.0.0.1:${server.port}/`;
  const runners = new Map<ContenderId, Runner>();
  try {
    for (const contender of contenders) runners.set(contender.id, await makeRunner(contender.id, url, connections));
    // One request each, to make sure every client reads what the server sends; then fill the pools.
    for (const contender of contenders) await runners.get(contender.id)!.once();
    if (warmup > 0) {
      for (const contender of contenders) {
        const sample = await lib.runClientLoad(runners.get(contender.id)!, server, warmup, connections);
        if (sample.errors > 0) console.log(`  warm-up ${contender.label}: ${sample.errors} error(s)`);
      }
    }

    const samples = await lib.measureRounds(
      contenders,
      rounds,
      (i) => lib.runClientLoad(runners.get(contenders[i]!.id)!, server, seconds, connections),
      (sample) => sample.requestsPerSecond,
    );

    const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
    const cpuMedians = samples.map((s) => lib.median(s.map((x) => x.clientMicrosPerRequest)));
    const results = contenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      medianRequestsPerSecond: Math.round(medians[i]!),
      ratio: lib.ratio(medians[i]!, medians[0]!),
      medianClientMicrosPerRequest: Number(cpuMedians[i]!.toFixed(2)),
      medianServerBusy: Number(lib.median(samples[i]!.map((s) => s.serverBusy)).toFixed(3)),
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      clientMicrosPerRequest: samples[i]!.map((s) => Number(s.clientMicrosPerRequest.toFixed(2))),
      errors: lib.totalErrors(samples[i]!),
    }));

    const meta = { ...lib.machine(), ...bench };

    lib.printMachine(meta);
    lib.printTable([
      ['contender', 'median req/s', 'vs undici.request', 'errors', 'client CPU/req'],
      ...results.map((r) => [
        r.label,
        r.medianRequestsPerSecond.toLocaleString('en-US'),
        `${r.ratio.toFixed(2)}x`,
        String(r.errors),
        `${r.medianClientMicrosPerRequest.toFixed(1)} µs`,
      ]),
    ]);
    if (results.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or unexpected responses.');
    const busy = results.filter((r) => r.medianServerBusy > 0.9);
    if (busy.length > 0) {
      console.log(
        `\nWarning: the server used over 90% of a core during ${busy.map((r) => r.label).join(', ')}: ` +
          'those rates may be the server’s limit rather than the client’s.',
      );
    }

    await lib.writeResults('client', { ...meta, results });
  } finally {
    await Promise.all(
      [...runners.values()].map((runner) => Promise.race([runner.close().catch(() => undefined), lib.delay(5_000)])),
    );
  }
}

await lib.main(lib.startClientTarget, runParent);
