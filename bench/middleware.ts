/**
 * Compression and static files: rxjet's `compress()` and `serveStatic` against Fastify's @fastify/compress and
 * @fastify/static, with bare node:http doing the same job by hand as the reference.
 *
 * Two parts, each with its contenders in their own child processes, measured in the same run:
 *
 * 1. gzip: GET /data.json answers the same 1 MiB JSON document (made once per server from a fixed seed, so that its
 *    compressibility is a real document's rather than a repeated one's), compressed per request, to requests sending
 *    `Accept-Encoding: gzip`. rxjet: `router().use(compress()).get('/data.json', …)`; Fastify: @fastify/compress
 *    registered globally; node:http: the body written through `zlib.createGzip()`. All three use zlib's gzip at
 *    level 6 (zlib's default, and both middlewares', given explicitly) and memory level 8 (the default), so that each
 *    does the same work per request; both middlewares run zlib on libuv's thread pool, as node's streams do.
 * 2. Static: GET /files/data.txt answers a 1 MiB text file (random bytes in base64) from a temporary folder (in the
 *    page cache after the first request), read per request. It is text because autocannon decodes every body as
 *    UTF-8, which random binary slows to about 70 MiB/s, far below what the servers send. rxjet: `router().get('/files/*', serveStatic(dir))`;
 *    Fastify: @fastify/static with `prefix: '/files/'`; node:http: `stat`, then `fs.createReadStream` piped to the
 *    response, with Content-Length.
 *
 * Each contender is written the plain way its docs show, with its default settings, and checked first: 200, the
 * expected headers (`content-encoding: gzip` for part 1) and the whole body, decompressed and compared byte for
 * byte. The load generator (wrk if it is on the PATH, else autocannon) runs in a process of its own; after one
 * warm-up run each, alternating rounds; reported: median requests per second, MiB/s of body sent, the ratio to
 * node:http, and the median server CPU time per request (with 1 MiB bodies the load generator may be the limit: the
 * CPU per request then tells the servers apart). Targets: rxjet / Fastify at least 1.0x in each part.
 *
 * The results are also written to bench/results/middleware-latest.json.
 *
 * Run:   npm run build && node --import tsx bench/middleware.ts (about 2 minutes with the defaults)
 *        or BENCH_ONLY=middleware npm run bench (which also redraws the summary)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_WARMUP=1 node --import tsx bench/middleware.ts
 * Some:  BENCH_PARTS=gzip or BENCH_PARTS=static (writes no results file)
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_CONNECTIONS (default 50), BENCH_PARTS (gzip,static)
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createGzip, gunzipSync } from 'node:zlib';
import * as lib from './lib.js';

const parts = ['gzip', 'static'] as const;
type Part = (typeof parts)[number];

const contenders = [
  { id: 'node', label: 'node:http by hand' },
  { id: 'rxjet', label: 'rxjet' },
  { id: 'fastify', label: 'Fastify' },
] as const;

type ContenderId = (typeof contenders)[number]['id'];

/** The size of the JSON document and of the file: 1 MiB. */
const SIZE = 1024 * 1024;
const JSON_PATH = '/data.json';
const FILE_NAME = 'data.txt';
const FILE_PATH = `/files/${FILE_NAME}`;

/** zlib's gzip level for every contender: its default, 6, given explicitly so that a changed default shows. */
const GZIP_LEVEL = 6;

/** What each part's requests send. */
const partHeaders: Record<Part, lib.LoadHeaders> = { gzip: { 'accept-encoding': 'gzip' }, static: {} };

/**
 * A JSON document of exactly `SIZE` bytes: records with ids, names, e-mail addresses, tags and numbers from a fixed
 * seed (a small xorshift generator), so that every server makes the same one and it compresses like real data.
 */
function jsonDocument(): string {
  let seed = 0x2545f491;
  const next = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const pick = (): string => words[Math.floor(next() * words.length)]!;
  const records: string[] = [];
  let length = 2; // the brackets
  for (let id = 1; ; id++) {
    const record = JSON.stringify({
      id,
      name: `${pick()} ${pick()}`,
      email: `${pick()}.${Math.floor(next() * 1e6)}@example.test`,
      active: next() < 0.5,
      score: Math.round(next() * 1e6) / 100,
      tags: [pick(), pick(), pick()],
      created: new Date(1.7e12 + Math.floor(next() * 3e10)).toISOString(),
    });
    // Stop while there is room for one last record padded to the exact size.
    if (length + record.length + 1 + 64 > SIZE) break;
    records.push(record);
    length += record.length + (records.length > 1 ? 1 : 0);
  }
  const room = SIZE - length - 1 - JSON.stringify({ id: 0, padding: '' }).length;
  records.push(JSON.stringify({ id: 0, padding: 'x'.repeat(room) }));
  const text = `[${records.join(',')}]`;
  if (text.length !== SIZE) throw new Error(`the JSON document has ${text.length} bytes, not ${SIZE}`);
  return text;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server of one part, reporting its port over IPC.
// ---------------------------------------------------------------------------------------------------------------

/** The port a listening server is bound to, for the frameworks that only hand back their node:http server. */
function boundPort(server: { address(): AddressInfo | string | null }): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the server has no port');
  return address.port;
}

/** Each part's servers, by contender; `dir` is the static part's folder. */
const servers: Record<Part, Record<ContenderId, (dir: string) => Promise<number>>> = {
  gzip: {
    async node() {
      const json = Buffer.from(jsonDocument());
      const server = createServer((req, res) => {
        if (req.url !== JSON_PATH) {
          res.writeHead(404).end();
          return;
        }
        // Only gzip is asked for by the load: negotiating more would be the same for every request.
        const gzip = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
        res.writeHead(200, {
          'content-type': 'application/json',
          vary: 'accept-encoding',
          ...(gzip ? { 'content-encoding': 'gzip' } : { 'content-length': json.length }),
        });
        if (!gzip) {
          res.end(json);
          return;
        }
        const stream = createGzip({ level: GZIP_LEVEL });
        stream.pipe(res);
        stream.end(json);
      });
      server.listen(0, '127.0.0.1');
      return lib.listeningPort(server);
    },

    async rxjet() {
      const { serve } = await import('../dist/server/index.js');
      const { router } = await import('../dist/router/index.js');
      const { compress } = await import('../dist/middleware/index.js');
      const json = jsonDocument();
      const app = router()
        .use(compress({ level: GZIP_LEVEL }))
        .get(JSON_PATH, () => ({ headers: { 'content-type': 'application/json' }, body: json }));
      return (await serve({ port: 0, host: '127.0.0.1', handler: app })).port;
    },

    async fastify() {
      const { default: Fastify } = await import('fastify');
      const { default: fastifyCompress } = await import('@fastify/compress');
      const json = jsonDocument();
      const app = Fastify();
      await app.register(fastifyCompress, { global: true, zlibOptions: { level: GZIP_LEVEL } });
      app.get(JSON_PATH, (_request, reply) => reply.type('application/json').send(json));
      await app.listen({ port: 0, host: '127.0.0.1' });
      return boundPort(app.server);
    },
  },

  static: {
    async node(dir) {
      const server = createServer((req, res) => {
        if (req.url !== FILE_PATH) {
          res.writeHead(404).end();
          return;
        }
        const file = path.join(dir, FILE_NAME);
        stat(file).then(
          (stats) => {
            res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': stats.size });
            createReadStream(file).pipe(res);
          },
          () => res.writeHead(404).end(),
        );
      });
      server.listen(0, '127.0.0.1');
      return lib.listeningPort(server);
    },

    async rxjet(dir) {
      const { serve } = await import('../dist/server/index.js');
      const { router } = await import('../dist/router/index.js');
      const { serveStatic } = await import('../dist/middleware/index.js');
      const app = router().get('/files/*', serveStatic(dir));
      return (await serve({ port: 0, host: '127.0.0.1', handler: app })).port;
    },

    async fastify(dir) {
      const { default: Fastify } = await import('fastify');
      const { default: fastifyStatic } = await import('@fastify/static');
      const app = Fastify();
      await app.register(fastifyStatic, { root: dir, prefix: '/files/' });
      await app.listen({ port: 0, host: '127.0.0.1' });
      return boundPort(app.server);
    },
  },
};

async function runChild(args: string[]): Promise<void> {
  const part = parts.find((p) => p === args[0]);
  if (part === undefined) throw new Error(`unknown part ${String(args[0])}`);
  const port = await servers[part][lib.contenderId(contenders, args[1])](args[2] ?? '');
  lib.answerRequests({ cpu: lib.cpuTime });
  lib.sendReady(port);
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: the two parts, one after the other.
// ---------------------------------------------------------------------------------------------------------------

type Settings = ReturnType<typeof lib.settings>;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Checks one contender's answer: 200, gzip-encoded for part 1, and the whole (decoded) body as expected; returns the
 * size of the body as sent.
 */
async function check(part: Part, id: ContenderId, url: string, expected: string): Promise<number> {
  const res = await lib.getWhole(url, partHeaders[part]);
  const problems: string[] = [];
  if (res.status !== 200) problems.push(`status ${res.status}`);
  let body = res.body;
  if (part === 'gzip') {
    if (res.headers['content-encoding'] !== 'gzip') {
      problems.push(`content-encoding ${String(res.headers['content-encoding'])}`);
    } else {
      body = gunzipSync(res.body);
    }
  }
  if (problems.length === 0 && sha256(body) !== expected) problems.push(`a body of ${body.length} bytes, not ours`);
  if (problems.length > 0) throw new Error(`${part}, ${id}: ${problems.join(', ')}`);
  return res.body.length;
}

async function measurePart(part: Part, generator: lib.LoadGenerator, bench: Settings, dir: string) {
  const { rounds, seconds, warmup, connections } = bench;
  const what = part === 'gzip' ? `gzip of a 1 MiB JSON body, GET ${JSON_PATH}` : `a 1 MiB file, GET ${FILE_PATH}`;
  console.log(`\n${part}: ${what}, ${generator.name}, ${connections} connections`);
  const expected = sha256(part === 'gzip' ? Buffer.from(jsonDocument()) : await readFile(path.join(dir, FILE_NAME)));
  const children = await Promise.all(
    contenders.map((c) => lib.startChild(import.meta.url, `${part} ${c.id} server`, [part, c.id, dir])),
  );
  try {
    const urls = children.map((s) => `http://127.0.0.1:${s.port}${part === 'gzip' ? JSON_PATH : FILE_PATH}`);
    const sizes: number[] = [];
    for (const [i, contender] of contenders.entries()) sizes.push(await check(part, contender.id, urls[i]!, expected));
    const headers = partHeaders[part];
    if (warmup > 0) {
      for (const url of urls) await generator.run(url, warmup, connections, headers);
    }
    const samples = await lib.measureRounds(
      contenders,
      rounds,
      async (i) => {
        const before = await lib.askCpu(children[i]!.child);
        const sample = await generator.run(urls[i]!, seconds, connections, headers);
        const cpu = (await lib.askCpu(children[i]!.child)) - before;
        return {
          ...sample,
          serverMicrosPerRequest: cpu / Math.max(1, sample.requestsPerSecond * seconds),
          serverBusy: cpu / (seconds * 1e6),
        };
      },
      (sample) => sample.requestsPerSecond,
    );
    const medians = samples.map((s) => lib.median(s.map((x) => x.requestsPerSecond)));
    const results = contenders.map((contender, i) => ({
      id: contender.id,
      label: contender.label,
      bodyBytes: sizes[i]!,
      medianRequestsPerSecond: Math.round(medians[i]!),
      medianMiBPerSecond: Number(((medians[i]! * sizes[i]!) / 2 ** 20).toFixed(1)),
      ratio: lib.ratio(medians[i]!, medians[0]!),
      medianServerMicrosPerRequest: Number(lib.median(samples[i]!.map((s) => s.serverMicrosPerRequest)).toFixed(1)),
      medianServerBusy: Number(lib.median(samples[i]!.map((s) => s.serverBusy)).toFixed(3)),
      samples: samples[i]!.map((s) => Math.round(s.requestsPerSecond)),
      errors: lib.totalErrors(samples[i]!),
    }));
    const of = (id: ContenderId) => results.find((r) => r.id === id)!;
    return {
      loadGenerator: generator.name,
      rxjetVsFastify: lib.ratio(of('rxjet').medianRequestsPerSecond, of('fastify').medianRequestsPerSecond),
      rxjetCpuVsFastifyCpu: lib.ratio(
        of('rxjet').medianServerMicrosPerRequest,
        of('fastify').medianServerMicrosPerRequest,
      ),
      results,
    };
  } finally {
    for (const child of children) lib.killChild(child.child);
  }
}

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup, connections } = bench;
  const chosen = process.env.BENCH_PARTS?.split(',') ?? [...parts];
  for (const part of chosen) {
    if (!parts.includes(part as Part)) throw new Error(`BENCH_PARTS: unknown part ${part}`);
  }
  const generator = await lib.pickLoadGenerator();
  if (generator === undefined) {
    console.error(lib.NO_LOAD_GENERATOR);
    process.exitCode = 1;
    return;
  }
  const estimate = chosen.length * contenders.length * (warmup + rounds * seconds) + 5;
  console.log(
    `rxjet compression and static files benchmark: ${connections} connections, ${rounds} round(s) of ${seconds} s` +
      `, ${warmup} s warm-up (about ${estimate} s)`,
  );
  lib.watchdog(estimate * 2 + 60);

  const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-bench-'));
  try {
    // Text (random bytes in base64), as most static assets are: autocannon decodes every body as UTF-8, which
    // random binary slows to its limit, far below the servers'.
    await writeFile(path.join(dir, FILE_NAME), randomBytes((SIZE / 4) * 3).toString('base64'));
    const measured: Partial<Record<Part, Awaited<ReturnType<typeof measurePart>>>> = {};
    for (const part of chosen as Part[]) measured[part] = await measurePart(part, generator, bench, dir);
    const meta = { ...lib.machine(), loadGenerator: generator.name, ...bench };

    lib.printMachine(meta);
    for (const part of chosen as Part[]) {
      console.log();
      lib.printTable([
        [
          part === 'gzip' ? 'gzip, 1 MiB JSON' : 'static, 1 MiB file',
          'median req/s',
          'MiB/s sent',
          'vs node:http',
          'server CPU/req',
          'server busy',
          'errors',
        ],
        ...measured[part]!.results.map((r) => [
          r.label,
          r.medianRequestsPerSecond.toLocaleString('en-US'),
          r.medianMiBPerSecond.toLocaleString('en-US'),
          `${r.ratio.toFixed(2)}x`,
          `${r.medianServerMicrosPerRequest.toLocaleString('en-US')} µs`,
          `${Math.round(r.medianServerBusy * 100)}%`,
          String(r.errors),
        ]),
      ]);
    }
    const targets = (chosen as Part[]).map((part) => ({
      id: part === 'gzip' ? 'gzipVsFastify' : 'staticVsFastify',
      label:
        part === 'gzip'
          ? 'gzip 1 MiB JSON: rxjet compress / @fastify/compress'
          : 'static 1 MiB: rxjet serveStatic / @fastify/static',
      value: measured[part]!.rxjetVsFastify,
      target: 1,
      met: measured[part]!.rxjetVsFastify >= 1,
      cpuPerRequestRatio: measured[part]!.rxjetCpuVsFastifyCpu,
    }));
    console.log();
    lib.printTable([
      ['target', 'ratio', 'target', 'met', 'CPU/req, rxjet / Fastify'],
      ...targets.map((t) => [
        t.label,
        `${t.value.toFixed(2)}x`,
        `>= ${t.target}x`,
        t.met ? 'met' : 'missed',
        `${t.cpuPerRequestRatio.toFixed(2)}x`,
      ]),
    ]);
    const all = Object.values(measured).flatMap((m) => m.results);
    if (all.some((r) => r.errors > 0)) console.log('\nWarning: some runs had errors or non-2xx responses.');
    if (all.some((r) => r.medianServerBusy < 0.8)) {
      console.log(
        '\nNote: some servers used under 80% of a core: the load generator (or the machine) may have been the ' +
          'limit there; compare the CPU per request.',
      );
    }
    if (chosen.length === parts.length) await lib.writeResults('middleware', { ...meta, ...measured, targets });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await lib.main(runChild, runParent);
