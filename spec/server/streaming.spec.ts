import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { delay, finalize, from, interval, map, NEVER, Observable, of, take, timer } from 'rxjs';
import { closeAll, fetchText, start, until, within } from '../helpers.js';

const numChunks = 2048;
const chunkIntervalMs = 5;

/** 0..2047 as strings, one every 5 ms, as in Jet's tests; counts what was emitted. */
function jetChunks(progress: { emitted: number }): Observable<string> {
  return interval(chunkIntervalMs).pipe(
    take(numChunks),
    map((i) => {
      progress.emitted = i + 1;
      return String(i);
    }),
  );
}

const expected = Array.from({ length: numChunks }, (_, i) => String(i));

/** Opens a raw connection, sends a GET and returns the socket with everything received so far. */
async function openRaw(port: number, path = '/'): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return { socket, received: () => text };
}

describe('serve: streaming bodies', function () {
  this.timeout(60_000);
  afterEach(closeAll);

  it('sends each chunk of an Observable body as it comes, in order, one chunk per read (Jet 14)', async () => {
    const progress = { emitted: 0 };
    let emittedAtFirstChunk = -1;
    const server = await start(() => ({ status: 201, headers: { 'Content-Type': 'foo' }, body: jetChunks(progress) }));
    const chunks = await new Promise<string[]>((resolve, reject) => {
      http.get(server.url, { agent: false }, (res) => {
        expect(res.statusCode).to.equal(201);
        expect(res.headers['transfer-encoding']).to.equal('chunked');
        const seen: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (seen.length === 0) emittedAtFirstChunk = progress.emitted;
          seen.push(chunk);
        });
        res.on('end', () => resolve(seen));
        res.on('error', reject);
      });
    });
    expect(chunks).to.deep.equal(expected);
    expect(emittedAtFirstChunk).to.be.lessThan(numChunks / 2, 'the first chunk arrived while the stream ran');
  });

  it('delivers the same stream whole to a client that folds it (Jet 15)', async () => {
    const server = await start(() => ({
      status: 201,
      headers: { 'Content-Type': 'foo' },
      body: jetChunks({ emitted: 0 }),
    }));
    const res = await fetchText(server.url);
    expect(res.status).to.equal(201);
    expect(res.body).to.equal(expected.join(''));
  });

  it('answers an async response when it comes (Jet 16)', async () => {
    const server = await start(() =>
      of({ status: 202, headers: { 'Content-Type': 'foo' }, body: 'foo' }).pipe(delay(1000)),
    );
    const res = await fetchText(server.url);
    expect([res.status, res.headers['content-type'], res.body]).to.deep.equal([202, 'foo', 'foo']);
  });

  it('combines an async response with a chunked body (Jet 17)', async () => {
    const server = await start(() =>
      timer(5).pipe(map(() => ({ status: 202, headers: { 'Content-Type': 'foo' }, body: jetChunks({ emitted: 0 }) }))),
    );
    const res = await fetchText(server.url);
    expect(res.status).to.equal(202);
    expect(res.chunks).to.deep.equal(expected);
  });

  it('streams to curl as it comes', async () => {
    const { spawn } = await import('node:child_process');
    const server = await start(() => ({
      body: interval(20).pipe(
        take(3),
        map((i) => `line ${i}\n`),
      ),
    }));
    const curl = spawn('curl', ['-sSN', server.url]);
    let out = '';
    curl.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await within(5000, once(curl, 'close'), 'curl to finish')) as [number];
    expect(code).to.equal(0);
    expect(out).to.equal('line 0\nline 1\nline 2\n');
  });

  it('sends an async iterable body and a Readable body chunk by chunk', async () => {
    const server = await start((req) => ({
      body:
        req.path === '/gen'
          ? (async function* () {
              yield 'a';
              yield new Uint8Array([98]);
              yield 'c';
            })()
          : Readable.from(['x', 'y', 'z']),
    }));
    expect((await fetchText(`${server.url}/gen`)).chunks).to.deep.equal(['a', 'b', 'c']);
    expect((await fetchText(`${server.url}/readable`)).body).to.equal('xyz');
  });

  it('uses the content-length the handler set for a streaming body instead of chunking', async () => {
    const server = await start(() => ({ headers: { 'content-length': '6' }, body: of('abc', 'def') }));
    const res = await fetchText(server.url);
    expect(res.headers['content-length']).to.equal('6');
    expect(res.headers).not.to.have.property('transfer-encoding');
    expect(res.body).to.equal('abcdef');
  });

  describe('client disconnect', () => {
    it('unsubscribes the body within one event-loop turn and aborts req.signal', async () => {
      let tornDown = false;
      let signal: AbortSignal | undefined;
      let serverSocket: net.Socket | undefined;
      const server = await start((req) => {
        signal = req.signal;
        serverSocket = req.raw!.socket;
        return {
          body: new Observable<string>((subscriber) => {
            subscriber.next('first');
            return () => (tornDown = true);
          }),
        };
      });
      const { socket, received } = await openRaw(server.port);
      await until(() => received().includes('first'), 'the first chunk');
      const checked = new Promise<boolean>((resolve) =>
        serverSocket!.on('close', () => setImmediate(() => resolve(tornDown))),
      );
      socket.destroy();
      expect(await within(2000, checked, 'the server socket to close')).to.equal(true);
      expect(signal!.aborted).to.equal(true);
      expect(signal!.reason).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED' });
    });

    it('unsubscribes a pending Observable handler when the client goes away', async () => {
      let tornDown = false;
      let called = false;
      const server = await start(() => ((called = true), NEVER.pipe(finalize(() => (tornDown = true)))));
      const { socket } = await openRaw(server.port);
      await until(() => called, 'the handler to run');
      socket.destroy();
      await until(() => tornDown, 'the handler to be unsubscribed', 2000);
    });

    it('stops pulling an async iterable and runs its finally block', async () => {
      let finished = false;
      let yielded = 0;
      const server = await start(() => ({
        body: (async function* () {
          try {
            for (;;) {
              yielded++;
              yield 'tick\n';
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          } finally {
            finished = true;
          }
        })(),
      }));
      const { socket, received } = await openRaw(server.port);
      await until(() => received().includes('tick'), 'a first tick');
      socket.destroy();
      await until(() => finished, 'the generator to be returned', 2000);
      expect(yielded).to.be.greaterThan(0);
    });

    it('destroys a Readable body', async () => {
      const body = new Readable({ read() {} });
      body.push('start');
      const server = await start(() => ({ body }));
      const { socket, received } = await openRaw(server.port);
      await until(() => received().includes('start'), 'the first chunk');
      socket.destroy();
      await until(() => body.destroyed, 'the Readable to be destroyed', 2000);
    });
  });

  describe('errors after the head', () => {
    it('destroys the connection so the client sees a broken response, and reports it', async () => {
      const server = await start(() => ({
        body: new Observable<string>((subscriber) => {
          subscriber.next('partial');
          const failing = setTimeout(() => subscriber.error(new Error('upstream died')), 20);
          return () => clearTimeout(failing);
        }),
      }));
      const outcome = await new Promise<{ body: string; complete: boolean; error: string }>((resolve) => {
        http.get(server.url, { agent: false }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('error', (error) => resolve({ body, complete: res.complete, error: error.message }));
          res.on('end', () => resolve({ body, complete: res.complete, error: '' }));
        });
      });
      expect(outcome.body).to.equal('partial');
      expect(outcome.complete).to.equal(false);
      expect(outcome.error).to.equal('aborted');
      expect(server.errors).to.have.length(1);
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_RESPONSE_STREAM' });
      expect((server.errors[0]!.cause as Error).message).to.equal('upstream died');
    });

    it('destroys the connection when a chunk is not a string or bytes', async () => {
      const server = await start(() => ({ body: from(['ok', 42] as unknown[]) as Observable<string> }));
      await fetchText(server.url).then(
        () => expect.fail('the response should break'),
        (error: unknown) => expect((error as Error).message).to.match(/aborted|socket hang up/),
      );
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_INVALID_CHUNK' });
    });

    it('destroys the connection when a stream ends short of its content-length', async () => {
      const server = await start(() => ({ headers: { 'content-length': '10' }, body: of('abc') }));
      await fetchText(server.url).then(
        () => expect.fail('the response should break'),
        (error: unknown) => expect((error as Error).message).to.match(/aborted|socket hang up/),
      );
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_CONTENT_LENGTH_MISMATCH' });
    });
  });
});
