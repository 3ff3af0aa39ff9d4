/**
 * Upload throughput: a 100 MiB multipart/form-data upload, as one file and as 100 files of 1 MiB, read by rxjet's
 * `multipart` against @fastify/busboy piped by hand on a bare node:http server (the baseline: the parser rxjet uses,
 * with nothing around it) and against Fastify 5 with @fastify/multipart.
 *
 * Every server reads each file into a Writable that counts its bytes (a disk with no disk behind it), the way its
 * own documentation shows: busboy's file streams piped into it, rxjet's file bodies pulled into it by
 * `stream.pipeline`, Fastify's `part.file` by `pipeline` too, so that backpressure is on everywhere. Each server
 * runs in its own child process; the client (node:http, one keep-alive connection, the body prepared once) sends
 * uploads one after another for BENCH_SECONDS, and each round's rate is the MiB/s of the uploads it finished. The
 * contenders are measured in alternating rounds after a warm-up; the median MiB/s of each is reported with its ratio
 * to busboy, and the server CPU time each upload cost. Results go to bench/results/uploads-latest.json.
 *
 * Run:   npm run bench:uploads (about 1 minute with the defaults)
 * Quick: BENCH_ROUNDS=1 BENCH_SECONDS=1 BENCH_WARMUP=1 npm run bench:uploads
 * Env:   BENCH_ROUNDS (default 5), BENCH_SECONDS per run (default 3), BENCH_WARMUP seconds (default 2),
 *        BENCH_UPLOAD_MIB, the size of an upload in MiB (default 100; the many-files case sends that many files)
 */
import http from 'node:http';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as lib from './lib.js';

const allContenders = [
  { id: 'busboy', label: '@fastify/busboy on node:http' },
  { id: 'rxjet', label: 'rxjet multipart' },
  { id: 'fastify', label: 'Fastify + @fastify/multipart' },
] as const;

type ContenderId = (typeof allContenders)[number]['id'];

const MiB = 1024 * 1024;
const boundary = '----rxjetBenchBoundary7MA4YWxkTrZu0gW';

/** A Writable that counts what it is given: the sink every contender reads files into. */
function counter(): Writable & { bytes: number } {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      sink.bytes += chunk.length;
      done();
    },
  }) as Writable & { bytes: number };
  sink.bytes = 0;
  return sink;
}

// ---------------------------------------------------------------------------------------------------------------
// Child: one server, answering each upload with the bytes its files held.
// ---------------------------------------------------------------------------------------------------------------

const servers: Record<ContenderId, () => Promise<number>> = {
  async busboy() {
    const { Busboy } = await import('@fastify/busboy');
    const server = http.createServer((req, res) => {
      let bytes = 0;
      const files: Promise<void>[] = [];
      const parser = Busboy({ headers: req.headers as { 'content-type': string } });
      parser.on('file', (_name, file) => {
        const sink = counter();
        files.push(pipeline(file, sink).then(() => void (bytes += sink.bytes)));
      });
      parser.on('finish', () => {
        void Promise.all(files).then(() => res.end(String(bytes)));
      });
      parser.on('error', () => {
        res.statusCode = 400;
        res.end();
      });
      req.pipe(parser);
    });
    return lib.listeningPort(server.listen(0, '127.0.0.1'));
  },

  async rxjet() {
    const { multipart, serve } = await import('../dist/server/index.js');
    const { defer, map, mergeMap, of, reduce } = await import('rxjs');
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      handler: (req) =>
        multipart(req).pipe(
          mergeMap((part) => {
            if (part.kind === 'field') return of(0);
            const sink = counter();
            return defer(() => pipeline(part.body, sink)).pipe(map(() => sink.bytes));
          }),
          reduce((sum, bytes) => sum + bytes, 0),
          map((bytes) => ({ body: String(bytes) })),
        ),
    });
    return server.port;
  },

  async fastify() {
    const { default: Fastify } = await import('fastify');
    const { default: multipartPlugin } = await import('@fastify/multipart');
    const app = Fastify();
    await app.register(multipartPlugin, { limits: { fileSize: Infinity, files: Infinity } });
    app.post('/', async (req) => {
      let bytes = 0;
      for await (const part of req.parts()) {
        if (part.type !== 'file') continue;
        const sink = counter();
        await pipeline(part.file, sink);
        bytes += sink.bytes;
      }
      return String(bytes);
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('the Fastify server has no port');
    return address.port;
  },
};

async function runChild(id: ContenderId): Promise<void> {
  lib.answerRequests({ cpu: lib.cpuTime });
  lib.sendReady(await servers[id]());
}

// ---------------------------------------------------------------------------------------------------------------
// Parent: build the bodies, send them, report.
// ---------------------------------------------------------------------------------------------------------------

/** A multipart body of `count` files of `size` bytes each, and the bytes of file content it carries. */
function formBody(count: number, size: number): { body: Buffer; fileBytes: number } {
  const content = Buffer.alloc(size, 'x');
  const parts: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file${i}"; filename="file${i}.bin"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      content,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), fileBytes: count * size };
}

/** Sends one upload on `agent` and resolves with what the server answered. */
function send(port: number, agent: http.Agent, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/',
        agent,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': body.length },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`status ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

interface UploadSample {
  mibPerSecond: number;
  uploads: number;
  cpuMicrosPerUpload: number;
  errors: number;
}

/** Uploads `body` one after another for `seconds`; the rate counts the uploads that finished. */
async function measure(
  server: lib.ChildServer,
  body: Buffer,
  fileBytes: number,
  seconds: number,
): Promise<UploadSample> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const cpuBefore = await lib.askCpu(server.child);
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let uploads = 0;
  let errors = 0;
  do {
    const answer = await send(server.port, agent, body).catch(() => '');
    if (answer === String(fileBytes)) uploads++;
    else errors++;
  } while (performance.now() < deadline);
  const elapsed = (performance.now() - started) / 1000;
  const cpu = (await lib.askCpu(server.child)) - cpuBefore;
  agent.destroy();
  return {
    mibPerSecond: (uploads * body.length) / MiB / elapsed,
    uploads,
    cpuMicrosPerUpload: uploads === 0 ? 0 : cpu / uploads,
    errors,
  };
}

async function runParent(): Promise<void> {
  const bench = lib.settings();
  const { rounds, seconds, warmup } = bench;
  const uploadMiB = lib.envInt('BENCH_UPLOAD_MIB', 100, 1);
  const scenarios = [
    { id: 'one-file', label: `one file of ${uploadMiB} MiB`, ...formBody(1, uploadMiB * MiB) },
    { id: 'many-files', label: `${uploadMiB} files of 1 MiB`, ...formBody(uploadMiB, MiB) },
  ];
  lib.watchdog(scenarios.length * allContenders.length * (warmup + rounds * seconds) * 4 + 120);
  console.log(
    `rxjet upload benchmark: ${rounds} round(s) of ${seconds} s, ${warmup} s warm-up, ` +
      scenarios.map((s) => s.label).join(' and '),
  );
  const servers = await Promise.all(
    allContenders.map((c) => lib.startChild(import.meta.url, `${c.id} server`, [c.id])),
  );

  const meta = { ...lib.machine(), ...bench, uploadMiB };
  const results: object[] = [];
  const tables: string[][][] = [];
  for (const scenario of scenarios) {
    console.log(`\n${scenario.label}:`);
    for (const server of servers) {
      const answer = await send(server.port, new http.Agent(), scenario.body);
      if (answer !== String(scenario.fileBytes))
        throw new Error(`a server answered ${answer}, not ${scenario.fileBytes}`);
      if (warmup > 0) await measure(server, scenario.body, scenario.fileBytes, warmup);
    }
    const samples = await lib.measureRounds(
      allContenders,
      rounds,
      (i) => measure(servers[i]!, scenario.body, scenario.fileBytes, seconds),
      (sample) => sample.mibPerSecond,
    );
    const medians = samples.map((s) => lib.median(s.map((x) => x.mibPerSecond)));
    const rows = allContenders.map((contender, i) => ({
      scenario: scenario.id,
      id: contender.id,
      label: contender.label,
      medianMiBPerSecond: Math.round(medians[i]!),
      ratio: lib.ratio(medians[i]!, medians[0]!),
      medianCpuMsPerUpload: Number((lib.median(samples[i]!.map((x) => x.cpuMicrosPerUpload)) / 1000).toFixed(1)),
      samples: samples[i]!.map((s) => Math.round(s.mibPerSecond)),
      errors: lib.totalErrors(samples[i]!),
    }));
    results.push(...rows);
    tables.push([
      [scenario.label, 'median MiB/s', 'vs busboy', 'server CPU ms/upload', 'errors'],
      ...rows.map((r) => [
        r.label,
        String(r.medianMiBPerSecond),
        `${r.ratio.toFixed(2)}x`,
        r.medianCpuMsPerUpload.toFixed(1),
        String(r.errors),
      ]),
    ]);
  }

  lib.printMachine(meta);
  for (const table of tables) {
    console.log();
    lib.printTable(table);
  }
  await lib.writeResults('uploads', { ...meta, results });
}

await lib.main((args) => runChild(lib.contenderId(allContenders, args[0])), runParent);
