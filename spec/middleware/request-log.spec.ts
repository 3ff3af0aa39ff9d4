import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { firstValueFrom, NEVER, Observable, of, Subject, throwError } from 'rxjs';
import {
  requestId,
  requestLog,
  type RequestLogEntry,
  type RequestLogger,
  type RequestLogOptions,
} from '../../src/middleware/index.js';
import { router } from '../../src/router/index.js';
import { ClientAbortedError, HandlerTimeoutError, InvalidOptionError } from '../../src/index.js';
import { HttpError, pullable, sse, type Handler, type ResponseBody } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, settled, start, until, within } from '../helpers.js';

const chunkSize = 64 * 1024;
const chunk = Buffer.alloc(chunkSize, 'x');

/** A logger that keeps what it is given, by level. */
function recorder(withError = true) {
  const info: RequestLogEntry[] = [];
  const error: RequestLogEntry[] = [];
  const logger: RequestLogger = withError
    ? { info: (entry) => info.push(entry), error: (entry) => error.push(entry) }
    : { info: (entry) => info.push(entry) };
  return { logger, info, error, all: () => [...info, ...error] };
}

/** An entry without its duration (checked to be a number), for deep equality. */
function timeless(entry: RequestLogEntry | undefined): Omit<RequestLogEntry, 'durationMs'> {
  expect(entry, 'an entry').not.to.equal(undefined);
  const { durationMs, ...rest } = entry!;
  expect(durationMs).to.be.a('number').and.at.least(0);
  return rest;
}

/** A GET whose response is read chunk by chunk; `destroy()` goes away mid-stream. */
async function streamFrom(url: string): Promise<{
  res: http.IncomingMessage;
  chunks: string[];
  next: (count: number) => Promise<void>;
  destroy: () => void;
}> {
  const req = http.request(url, { agent: false });
  req.on('error', () => undefined);
  req.end();
  const [res] = (await within(5000, once(req, 'response'), 'the response head')) as [http.IncomingMessage];
  res.on('error', () => undefined);
  const chunks: string[] = [];
  res.setEncoding('utf8');
  res.on('data', (data: string) => chunks.push(data));
  return {
    res,
    chunks,
    next: (count) => until(() => chunks.join('').length >= count, `${count} characters of the body`),
    destroy: () => req.destroy(),
  };
}

/** A client that sends a GET and then reads nothing. */
async function stalledClient(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.pause();
  socket.on('error', () => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  return socket;
}

describe('requestLog', () => {
  afterEach(closeAll);

  it('logs a whole body once, with method, path without the query, status, UTF-8 bytes and the id', async () => {
    const log = recorder();
    const server = await start(
      router()
        .use(requestId(), requestLog({ logger: log.logger }))
        .get('/hello', () => ({ body: 'héllo' })),
    );
    const res = await fetchText(`${server.url}/hello?token=secret`, { headers: { 'x-request-id': 'r-1' } });
    expect(res.body).to.equal('héllo');
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.equal({ method: 'GET', path: '/hello', status: 200, bytes: 6, id: 'r-1' });
    await server.close();
    expect(log.all()).to.have.length(1);
  });

  it('counts Uint8Array bodies by length, and an empty body as 0', async () => {
    const log = recorder();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/bytes', () => ({ body: new Uint8Array(300) }))
        .get('/empty', () => ({ status: 201 })),
    );
    await fetchText(`${server.url}/bytes`);
    await fetchText(`${server.url}/empty`);
    await server.close();
    expect(log.info.map(timeless)).to.deep.equal([
      { method: 'GET', path: '/bytes', status: 200, bytes: 300 },
      { method: 'GET', path: '/empty', status: 201, bytes: 0 },
    ]);
  });

  it('logs a streaming body when it completes, with the bytes of every chunk', async () => {
    const log = recorder();
    const chunks$ = new Subject<string | Uint8Array>();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/stream', () => ({ body: chunks$ })),
    );
    const client = await streamFrom(`${server.url}/stream`);
    chunks$.next('é');
    await client.next(1);
    chunks$.next(new Uint8Array(10));
    await client.next(11);
    expect(log.all()).to.deep.equal([]);
    chunks$.next('🚀');
    chunks$.complete();
    await once(client.res, 'end');
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.equal({ method: 'GET', path: '/stream', status: 200, bytes: 2 + 10 + 4 });
    await server.close();
    expect(log.all()).to.have.length(1);
  });

  it('counts pull bodies (an async generator, a Readable, a pullable) as they are read', async () => {
    const log = recorder();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/generator', () => ({
          body: (async function* () {
            yield 'ab';
            yield Buffer.from('cde');
          })(),
        }))
        .get('/readable', () => ({ body: Readable.from([Buffer.from('1234'), Buffer.from('5')]) }))
        .get('/pullable', () => ({ body: pullable(['x', 'yz']) })),
    );
    for (const path of ['/generator', '/readable', '/pullable']) {
      const res = await fetchText(`${server.url}${path}`);
      expect(res.complete, path).to.equal(true);
    }
    await server.close();
    expect(log.info.map(timeless)).to.deep.equal([
      { method: 'GET', path: '/generator', status: 200, bytes: 5 },
      { method: 'GET', path: '/readable', status: 200, bytes: 5 },
      { method: 'GET', path: '/pullable', status: 200, bytes: 3 },
    ]);
  });

  describe('backpressure', function () {
    this.timeout(30_000);

    const bodies: Record<string, (produced: () => void, finished: () => void) => ResponseBody> = {
      'an async generator': (produced, finished) =>
        (async function* () {
          try {
            for (;;) {
              produced();
              yield chunk;
            }
          } finally {
            finished();
          }
        })(),
      'a Readable': (produced, finished) =>
        new Readable({
          read() {
            produced();
            this.push(chunk);
          },
          destroy(error, callback) {
            finished();
            callback(error);
          },
        }),
      'a pullable': (produced, finished) =>
        pullable(function* () {
          try {
            for (;;) {
              produced();
              yield chunk;
            }
          } finally {
            finished();
          }
        }),
    };

    for (const [kind, make] of Object.entries(bodies)) {
      it(`still reads ${kind} only as fast as the client reads, and logs it aborted when the client leaves`, async () => {
        const log = recorder();
        let produced = 0;
        let finished = false;
        const server = await start(
          router()
            .use(requestLog({ logger: log.logger }))
            .get('/', () => ({
              body: make(
                () => produced++,
                () => (finished = true),
              ),
            })),
        );
        const socket = await stalledClient(server.port, '/');
        const stalledAt = await settled(() => produced);
        expect(stalledAt * chunkSize).to.be.lessThan(32 * 1024 * 1024, 'the producer waited for the client');
        expect(log.all()).to.deep.equal([]);
        socket.destroy();
        await until(() => log.all().length > 0, 'the entry');
        await until(() => finished, 'the body to be closed');
        const entry = timeless(log.info[0]);
        expect(entry).to.deep.include({ method: 'GET', path: '/', status: 200, aborted: true });
        expect(entry.bytes % chunkSize).to.equal(0);
        expect(entry.bytes)
          .to.be.greaterThan(0)
          .and.at.most(produced * chunkSize);
        await server.close();
        expect(log.all()).to.have.length(1);
      });
    }
  });

  it('logs a client going away mid-stream as aborted, with the bytes so far, and the body is unsubscribed', async () => {
    const log = recorder();
    let tornDown = false;
    const chunks$ = new Subject<string>();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/stream', () => ({
          body: new Observable<string>((subscriber) => {
            const subscription = chunks$.subscribe(subscriber);
            return () => {
              subscription.unsubscribe();
              tornDown = true;
            };
          }),
        })),
    );
    const client = await streamFrom(`${server.url}/stream`);
    await until(() => chunks$.observed, 'the body to be subscribed');
    chunks$.next('four');
    await client.next(4);
    client.destroy();
    await until(() => tornDown, 'the body to be unsubscribed');
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.equal({
      method: 'GET',
      path: '/stream',
      status: 200,
      bytes: 4,
      aborted: true,
    });
    await server.close();
    expect(log.all()).to.have.length(1);
  });

  it('passes the client leaving on at once to a pull body that is waiting for its next chunk', async () => {
    const log = recorder();
    let returned = false;
    const waiting: AsyncIterable<string> = {
      [Symbol.asyncIterator]: () => {
        let sent = false;
        return {
          next: () => {
            if (sent) return new Promise<IteratorResult<string>>(() => undefined); // never produces again
            sent = true;
            return Promise.resolve({ done: false, value: 'a' });
          },
          return: () => {
            returned = true;
            return Promise.resolve({ done: true, value: undefined });
          },
        };
      },
    };
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/', () => ({ body: waiting })),
    );
    const client = await streamFrom(server.url);
    await client.next(1);
    client.destroy();
    await until(() => returned, 'the body to be told to stop');
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.equal({ method: 'GET', path: '/', status: 200, bytes: 1, aborted: true });
  });

  it('logs a client going away before any answer as aborted with 499, and the handler is unsubscribed', async () => {
    const log = recorder();
    let reached = false;
    let tornDown = false;
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get(
          '/wait',
          () =>
            new Observable<never>(() => {
              reached = true;
              return () => (tornDown = true);
            }),
        ),
    );
    const req = http.request(`${server.url}/wait`, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await until(() => reached, 'the handler to be subscribed');
    req.destroy();
    await until(() => tornDown, 'the handler to be unsubscribed');
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.equal({ method: 'GET', path: '/wait', status: 499, bytes: 0, aborted: true });
    await server.close();
    expect(log.all()).to.have.length(1);
  });

  it('logs errors below with the status the server answers: an HttpError, an unknown error, a 404, a route timeout', async () => {
    const log = recorder();
    const failure = new Error('boom');
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/refused', () => throwError(() => new HttpError(403, 'no')))
        .get('/boom', () => {
          throw failure;
        })
        .get('/slow', () => NEVER, { timeout: 30 }),
    );
    for (const path of ['/refused', '/boom', '/nowhere', '/slow']) await fetchText(`${server.url}${path}`);
    await server.close();
    const entries = log.info.map(timeless);
    expect(entries.map(({ method, path, status, bytes }) => ({ method, path, status, bytes }))).to.deep.equal([
      { method: 'GET', path: '/refused', status: 403, bytes: 'no'.length },
      { method: 'GET', path: '/boom', status: 500, bytes: 'Internal Server Error'.length },
      { method: 'GET', path: '/nowhere', status: 404, bytes: 'Not Found'.length },
      { method: 'GET', path: '/slow', status: 503, bytes: 'Service Unavailable'.length },
    ]);
    expect(entries.map((entry) => entry.err)).to.deep.equal([undefined, failure, undefined, entries[3]!.err]);
    expect(entries[3]!.err).to.be.instanceOf(HandlerTimeoutError);
    expect(log.error).to.deep.equal([]);
    expect(server.errors).to.have.length(2);
  });

  it('logs a body that fails after its first bytes with logger.error, and one that fails before them as a 500', async () => {
    const log = recorder();
    const failure = new Error('disk gone');
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/late', () => ({ body: new Observable<string>((s) => (s.next('abc'), s.error(failure))) }))
        .get('/early', () => ({ body: throwError(() => failure) }))
        .get('/early-http', () => ({ body: throwError(() => new HttpError(409, 'conflict')) })),
    );
    await fetchText(`${server.url}/late`).catch((error: unknown) => error);
    const early = await fetchText(`${server.url}/early`);
    expect(early.status).to.equal(500);
    const earlyHttp = await fetchText(`${server.url}/early-http`);
    expect(earlyHttp.status).to.equal(409);
    await server.close();
    expect(log.error.map(timeless)).to.deep.equal([
      { method: 'GET', path: '/late', status: 200, bytes: 3, err: failure },
    ]);
    expect(log.info.map(timeless)).to.deep.equal([
      { method: 'GET', path: '/early', status: 500, bytes: 'Internal Server Error'.length, err: failure },
      { method: 'GET', path: '/early-http', status: 409, bytes: 'conflict'.length },
    ]);
  });

  it('logs a failed body with info when the logger has no error method', async () => {
    const log = recorder(false);
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/late', () => ({ body: new Observable<string>((s) => (s.next('abc'), s.error(new Error('x')))) })),
    );
    await fetchText(`${server.url}/late`).catch((error: unknown) => error);
    await until(() => log.all().length > 0, 'the entry');
    expect(timeless(log.info[0])).to.deep.include({ status: 200, bytes: 3 });
    await server.close();
    expect(log.all()).to.have.length(1);
  });

  it('takes the id from the answer when it is above requestId', async () => {
    const log = recorder();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }), requestId())
        .get('/', () => ({ body: 'x' })),
    );
    await fetchText(server.url, { headers: { 'x-request-id': 'outer-1' } });
    await server.close();
    expect(timeless(log.info[0])).to.deep.include({ id: 'outer-1' });
  });

  it('logs a HEAD answer with 0 bytes, and its Readable body is destroyed unread', async () => {
    const log = recorder();
    let destroyed = false;
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/file', () => ({
          body: new Readable({
            read() {
              this.push('data');
              this.push(null);
            },
            destroy(error, callback) {
              destroyed = true;
              callback(error);
            },
          }),
        })),
    );
    const res = await fetchText(`${server.url}/file`, { method: 'HEAD' });
    expect(res.body).to.equal('');
    await until(() => destroyed, 'the body to be destroyed');
    await server.close();
    expect(log.info.map(timeless)).to.deep.equal([{ method: 'HEAD', path: '/file', status: 200, bytes: 0 }]);
  });

  it('keeps an sse() body ending cleanly when the server closes', async () => {
    const log = recorder();
    const server = await start(
      router()
        .use(requestLog({ logger: log.logger }))
        .get('/events', () => sse(NEVER, { heartbeat: 0 })),
    );
    const client = await streamFrom(`${server.url}/events`);
    const ended = once(client.res, 'end');
    await within(5000, server.close({ timeout: 10_000 }), 'close() to end the stream');
    await within(5000, ended, 'the stream to end');
    await until(() => log.all().length > 0, 'the entry');
    expect(log.all()).to.have.length(1);
    expect(timeless(log.info[0])).to.deep.include({ path: '/events', status: 200 });
    expect(log.info[0]!.aborted).to.equal(undefined);
  });

  it('logs with inject as with a server', async () => {
    const served = recorder();
    const injected = recorder();
    const app = (logger: RequestLogger): Handler =>
      router()
        .use(requestLog({ logger }))
        .get('/a', () => ({ body: 'abc' }))
        .get('/s', () => ({ body: of('x', 'yz') }))
        .get('/e', () => throwError(() => new HttpError(418, 'teapot')));
    const server = await start(app(served.logger));
    const handler = app(injected.logger);
    for (const path of ['/a', '/s', '/e', '/nowhere']) {
      await fetchText(`${server.url}${path}`);
      await firstValueFrom(inject(handler, mockRequest({ url: path })));
    }
    await server.close();
    expect(injected.info.map(timeless)).to.deep.equal(served.info.map(timeless));
    expect(injected.info).to.have.length(4);
  });

  it('logs an inject unsubscribed mid-stream as aborted by the client', async () => {
    const log = recorder();
    const handler = router()
      .use(requestLog({ logger: log.logger }))
      .get('/', () => ({ body: new Observable<string>((s) => s.next('ab')) }));
    const req = mockRequest();
    inject(handler, req).subscribe().unsubscribe();
    expect(req.signal.reason).to.be.instanceOf(ClientAbortedError);
    expect(log.info.map(timeless)).to.deep.equal([{ method: 'GET', path: '/', status: 200, bytes: 2, aborted: true }]);
  });

  describe('options', () => {
    it('throws InvalidOptionError at once for a bad option, naming it', () => {
      const bad: [unknown, string][] = [
        [undefined, 'options'],
        [{}, 'logger'],
        [{ logger: null }, 'logger'],
        [{ logger: {} }, 'logger.info'],
        [{ logger: { info: () => undefined, error: 'yes' } }, 'logger.error'],
        [{ logger: console, level: 'info' }, 'level'],
      ];
      for (const [options, name] of bad) {
        expect(() => requestLog(options as RequestLogOptions), name)
          .to.throw(InvalidOptionError)
          .with.property('option', name);
      }
    });
  });
});
