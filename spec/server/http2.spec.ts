import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import net from 'node:net';
import { promisify } from 'node:util';
import { finalize, firstValueFrom, interval, map, Observable, Subject, take } from 'rxjs';
import { WebSocket } from 'ws';
import { h2Load } from '../../bench/h2-load.js';
import { createClient, get, post } from '../../src/client/index.js';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { serve, text } from '../../src/server/index.js';
import { closeAll, eventually, fetchText, selfSignedCertificate, start, within } from '../helpers.js';

const run = promisify(execFile);

/** A response as node:http2's client saw it. */
interface H2Response {
  headers: IncomingHttpHeaders;
  body: string;
}

/** Opens an HTTP/2 session to `url` (trusting `ca`), closed by `sessions.close`. */
function connect(url: string, ca?: Buffer): ClientHttp2Session {
  const session = http2.connect(url, ca === undefined ? {} : { ca });
  session.on('error', () => undefined);
  opened.push(session);
  return session;
}
const opened: ClientHttp2Session[] = [];

/** Reads one whole response of `stream`. */
async function answer(stream: ClientHttp2Stream): Promise<H2Response> {
  const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  let body = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) body += chunk as string;
  return { headers, body };
}

/** Resolves when `stream` closes, however it ends (events.once would reject on its 'error'). */
function closed(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function request(
  session: ClientHttp2Session,
  path: string,
  headers: http2.OutgoingHttpHeaders = {},
): ClientHttp2Stream {
  const stream = session.request({ ':path': path, ...headers });
  stream.on('error', () => undefined);
  return stream;
}

describe('serve({ http2: true })', function () {
  this.timeout(30_000);
  let key: Buffer;
  let cert: Buffer;
  before(async () => {
    ({ key, cert } = await selfSignedCertificate());
  });
  afterEach(async () => {
    for (const session of opened.splice(0)) session.destroy();
    await closeAll();
  });

  const describeRequest = (req: { protocol: string; scheme: string; path: string; headers: Record<string, string> }) =>
    `${req.protocol} ${req.scheme} ${req.path} host=${req.headers.host} pseudo=${Object.keys(req.headers).some((n) => n.startsWith(':'))}`;

  describe('over TLS, chosen by ALPN', () => {
    it('answers HTTP/2 clients in HTTP/2 and HTTP/1.1 clients in HTTP/1.1 on one port, to the same handler', async () => {
      const server = await start((req) => ({ body: describeRequest(req) }), { http2: true, tls: { key, cert } });
      const host = `127.0.0.1:${server.port}`;

      const h2 = await answer(request(connect(server.url, cert), '/node'));
      expect(h2.headers[':status']).to.equal(200);
      expect(h2.body).to.equal(`HTTP/2.0 https /node host=${host} pseudo=false`);

      const viaCurl2 = await run('curl', ['-sS', '-k', '--http2', '-w', ' %{http_version}', `${server.url}/curl`]);
      expect(viaCurl2.stdout).to.equal(`HTTP/2.0 https /curl host=${host} pseudo=false 2`);
      const viaCurl1 = await run('curl', ['-sS', '-k', '--http1.1', '-w', ' %{http_version}', `${server.url}/curl`]);
      expect(viaCurl1.stdout).to.equal(`HTTP/1.1 https /curl host=${host} pseudo=false 1.1`);
    });

    it('is spoken to by the rxjet client when it allows h2, and by its HTTP/1.1 default', async () => {
      const server = await start((req) => ({ body: req.protocol }), { http2: true, tls: { key, cert } });
      const h2Client = createClient({ ca: cert, allowH2: true });
      const h1Client = createClient({ ca: cert });
      try {
        const viaH2 = await firstValueFrom(get(h2Client, `${server.url}/`, { as: 'text' }));
        const viaH1 = await firstValueFrom(get(h1Client, `${server.url}/`, { as: 'text' }));
        expect([viaH2.body, viaH1.body]).to.deep.equal(['HTTP/2.0', 'HTTP/1.1']);
      } finally {
        await Promise.all([h2Client.close(), h1Client.close()]);
      }
    });

    it('keeps WebSockets working over an HTTP/1.1 upgrade (wss:)', async () => {
      const server = await start(() => ({ websocket: (conn) => conn.in$.pipe(map((m) => `echo ${String(m)}`)) }), {
        http2: true,
        tls: { key, cert },
      });
      const ws = new WebSocket(`wss://127.0.0.1:${server.port}/chat`, { ca: cert });
      await within(5000, once(ws, 'open'), 'the WebSocket to open');
      ws.send('hi');
      const [data] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
      expect(data.toString()).to.equal('echo hi');
      ws.close();
      await once(ws, 'close');
    });

    it('serves 2000 requests over 4 connections with 20 streams each, all 200', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true, tls: { key, cert } });
      const result = await h2Load(`${server.url}/`, { requests: 2000, connections: 4, streams: 20, ca: cert });
      expect(result).to.deep.include({
        protocol: 'h2',
        total: 2000,
        started: 2000,
        done: 2000,
        succeeded: 2000,
        failed: 0,
        errored: 0,
        statuses: { '2xx': 2000, '3xx': 0, '4xx': 0, '5xx': 0 },
      });
    });
  });

  describe('in cleartext (h2c)', () => {
    it('answers clients with prior knowledge in HTTP/2 and others in HTTP/1.1 on one port', async () => {
      const server = await start((req) => ({ body: describeRequest(req) }), { http2: true });
      const host = `127.0.0.1:${server.port}`;
      expect(server.url).to.match(/^http:/);
      const viaCurl2 = await run('curl', [
        '-sS',
        '--http2-prior-knowledge',
        '-w',
        ' %{http_version}',
        `${server.url}/a`,
      ]);
      expect(viaCurl2.stdout).to.equal(`HTTP/2.0 http /a host=${host} pseudo=false 2`);
      const viaCurl1 = await run('curl', ['-sS', '-w', ' %{http_version}', `${server.url}/b`]);
      expect(viaCurl1.stdout).to.equal(`HTTP/1.1 http /b host=${host} pseudo=false 1.1`);
      // curl --http2 asks to upgrade with h2c: RFC 9113 lets the server stay in HTTP/1.1.
      const upgradeAsked = await run('curl', ['-sS', '--http2', '-w', ' %{http_version}', `${server.url}/c`]);
      expect(upgradeAsked.stdout).to.equal(`HTTP/1.1 http /c host=${host} pseudo=false 1.1`);
      const viaNode = await fetchText(`${server.url}/d`);
      expect(viaNode.body).to.equal(`HTTP/1.1 http /d host=${host} pseudo=false`);
    });

    it('serves 2000 requests with prior knowledge over 4 connections with 20 streams each, all 200', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true });
      const result = await h2Load(`${server.url}/`, { requests: 2000, connections: 4, streams: 20 });
      expect(result).to.deep.include({
        protocol: 'h2c',
        total: 2000,
        started: 2000,
        done: 2000,
        succeeded: 2000,
        failed: 0,
        errored: 0,
        statuses: { '2xx': 2000, '3xx': 0, '4xx': 0, '5xx': 0 },
      });
    });

    it('keeps WebSockets working over an HTTP/1.1 upgrade', async () => {
      const server = await start(() => ({ websocket: (conn) => conn.in$ }), { http2: true });
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      await within(5000, once(ws, 'open'), 'the WebSocket to open');
      ws.send('plain');
      const [data] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
      expect(data.toString()).to.equal('plain');
      ws.close();
      await once(ws, 'close');
    });

    it('closes a connection that sends nothing after headersTimeout, as HTTP/1.1 does', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true, headersTimeout: 300, requestTimeout: 1000 });
      const socket = net.connect(server.port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const started = Date.now();
      await within(5000, once(socket, 'close'), 'the silent connection to be closed');
      expect(Date.now() - started).to.be.at.least(250);
      const stats = await eventually(
        () => server.stats(),
        (s) => s.connections === 0,
        'no connections',
      );
      expect(stats.connections).to.equal(0);
    });
  });

  describe('the same handlers as HTTP/1.1', () => {
    it('streams an Observable body chunk by chunk as it emits', async () => {
      const chunks = new Subject<string>();
      const server = await start(() => ({ body: chunks }), { http2: true });
      const stream = request(connect(server.url), '/stream');
      await once(stream, 'response');
      stream.setEncoding('utf8');
      const seen: string[] = [];
      stream.on('data', (chunk: string) => seen.push(chunk));
      for (const chunk of ['one ', 'two ', 'three']) {
        const before = seen.length;
        chunks.next(chunk);
        await eventually(
          () => Promise.resolve(seen.length),
          (n) => n > before,
          `the chunk ${chunk}`,
        );
      }
      chunks.complete();
      await once(stream, 'end');
      expect(seen).to.deep.equal(['one ', 'two ', 'three']);
    });

    it('reads request bodies and applies maxBodySize (413)', async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body: `got ${body.length}` }))), {
        http2: true,
        maxBodySize: 1000,
      });
      const session = connect(server.url);
      const small = request(session, '/', { ':method': 'POST' });
      small.end('x'.repeat(999));
      expect((await answer(small)).body).to.equal('got 999');
      const large = request(session, '/', { ':method': 'POST' });
      large.end('x'.repeat(1001));
      const refused = await answer(large);
      expect(refused.headers[':status']).to.equal(413);
    });

    it('tears the body down and aborts req.signal when the client resets the stream', async () => {
      let tornDown = false;
      let aborted: unknown;
      const server = await start(
        (req) => {
          req.signal.addEventListener('abort', () => {
            aborted = req.signal.reason as unknown;
          });
          return {
            body: new Observable<string>((subscriber) => {
              subscriber.next('first');
              return () => (tornDown = true);
            }),
          };
        },
        { http2: true },
      );
      const stream = request(connect(server.url), '/');
      stream.on('data', () => stream.close(http2.constants.NGHTTP2_CANCEL));
      await eventually(
        () => Promise.resolve(tornDown),
        (done) => done,
        'the body teardown',
      );
      await eventually(
        () => server.stats(),
        (s) => s.requests === 0,
        'the exchange to end',
      );
      expect(aborted).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED' });
    });

    it('tears down every stream of a connection that drops', async () => {
      let tornDown = 0;
      const server = await start(
        () => ({ body: new Observable<string>((subscriber) => (subscriber.next('x'), () => tornDown++)) }),
        { http2: true },
      );
      let socket: net.Socket | undefined;
      const session = http2.connect(server.url, {
        createConnection: () => (socket = net.connect(server.port, '127.0.0.1')),
      });
      session.on('error', () => undefined);
      opened.push(session);
      const streams = [1, 2, 3].map(() => request(session, '/'));
      await Promise.all(streams.map((stream) => once(stream, 'data')));
      socket!.destroy();
      await eventually(
        () => Promise.resolve(tornDown),
        (n) => n === 3,
        'three teardowns',
      );
      await eventually(
        () => server.stats(),
        (s) => s.requests === 0 && s.connections === 0,
        'nothing held',
      );
    });

    it('resets the stream when the body fails after the head, so the client never sees a clean end', async () => {
      const server = await start(
        () => ({
          body: new Observable<string>((subscriber) => {
            subscriber.next('partial');
            setImmediate(() => subscriber.error(new Error('source failed')));
          }),
        }),
        { http2: true },
      );
      const stream = request(connect(server.url), '/');
      await within(5000, closed(stream), 'the stream to close');
      expect(stream.rstCode).to.equal(http2.constants.NGHTTP2_INTERNAL_ERROR);
      expect(server.errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['RXJET_ERR_RESPONSE_STREAM']);
    });

    it('holds a pull body back to the flow-control window when the client does not read', async () => {
      let produced = 0;
      const server = await start(
        () => ({
          body: (async function* () {
            for (let i = 0; i < 1024; i++) {
              produced++;
              yield new Uint8Array(64 * 1024);
            }
          })(),
        }),
        { http2: true },
      );
      const stream = request(connect(server.url), '/');
      stream.pause();
      await once(stream, 'response');
      const settled = await eventually(
        async () => {
          const before = produced;
          await new Promise((resolve) => setTimeout(resolve, 100));
          return { before, after: produced };
        },
        ({ before, after }) => before === after && after > 0,
        'the producer to stall',
      );
      // 64 MiB on offer; the window (64 KiB) and node's buffers hold it to a few chunks.
      expect(settled.after).to.be.below(64);
      stream.close(http2.constants.NGHTTP2_CANCEL);
    });

    it('leaves out connection-specific headers a handler sets for HTTP/1.1, and sends repeated ones', async () => {
      const server = await start(
        () => ({
          headers: {
            connection: 'keep-alive',
            'keep-alive': 'timeout=5',
            'x-many': ['1', '2'],
            'X-Case': 'A',
            'x-case': 'b',
            'set-cookie': ['a=1', 'b=2'],
            'content-type': 'text/plain',
          },
          body: interval(1).pipe(
            take(2),
            map((i) => `${i}`),
          ),
        }),
        { http2: true },
      );
      const response = await answer(request(connect(server.url), '/'));
      expect(response.headers[':status']).to.equal(200);
      expect(response.headers).to.not.have.property('connection');
      expect(response.headers).to.not.have.property('keep-alive');
      expect(response.headers['x-many']).to.equal('1, 2');
      expect(response.headers['x-case']).to.equal('A, b');
      expect(response.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
      expect(response.body).to.equal('01');
      expect(server.errors).to.deep.equal([]);
    });
  });

  describe('limits', () => {
    it('advertises at most 100 concurrent streams and a 16 KiB header list by default', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true });
      const session = connect(server.url);
      await once(session, 'remoteSettings');
      expect(session.remoteSettings).to.include({ maxConcurrentStreams: 100, maxHeaderListSize: 16384 });
    });

    it('resets a stream whose header list passes maxHeaderSize or maxHeadersCount, without calling the handler, and keeps the connection', async () => {
      let calls = 0;
      const server = await start(() => (calls++, { body: 'ok' }), { http2: true, maxHeadersCount: 50 });
      const session = connect(server.url);
      await once(session, 'remoteSettings');
      const fields = (count: number, size: number): Record<string, string> =>
        Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-field-${i}`, 'v'.repeat(size)]));
      for (const headers of [fields(1, 20_000), fields(60, 10)]) {
        const stream = request(session, '/', headers);
        stream.resume();
        await within(5000, closed(stream), 'the stream to be reset');
        expect(stream.rstCode).to.be.oneOf([
          http2.constants.NGHTTP2_ENHANCE_YOUR_CALM,
          http2.constants.NGHTTP2_REFUSED_STREAM,
          http2.constants.NGHTTP2_PROTOCOL_ERROR,
        ]);
      }
      expect(calls).to.equal(0);
      expect((await answer(request(session, '/'))).body).to.equal('ok');
    });

    it('runs at most maxConcurrentStreams streams of a connection at once, and the rest after them', async () => {
      const held: Subject<string>[] = [];
      let running = 0;
      let most = 0;
      const server = await start(
        () => {
          const body = new Subject<string>();
          held.push(body);
          running++;
          most = Math.max(most, running);
          return { body: body.pipe(finalize(() => running--)) };
        },
        { http2: true, maxConcurrentStreams: 2 },
      );
      const session = connect(server.url);
      await once(session, 'remoteSettings');
      const answers = [1, 2, 3, 4, 5].map(() => answer(request(session, '/')));
      for (let released = 0; released < 5; released++) {
        await eventually(
          () => Promise.resolve(held.length),
          (n) => n > released,
          `stream ${released + 1} to reach the handler`,
        );
        held[released]!.next(`${released}`);
        held[released]!.complete();
      }
      const bodies = (await Promise.all(answers)).map((r) => r.body);
      expect(bodies).to.deep.equal(['0', '1', '2', '3', '4']);
      expect(most).to.equal(2);
    });

    it('cuts a request body still arriving after requestTimeout', async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body }))), {
        http2: true,
        headersTimeout: 200,
        requestTimeout: 400,
      });
      const stream = request(connect(server.url), '/', { ':method': 'POST' });
      stream.write('a trickle that never ends');
      const started = Date.now();
      await within(5000, closed(stream), 'the stream to be cut');
      expect(stream.rstCode).to.equal(http2.constants.NGHTTP2_CANCEL);
      expect(Date.now() - started).to.be.at.least(300);
      await eventually(
        () => server.stats(),
        (s) => s.requests === 0,
        'the exchange to end',
      );
    });

    it('destroys a session idle for idleTimeout', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true, idleTimeout: 300 });
      const session = connect(server.url);
      await answer(request(session, '/'));
      const started = Date.now();
      await within(5000, once(session, 'close'), 'the idle session to close');
      expect(Date.now() - started).to.be.at.least(200);
    });

    it('destroys an idle session over TLS too', async () => {
      const server = await start(() => ({ body: 'ok' }), { http2: true, idleTimeout: 300, tls: { key, cert } });
      const session = connect(server.url, cert);
      expect((await answer(request(session, '/'))).body).to.equal('ok');
      const started = Date.now();
      await within(5000, once(session, 'close'), 'the idle TLS session to close');
      expect(Date.now() - started).to.be.at.least(200);
    });

    it('keeps a session whose stream sends less often than idleTimeout, however long it lasts', async () => {
      const server = await start(
        () => ({
          body: interval(100).pipe(
            take(12),
            map((i: number) => String(i)),
          ),
        }),
        {
          http2: true,
          idleTimeout: 400,
        },
      );
      const session = connect(server.url);
      const { body } = await answer(request(session, '/'));
      expect(body).to.equal('01234567891011');
      expect(session.destroyed).to.equal(false);
      expect((await answer(request(session, '/'))).body).to.have.length(14);
    });

    it('destroys a session whose client stopped reading a stream, and tears the body down', async () => {
      let tornDown = false;
      const server = await start(
        () => ({
          body: new Observable<string>((subscriber) => {
            const timer = setInterval(() => subscriber.next('x'.repeat(16_384)), 1);
            return () => {
              clearInterval(timer);
              tornDown = true;
            };
          }),
        }),
        { http2: true, idleTimeout: 300 },
      );
      const session = connect(server.url);
      const stream = request(session, '/');
      await once(stream, 'response');
      stream.pause(); // reads nothing more: the flow-control windows fill and the server stalls
      await within(10_000, once(session, 'close'), 'the stalled session to close');
      await eventually(
        () => Promise.resolve(tornDown),
        (done) => done,
        'the body to be torn down',
      );
    });

    it('survives a rapid-reset flood (streams opened and cancelled at once) and keeps serving', async () => {
      let handled = 0;
      let tornDown = 0;
      const server = await start(
        (req) => {
          if (req.path === '/ok') return { body: 'ok' };
          handled++;
          return { body: new Observable<string>(() => () => tornDown++) };
        },
        { http2: true },
      );
      const session = connect(server.url);
      await once(session, 'remoteSettings');
      for (let i = 0; i < 1000; i++) request(session, '/').close(http2.constants.NGHTTP2_CANCEL);
      const after = connect(server.url);
      expect((await answer(request(after, '/ok'))).body).to.equal('ok');
      await eventually(
        () => server.stats(),
        (s) => s.requests === 0,
        'every exchange to end',
      );
      // Whatever reached the handler before its reset was torn down; nothing is left running.
      expect(tornDown).to.equal(handled);
    });
  });

  describe('close()', () => {
    it('lets an HTTP/2 stream in flight finish, sends GOAWAY, and resolves when every connection is gone', async () => {
      const body = new Subject<string>();
      const server = await serve({ http2: true, handler: () => ({ body }), port: 0 });
      const session = connect(server.url);
      const stream = request(session, '/');
      await once(stream, 'response');
      const goaway = once(session, 'goaway');
      const closing = server.close({ timeout: 5000 });
      await within(5000, goaway, 'GOAWAY');
      body.next('finished');
      body.complete();
      stream.setEncoding('utf8');
      let received = '';
      for await (const chunk of stream) received += chunk as string;
      expect(received).to.equal('finished');
      await within(5000, closing, 'close() to resolve');
      const stats = await server.stats();
      expect(stats).to.deep.equal({ connections: 0, requests: 0, websockets: 0 });
    });

    it('destroys sessions still busy after the timeout', async () => {
      const server = await serve({ http2: true, handler: () => ({ body: new Subject<string>() }), port: 0 });
      const session = connect(server.url);
      const stream = request(session, '/');
      await once(stream, 'response');
      const gone = once(session, 'close');
      await within(5000, server.close({ timeout: 200 }), 'close() to resolve');
      await within(5000, gone, 'the session to be gone');
    });
  });

  it('refuses a non-boolean http2 and a maxConcurrentStreams below 1', () => {
    expect(() => serve({ handler: () => null, http2: 'yes' as unknown as boolean })).to.throw(
      InvalidOptionError,
      /http2/,
    );
    expect(() => serve({ handler: () => null, http2: true, maxConcurrentStreams: 0 })).to.throw(
      InvalidOptionError,
      /maxConcurrentStreams/,
    );
  });

  it('sends a POST body from the rxjet client over h2', async () => {
    const server = await start((req) => text(req).pipe(map((body) => ({ body: `${req.protocol} ${body}` }))), {
      http2: true,
      tls: { key, cert },
    });
    const client = createClient({ ca: cert, allowH2: true });
    try {
      const res = await firstValueFrom(post(client, `${server.url}/`, { body: 'payload', as: 'text' }));
      expect(res.body).to.equal('HTTP/2.0 payload');
    } finally {
      await client.close();
    }
  });
});
