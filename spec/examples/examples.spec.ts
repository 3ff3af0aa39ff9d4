import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstValueFrom, take } from 'rxjs';
import WebSocket from 'ws';
import { createClient, eventSource } from '../../src/client/index.js';
import { childEnv, fetchText, until, within } from '../helpers.js';
import { runExample, startExample, type ServerProcess } from './demo-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const MiB = 1024 * 1024;

/** Resolves with `read()` once it has given the same value for `quietMs`, read every 50 ms; rejects after `ms`. */
async function steady(read: () => Promise<number>, what: string, quietMs = 300, ms = 10_000): Promise<number> {
  const deadline = Date.now() + ms;
  let last = await read();
  let since = Date.now();
  for (;;) {
    if (Date.now() - since >= quietMs) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what} to settle`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await read();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/** A WebSocket client that records every text message it gets. */
async function member(url: string): Promise<{ socket: WebSocket; heard: string[] }> {
  const socket = new WebSocket(url);
  const heard: string[] = [];
  socket.on('message', (message: Buffer) => heard.push(message.toString()));
  await within(5000, once(socket, 'open'), `a WebSocket to ${url} to open`);
  return { socket, heard };
}

describe('the TypeScript of the README and of examples/, type-checked as a strict user would', function () {
  this.timeout(120_000);

  it('compiles every ts snippet of the README and every example against the built package', async () => {
    const readme = await readFile(path.join(root, 'README.md'), 'utf8');
    const snippets = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
    expect(snippets.length, 'ts snippets in the README').to.be.at.least(10);
    // Inside the package, so that `import … from 'rxjet/…'` resolves through its own exports map
    // to dist/ (built by `npm test` first), as it does in a user's project.
    const folder = path.join(root, 'node_modules', '.cache', 'rxjet-typed-snippets');
    await rm(folder, { recursive: true, force: true });
    await mkdir(folder, { recursive: true });
    await Promise.all(
      snippets.map((code, i) => writeFile(path.join(folder, `readme-${String(i + 1).padStart(2, '0')}.ts`), code)),
    );
    for (const file of await readdir(path.join(root, 'examples'))) {
      if (file.endsWith('.ts')) await copyFile(path.join(root, 'examples', file), path.join(folder, file));
    }
    await writeFile(
      path.join(folder, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          module: 'nodenext',
          target: 'es2022',
          moduleDetection: 'force',
          types: ['node', 'mocha'],
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await promisify(execFile)(process.execPath, [tsc, '-p', folder], { cwd: root }).then(
      () => '',
      (error: unknown) => String((error as { stdout?: string }).stdout ?? error),
    );
    // Each error names its file: readme-NN.ts is the NNth ts snippet of the README.
    expect(result, 'type errors').to.equal('');
    await rm(folder, { recursive: true, force: true });
  });
});

describe('the examples (examples/*.ts), each run as `node --import tsx examples/<name>.ts`', function () {
  this.timeout(30_000);

  describe('hello.ts', () => {
    let example: ServerProcess;
    before(async () => {
      example = await startExample('hello');
    });
    after(async () => {
      await example.stop('SIGKILL');
    });

    it('greets the world on / and anyone else by their path', async () => {
      const world = await fetchText(example.url);
      expect([world.status, world.headers['content-type'], world.body]).to.deep.equal([
        200,
        'text/plain; charset=utf-8',
        'Hello World\n',
      ]);
      expect((await fetchText(`${example.url}/you`)).body).to.equal('Hello you\n');
    });

    it('refuses a POST with 405 and the methods it allows', async () => {
      const res = await fetchText(example.url, { method: 'POST', body: 'hi' });
      expect([res.status, res.headers.allow, res.body]).to.deep.equal([405, 'GET, HEAD', 'Only GET here.']);
    });

    it('closes and exits with 0 on SIGINT', async () => {
      expect(await example.stop('SIGINT')).to.equal(0);
    });
  });

  describe('async.ts', () => {
    let example: ServerProcess;
    before(async () => {
      example = await startExample('async');
    });
    after(async () => {
      await example.stop('SIGKILL');
    });

    it('answers /promise once its async work is done', async () => {
      const res = await fetchText(`${example.url}/promise?ms=50`);
      expect([res.status, res.body]).to.deep.equal([200, 'answered after 50 ms\n']);
    });

    it('answers /observable with both lookups, as JSON', async () => {
      const res = await fetchText(`${example.url}/observable`);
      expect(res.headers['content-type']).to.equal('application/json');
      expect(JSON.parse(res.body)).to.deep.equal({ weather: 'sunny', temperature: 21 });
    });

    it('stops the work of /promise when the client goes away', async () => {
      const req = http.get(`${example.url}/promise?ms=60000`, { agent: false });
      req.on('error', () => undefined);
      await example.waitFor(/\/promise: working for 60000 ms/, 'the work starting', 5000);
      req.destroy();
      await example.waitFor(/\/promise: the client went away, so the work stopped/, 'the work stopping', 5000);
    });

    it('answers 400 to a wait it will not do', async () => {
      const res = await fetchText(`${example.url}/promise?ms=soon`);
      expect([res.status, res.body]).to.deep.equal([400, 'ms must be an integer from 0 to 60000.']);
    });

    it('closes and exits with 0 on SIGTERM', async () => {
      expect(await example.stop()).to.equal(0);
    });
  });

  describe('streaming.ts', () => {
    let example: ServerProcess;
    before(async () => {
      example = await startExample('streaming');
    });
    after(async () => {
      await example.stop('SIGKILL');
    });

    it('sends /ticks chunk by chunk, a line as the Observable emits it', async () => {
      const res = await fetchText(`${example.url}/ticks`);
      expect(res.headers['transfer-encoding']).to.equal('chunked');
      expect(res.chunks).to.deep.equal(Array.from({ length: 10 }, (_, i) => `tick ${i + 1}\n`));
    });

    it('sends every line of the async generator behind /lines', async () => {
      const res = await fetchText(`${example.url}/lines?n=1000`);
      expect(res.body).to.equal(Array.from({ length: 1000 }, (_, i) => `line ${i + 1}\n`).join(''));
    });

    it('keeps the generator behind /big near a client that stops reading, and sends it all once it reads again', async () => {
      const progress = async (): Promise<number> =>
        (JSON.parse((await fetchText(`${example.url}/progress`)).body) as { produced: number }).produced;
      let received = 0;
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(`${example.url}/big?mb=64`, { agent: false }, resolve).on('error', reject);
      });
      res.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
        res.pause(); // a reader that stops after its first chunk
      });
      await until(() => received > 0, 'the first chunk of /big');
      const produced = await steady(progress, 'the /big generator');
      // Socket buffers hold a few MiB at most: a generator not held back would have made all 64.
      expect(produced)
        .to.be.above(0)
        .and.below(32 * MiB);
      const ended = once(res, 'end');
      res.removeAllListeners('data');
      res.on('data', (chunk: Buffer) => (received += chunk.byteLength));
      res.resume();
      await within(20_000, ended, 'the rest of /big');
      expect(received).to.equal(64 * MiB);
      expect(await progress()).to.equal(64 * MiB);
    });

    it('closes and exits with 0 on SIGTERM', async () => {
      expect(await example.stop()).to.equal(0);
    });
  });

  describe('websocket-chat.ts', () => {
    let example: ServerProcess;
    let room: string;
    before(async () => {
      example = await startExample('websocket-chat');
      room = `${example.url.replace('http', 'ws')}/chat`;
    });
    after(async () => {
      await example.stop('SIGKILL');
    });

    it('tells everyone in the room who joins, what each one says, and who leaves', async () => {
      const alice = await member(`${room}?name=alice`);
      await until(() => alice.heard.includes('alice joined'), 'alice to hear herself join');
      const bob = await member(`${room}?name=bob`);
      await until(
        () => alice.heard.includes('bob joined') && bob.heard.includes('bob joined'),
        'both to hear bob join',
      );
      alice.socket.send('hello bob');
      await until(
        () => alice.heard.includes('alice: hello bob') && bob.heard.includes('alice: hello bob'),
        'both to hear alice',
      );
      bob.socket.close();
      await until(() => alice.heard.includes('bob left'), 'alice to hear bob leave');
      expect(alice.heard).to.deep.equal(['alice joined', 'bob joined', 'alice: hello bob', 'bob left']);
      expect(bob.heard).to.deep.equal(['bob joined', 'alice: hello bob']);
      alice.socket.close();
      await once(alice.socket, 'close');
    });

    it('names a member who gives no name a guest', async () => {
      const guest = await member(room);
      await until(() => guest.heard.some((line) => /^guest\d+ joined$/.test(line)), 'the guest to join');
      guest.socket.close();
      await once(guest.socket, 'close');
    });

    it('answers plain requests elsewhere with 404, saying where the room is', async () => {
      const res = await fetchText(`${example.url}/`);
      expect([res.status, res.body]).to.deep.equal([404, 'The chat room is on /chat.\n']);
    });

    it('closes the sockets in the room with 1001 and exits with 0 on SIGTERM', async () => {
      const carol = await member(`${room}?name=carol`);
      await until(() => carol.heard.includes('carol joined'), 'carol to join');
      const closed = once(carol.socket, 'close') as Promise<[number, Buffer]>;
      expect(await example.stop()).to.equal(0);
      const [code] = await within(5000, closed, "carol's socket to close");
      expect(code).to.equal(1001);
    });
  });

  describe('client-streaming.ts', () => {
    it('prints the chunks of its own server as they arrive, then exits with 0', async () => {
      const example = runExample('client-streaming', { env: { PORT: '0', HOST: '127.0.0.1' } });
      expect(await example.exited(20_000)).to.equal(0);
      const lines = example.output().trim().split('\n');
      expect(lines[0]).to.match(/^rxjet client-streaming example listening on http:\/\/127\.0\.0\.1:\d+$/);
      expect(lines.slice(1)).to.deep.equal([
        'status 200, content-type text/plain; charset=utf-8',
        ...Array.from({ length: 5 }, (_, i) => `chunk ${i + 1}: 7 bytes "line ${i + 1}\\n"`),
        'done: 5 chunks, 35 bytes',
      ]);
    });

    it('streams the body of a URL given as its argument', async () => {
      const origin = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/csv' });
        res.write('a,1\n');
        res.end('b,2\n');
      });
      origin.listen(0, '127.0.0.1');
      await once(origin, 'listening');
      try {
        const { port } = origin.address() as AddressInfo;
        const example = runExample('client-streaming', { args: [`http://127.0.0.1:${port}/data.csv`] });
        expect(await example.exited(20_000)).to.equal(0);
        const output = example.output();
        expect(output).not.to.include('listening on');
        expect(output).to.match(/^status 200, content-type text\/csv\n/);
        const texts = [...output.matchAll(/^chunk \d+: \d+ bytes (".*")$/gm)].map(
          ([, text]) => JSON.parse(text!) as string,
        );
        expect(texts.join('')).to.equal('a,1\nb,2\n');
        expect(output).to.match(/^done: \d+ chunks, 8 bytes$/m);
      } finally {
        origin.close();
      }
    });

    it('stops mid-stream and exits with 0 on SIGTERM', async () => {
      const example = runExample('client-streaming', { env: { PORT: '0', HOST: '127.0.0.1' } });
      await example.waitFor(/^chunk 1: /m, 'its first chunk');
      expect(await example.stop()).to.equal(0);
      expect(example.output()).to.match(/^stopped: \d+ chunks, \d+ bytes$/m);
      expect(example.output()).not.to.include('done:');
    });
  });

  describe('marble-tested-handler.ts', () => {
    it('passes its marble test', async () => {
      const mocha = path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js');
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [
          mocha,
          '--no-config',
          '--node-option',
          'import=tsx',
          '--reporter',
          'json',
          'examples/marble-tested-handler.test.ts',
        ],
        { cwd: root, env: childEnv() },
      );
      const { stats } = JSON.parse(stdout) as {
        stats: { tests: number; passes: number; failures: number; pending: number };
      };
      expect(stats.tests).to.be.above(0);
      expect(stats).to.include({ passes: stats.tests, failures: 0, pending: 0 });
    });

    it('serves quotes from a random walk when run as a program, and exits with 0 on SIGTERM', async () => {
      const example = await startExample('marble-tested-handler');
      try {
        const quote = await fetchText(`${example.url}/quote`);
        expect(quote.status).to.equal(200);
        expect(quote.body).to.match(/^\d+\.\d\d\n$/);
        const quotes = await fetchText(`${example.url}/quotes?n=2`);
        expect(quotes.body).to.match(/^\d+\.\d\d\n\d+\.\d\d\n$/);
        expect(await example.stop()).to.equal(0);
      } finally {
        await example.stop('SIGKILL');
      }
    });
  });

  describe('sse.ts', () => {
    let example: ServerProcess;
    before(async () => {
      example = await startExample('sse');
    });
    after(async () => {
      await example.stop('SIGKILL');
    });

    it('reads the first three ticks of its own feed with the rxjet client', async () => {
      await example.waitFor(/client got tick #3: /, "the client's third tick");
      const got = example.output().match(/^client got tick #\d+/gm);
      expect(got).to.deep.equal(['client got tick #1', 'client got tick #2', 'client got tick #3']);
    });

    it('resumes /events after the Last-Event-ID a client sends', async () => {
      const client = createClient();
      try {
        const event = await within(
          10_000,
          firstValueFrom(eventSource(client, `${example.url}/events`, { lastEventId: '41' }).pipe(take(1))),
          'the first event after 41',
        );
        expect([event.event, event.id]).to.deep.equal(['tick', '42']);
        expect((JSON.parse(event.data) as { n: number }).n).to.equal(42);
      } finally {
        await client.close();
      }
    });

    it('closes and exits with 0 on SIGTERM', async () => {
      expect(await example.stop()).to.equal(0);
    });
  });
});
