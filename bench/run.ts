/**
 * The whole benchmark suite, `npm run bench`: every scenario side by side with its bare baseline, one after the
 * other, then one summary.
 *
 * Each scenario is its own script, run here as a child process and also runnable alone:
 *   1. bench/server.ts     hello world: node:http, rxjet (plain, Observable), Fastify, Hono, Marble.js, Express
 *   2. bench/streaming.ts  1 GiB in 64 KiB chunks (MiB/s, peak RSS), and a slow reader (server RSS, pull and push)
 *   3. bench/websocket.ts  echo round trips, 64 KiB message throughput, memory per idle connection (ws vs rxjet)
 *   4. bench/client.ts     client requests/s: undici.request, rxjet get (streamed, as: 'text'), fetch, node:http
 *   5. bench/latency.ts    p50 and p99 at a fixed rate of half the bare server's maximum
 *   6. bench/tracing.ts    diagnostics_channel tracing: hello world and client requests/s, untraced and traced
 *   7. bench/http2.ts      hello world over h2c (h2load or bench/h2-load.ts): node:http2, rxjet serve({ http2: true })
 *   8. bench/routing.ts    100 routes behind request id, CORS and logging: node:http (bare and by hand), rxjet,
 *                          Fastify, Hono, Express, Marble.js; and the router's lookup alone against find-my-way
 *   9. bench/middleware.ts gzip of a 1 MiB JSON body and a 1 MiB static file: rxjet compress() and serveStatic
 *                          against @fastify/compress and @fastify/static, with node:http by hand
 *  10. bench/uploads.ts    multipart uploads, one 100 MiB file and 100 files of 1 MiB: rxjet multipart() against
 *                          busboy piped by hand on node:http and Fastify with @fastify/multipart
 *  11. bench/pubsub.ts     broadcast to 100 and 1000 WebSocket subscribers (rxjet hub topic vs a ws loop over
 *                          wss.clients); across processes over Redis (rxjet redisBus vs bare redis, and vs Socket.IO
 *                          with @socket.io/redis-adapter): messages/s and latency; rows not measured without
 *                          redis-server
 * Each writes bench/results/<scenario>-latest.json. This script then gathers them into bench/results/latest.json
 * (every ratio with its target and whether it is met), draws bench/results/chart.svg, rewrites the table between the
 * `bench:summary` markers in README.md, and prints the summary.
 *
 * Run:    npm run bench                       (builds first; about 20 minutes)
 * Some:   BENCH_ONLY=server,client npm run bench
 * Redraw: BENCH_ONLY=none npm run bench       (summary, chart and README from the existing results files)
 * Env:    BENCH_ROUNDS, BENCH_SECONDS, BENCH_WARMUP, BENCH_CONNECTIONS, BENCH_APP_HEAP_MIB, BENCH_CHILD_NODE_ARGS and each
 *         script's own settings pass through.
 */
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as prettier from 'prettier';
import { chart, met, type Bar } from './chart.js';
import * as lib from './lib.js';

const scenarios = [
  'server',
  'streaming',
  'websocket',
  'client',
  'latency',
  'tracing',
  'http2',
  'routing',
  'middleware',
  'uploads',
  'pubsub',
] as const;
type Scenario = (typeof scenarios)[number];

const results = new URL('./results/', import.meta.url);
const readme = new URL('../README.md', import.meta.url);

/** Runs one scenario's script as a child process with the terminal, failing if it fails. */
function runScript(scenario: Scenario): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL(`./${scenario}.ts`, import.meta.url))],
      { stdio: 'inherit' },
    );
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`bench/${scenario}.ts failed (code ${code}, signal ${signal})`)),
    );
  });
}

async function load(scenario: Scenario): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(new URL(`${scenario}-latest.json`, results), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

interface Row {
  id: string;
  ratio?: number;
  [key: string]: unknown;
}

const rows = (value: unknown): Row[] => (Array.isArray(value) ? (value as Row[]) : []);
const find = (list: Row[], id: string): Row | undefined => list.find((row) => row.id === id);
const num = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/** Every target of the suite, as bars: a ratio and the bound it is held to. */
function bars(data: Partial<Record<Scenario, Record<string, unknown>>>): Bar[] {
  const out: Bar[] = [];
  const add = (
    group: string,
    label: string,
    value: number | undefined,
    target: number,
    direction: Bar['direction'],
  ) => {
    if (value !== undefined) out.push({ group, label, value: Number(value.toFixed(3)), target, direction });
  };
  /** A target its scenario recorded as not measured, with the reason, so that the summary shows it as such. */
  const notMeasured = (group: string, label: string, target: number, direction: Bar['direction'], reason: string) =>
    out.push({ group, label, value: 0, target, direction, notMeasured: reason });

  const hello = rows(data.server?.results);
  const rps = (id: string): number | undefined => num(find(hello, id)?.medianRequestsPerSecond);
  const node = rps('node');
  for (const [id, label] of [
    ['rxjet', 'rxjet plain handler / node:http'],
    ['rxjet-observable', 'rxjet Observable handler / node:http'],
  ] as const) {
    const own = rps(id);
    // The Observable handler's bound is performance round two's (issue 14); the plain handler's is the first round's.
    const bound = id === 'rxjet' ? 0.97 : 0.98;
    add('1. Hello world', label, own !== undefined && node !== undefined ? own / node : undefined, bound, 'atLeast');
    for (const [rival, name, target] of [
      ['fastify', 'Fastify', 1],
      ['hono', 'Hono', 1],
      ['marble', 'Marble.js', 3],
    ] as const) {
      const other = rps(rival);
      const kind = id === 'rxjet' ? 'plain' : 'Observable';
      add(
        '1. Hello world',
        `rxjet ${kind} / ${name}`,
        own !== undefined && other ? own / other : undefined,
        target,
        'atLeast',
      );
    }
  }

  const streaming = data.streaming as
    { streaming?: { results?: unknown }; slowReader?: { results?: unknown } } | undefined;
  const stream = rows(streaming?.streaming?.results);
  add(
    '2. Streaming 1 GiB',
    'rxjet Observable body / pipeline',
    num(find(stream, 'rxjet-observable')?.ratio),
    0.95,
    'atLeast',
  );
  add(
    '2. Streaming 1 GiB',
    'rxjet async-iterable body / pipeline',
    num(find(stream, 'rxjet-iterable')?.ratio),
    0.95,
    'atLeast',
  );
  const slow = rows(streaming?.slowReader?.results);
  // Memory bounds are in MiB, not ratios: drawn as a share of the 64 MiB bound.
  for (const [id, label] of [
    ['pull', 'slow reader, pull body: peak RSS above idle / 64 MiB'],
    ['push', 'slow reader, push body: peak RSS above idle / 64 MiB'],
  ] as const) {
    const above = num(find(slow, id)?.peakAboveIdleMiB);
    add('3. Slow reader', label, above === undefined ? undefined : Math.max(0, above) / 64, 1, 'atMost');
  }

  const ws = data.websocket as { echo?: unknown; idle?: unknown; throughput?: { results?: unknown } } | undefined;
  add('4. WebSocket', 'echo round trips / ws', num(find(rows(ws?.echo), 'rxjet')?.ratio), 0.97, 'atLeast');
  const idle = find(rows(ws?.idle), 'rxjet');
  add('4. WebSocket', 'idle memory per connection (RSS) / ws', num(idle?.rssRatio), 1.1, 'atMost');
  add('4. WebSocket', 'idle memory per connection (heap) / ws', num(idle?.heapRatio), 1.1, 'atMost');
  const streams = rows(ws?.throughput?.results);
  add('4. WebSocket', '64 KiB messages, MiB/s / ws', num(find(streams, 'rxjet')?.ratio), 0.95, 'atLeast');
  const cpuPerMiB = (id: string): number | undefined => num(find(streams, id)?.serverMicrosPerMiB);
  const rxjetCpu = cpuPerMiB('rxjet');
  const wsCpu = cpuPerMiB('ws');
  add(
    '4. WebSocket',
    '64 KiB messages, server CPU per MiB / ws',
    rxjetCpu !== undefined && wsCpu ? rxjetCpu / wsCpu : undefined,
    1.1,
    'atMost',
  );

  const client = rows(data.client?.results);
  const fetchRate = num(find(client, 'fetch')?.medianRequestsPerSecond);
  for (const [id, label] of [
    ['rxjet-stream', 'rxjet get, streamed'],
    ['rxjet-text', "rxjet get, as: 'text'"],
  ] as const) {
    const row = find(client, id);
    add('5. HTTP client', `${label} / undici.request`, num(row?.ratio), 0.95, 'atLeast');
    const rate = num(row?.medianRequestsPerSecond);
    add(
      '5. HTTP client',
      `${label} / fetch`,
      rate !== undefined && fetchRate ? rate / fetchRate : undefined,
      4,
      'atLeast',
    );
  }

  const latency = rows(data.latency?.results);
  add(
    '6. Latency at half the bare maximum',
    'p99, rxjet / node:http',
    num(find(latency, 'rxjet')?.p99Ratio),
    1.1,
    'atMost',
  );

  const tracing = data.tracing as { server?: { untracedVsNode?: unknown } } | undefined;
  add('7. Tracing', 'hello world, rxjet untraced / node:http', num(tracing?.server?.untracedVsNode), 0.97, 'atLeast');

  add(
    '8. HTTP/2',
    'hello world over h2c, rxjet / node:http2',
    num(find(rows(data.http2?.results), 'rxjet')?.ratio),
    0.95,
    'atLeast',
  );

  const routing = data.routing as { http?: { results?: unknown }; lookup?: { results?: unknown } } | undefined;
  const routed = rows(routing?.http?.results);
  const routedRps = (id: string): number | undefined => num(find(routed, id)?.medianRequestsPerSecond);
  const rxjetRouted = routedRps('rxjet');
  add(
    '9. Routing and middleware',
    'rxjet routed / node:http plain hello',
    num(find(routed, 'rxjet')?.ratio),
    0.9,
    'atLeast',
  );
  for (const [rival, name, target] of [
    ['fastify', 'Fastify', 1.2],
    ['hono', 'Hono', 1],
  ] as const) {
    const other = routedRps(rival);
    add(
      '9. Routing and middleware',
      `rxjet routed / ${name} routed`,
      rxjetRouted !== undefined && other ? rxjetRouted / other : undefined,
      target,
      'atLeast',
    );
  }
  add(
    '10. Router lookup',
    'rxjet router / find-my-way, mixed paths',
    num(find(rows(routing?.lookup?.results), 'mix')?.ratio),
    1,
    'atLeast',
  );

  const middleware = data.middleware as
    { gzip?: { rxjetVsFastify?: unknown }; static?: { rxjetVsFastify?: unknown } } | undefined;
  add(
    '11. Compression and static files',
    'gzip 1 MiB JSON, rxjet compress / @fastify/compress',
    num(middleware?.gzip?.rxjetVsFastify),
    1,
    'atLeast',
  );
  add(
    '11. Compression and static files',
    '1 MiB file, rxjet serveStatic / @fastify/static',
    num(middleware?.static?.rxjetVsFastify),
    1,
    'atLeast',
  );

  const uploads = rows((data.uploads as { results?: unknown } | undefined)?.results) as (Row & {
    scenario?: string;
  })[];
  for (const [scenario, label] of [
    ['one-file', 'one 100 MiB file, rxjet multipart / busboy'],
    ['many-files', '100 files of 1 MiB, rxjet multipart / busboy'],
  ] as const) {
    add(
      '12. Uploads',
      label,
      num(uploads.find((row) => row.scenario === scenario && row.id === 'rxjet')?.ratio),
      0.95,
      'atLeast',
    );
  }

  const pubsub = data.pubsub as
    | {
        broadcast?: { results?: unknown };
        redis?: {
          measured?: boolean;
          reason?: string;
          rate?: { size?: string; results?: unknown }[];
          latency?: { results?: unknown };
        };
      }
    | undefined;
  const sizeName = (size: unknown): string => (size === 'big' ? '16 KiB' : '32 B');
  const broadcast = rows(pubsub?.broadcast?.results) as (Row & { subscribers?: number; size?: string })[];
  for (const row of broadcast.filter((r) => r.id === 'rxjet')) {
    add(
      '13. Pub/sub broadcast',
      `${row.subscribers ?? '?'} subscribers, ${sizeName(row.size)}, rxjet hub / ws loop`,
      num(row.ratio),
      0.9,
      'atLeast',
    );
  }
  const redis = pubsub?.redis;
  const rateOf = (size: string, id: string): number | undefined =>
    num(find(rows(redis?.rate?.find((r) => r.size === size)?.results), id)?.ratio);
  const p99Of = (id: string): number | undefined => num(find(rows(redis?.latency?.results), id)?.p99Ratio);
  const overRedis: [string, () => number | undefined, number, Bar['direction']][] = [
    ['32 B, rxjet redisBus / bare redis, messages/s', () => rateOf('small', 'rxjet'), 0.9, 'atLeast'],
    ['16 KiB, rxjet redisBus / bare redis, messages/s', () => rateOf('big', 'rxjet'), 0.9, 'atLeast'],
    ['32 B, rxjet over WebSocket / Socket.IO, messages/s', () => rateOf('small', 'rxjet-ws'), 1, 'atLeast'],
    ['16 KiB, rxjet over WebSocket / Socket.IO, messages/s', () => rateOf('big', 'rxjet-ws'), 1, 'atLeast'],
    ['p99 latency, rxjet redisBus / bare redis', () => p99Of('rxjet'), 1.1, 'atMost'],
    ['p99 latency, rxjet over WebSocket / Socket.IO', () => p99Of('rxjet-ws'), 1, 'atMost'],
  ];
  for (const [label, value, target, direction] of overRedis) {
    if (redis?.measured === false) {
      notMeasured('14. Pub/sub over Redis', label, target, direction, redis.reason ?? 'unknown reason');
    } else add('14. Pub/sub over Redis', label, value(), target, direction);
  }
  return out;
}

/** The scenario behind each group of bars. */
const groupScenario: Record<string, Scenario> = {
  '1. Hello world': 'server',
  '2. Streaming 1 GiB': 'streaming',
  '3. Slow reader': 'streaming',
  '4. WebSocket': 'websocket',
  '5. HTTP client': 'client',
  '6. Latency at half the bare maximum': 'latency',
  '7. Tracing': 'tracing',
  '8. HTTP/2': 'http2',
  '9. Routing and middleware': 'routing',
  '10. Router lookup': 'routing',
  '11. Compression and static files': 'middleware',
  '12. Uploads': 'uploads',
  '13. Pub/sub broadcast': 'pubsub',
  '14. Pub/sub over Redis': 'pubsub',
};

/** Groups measured without a load generator, whatever their scenario recorded for its other parts. */
const fixedGroupGenerators: Record<string, string> = {
  '10. Router lookup': 'in-process calls',
  '13. Pub/sub broadcast': 'ws clients',
  '14. Pub/sub over Redis': 'publisher processes',
};

/** Scenarios whose load comes from one fixed peer; the others record the generator they picked. */
const fixedGenerators: Partial<Record<Scenario, string>> = {
  streaming: 'curl',
  websocket: 'ws clients',
  client: 'the measured clients',
  latency: 'bench/latency.ts',
  uploads: 'node:http clients',
  pubsub: 'ws clients',
};

/** Which load generator produced a scenario's figures (wrk or autocannon, h2load or bench/h2-load.ts, …). */
function generatorOf(data: Partial<Record<Scenario, Record<string, unknown>>>, scenario: Scenario): string {
  const recorded =
    data[scenario]?.loadGenerator ?? (data[scenario]?.server as { loadGenerator?: unknown } | undefined)?.loadGenerator;
  return typeof recorded === 'string' ? recorded : (fixedGenerators[scenario] ?? 'unknown');
}

/** The README's summary: a table of every target, between markers this script owns. */
function readmeTable(
  all: Bar[],
  meta: ReturnType<typeof lib.machine> & { lastDate: string },
  generators: (bar: Bar) => string,
  dateOf: (bar: Bar) => string,
): string {
  const first = meta.date.slice(0, 10);
  const last = meta.lastDate.slice(0, 10);
  const lines = [
    `Measured ${first === last ? first : `from ${first} to ${last} (each row's date is in its last column)`} on Node ${meta.node.replace(/^v/, '')}, ${meta.platform}, ${meta.cpus} CPUs (${meta.cpuModel}); \`npm run bench\` redraws this table and the chart.`,
    '',
    '| scenario | measure | ratio | target | met | load from | measured |',
    '| --- | --- | ---: | ---: | :---: | --- | --- |',
    ...all.map(
      (bar) =>
        `| ${bar.group.replace(/^\d+\. /, '')} | ${bar.label} | ${bar.notMeasured === undefined ? `${bar.value.toFixed(2)}x` : '—'} | ${bar.direction === 'atLeast' ? '≥' : '≤'} ${bar.target}x | ${bar.notMeasured === undefined ? (met(bar) ? 'yes' : 'no') : `not measured: ${bar.notMeasured}`} | ${generators(bar)} | ${dateOf(bar)} |`,
    ),
    '',
    '![rxjet against the bare platform](bench/results/chart.svg)',
  ];
  return lines.join('\n');
}

async function updateReadme(table: string): Promise<boolean> {
  const text = await readFile(readme, 'utf8');
  const start = '<!-- bench:summary:start -->';
  const end = '<!-- bench:summary:end -->';
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from === -1 || to < from) return false;
  const updated = `${text.slice(0, from + start.length)}\n${table}\n${text.slice(to)}`;
  // Formatted as the project formats its Markdown, so that the check stays green after a run.
  const path = fileURLToPath(readme);
  const options = (await prettier.resolveConfig(path)) ?? {};
  await writeFile(readme, await prettier.format(updated, { ...options, filepath: path }));
  return true;
}

async function runParent(): Promise<void> {
  const only = process.env.BENCH_ONLY;
  const chosen = only === undefined || only === '' ? [...scenarios] : only.split(',').filter((s) => s !== 'none');
  for (const name of chosen) {
    if (!scenarios.includes(name as Scenario)) throw new Error(`BENCH_ONLY: unknown scenario ${name}`);
  }
  const started = Date.now();
  for (const scenario of chosen as Scenario[]) {
    console.log(`\n=== ${scenario} ===`);
    await runScript(scenario);
  }

  const data: Partial<Record<Scenario, Record<string, unknown>>> = {};
  for (const scenario of scenarios) {
    const loaded = await load(scenario);
    if (loaded !== undefined) data[scenario] = loaded;
  }
  const all = bars(data);
  // The figures date from when their scenarios ran (a redraw with BENCH_ONLY=none runs none).
  const dates = Object.values(data)
    .map((scenario) => scenario.date)
    .filter((date): date is string => typeof date === 'string')
    .sort();
  const meta = {
    ...lib.machine(),
    date: dates[0] ?? new Date().toISOString(),
    lastDate: dates.at(-1) ?? new Date().toISOString(),
  };
  const dateOf = (bar: Bar): string => {
    const scenario = groupScenario[bar.group];
    const date = scenario === undefined ? undefined : data[scenario]?.date;
    return typeof date === 'string' ? date.slice(0, 10) : 'unknown';
  };
  const minutes = (Date.now() - started) / 60_000;

  console.log(`\n=== summary (${minutes.toFixed(1)} min) ===`);
  lib.printMachine(meta);
  const generators = (bar: Bar): string => {
    const fixed = fixedGroupGenerators[bar.group];
    if (fixed !== undefined) return fixed;
    const scenario = groupScenario[bar.group];
    return scenario === undefined ? 'unknown' : generatorOf(data, scenario);
  };
  lib.printTable([
    ['measure', 'ratio', 'target', 'met', 'load from'],
    ...all.map((bar) => [
      `${bar.group}: ${bar.label}`,
      bar.notMeasured === undefined ? `${bar.value.toFixed(2)}x` : '-',
      `${bar.direction === 'atLeast' ? '>=' : '<='} ${bar.target}x`,
      bar.notMeasured === undefined ? (met(bar) ? 'yes' : 'NO') : `not measured: ${bar.notMeasured}`,
      generators(bar),
    ]),
  ]);

  const caption = `${meta.date.slice(0, 10)}, Node ${meta.node}, ${meta.platform}, ${meta.cpus} CPUs (${meta.cpuModel})`;
  await writeFile(new URL('chart.svg', results), chart('rxjet against the bare platform', caption, all));
  const summary = {
    ...meta,
    minutes: Number(minutes.toFixed(1)),
    targets: all.map((bar) => ({ ...bar, met: met(bar), loadGenerator: generators(bar) })),
    scenarios: data,
  };
  await writeFile(new URL('latest.json', results), `${JSON.stringify(summary, null, 2)}\n`);
  console.log('\nWritten to bench/results/latest.json and bench/results/chart.svg');
  if (await updateReadme(readmeTable(all, meta, generators, dateOf)))
    console.log('README.md: the Performance table is redrawn.');
}

await lib.main(() => Promise.resolve(), runParent);
