import { expect } from 'chai';
import fc from 'fast-check';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { map, of } from 'rxjs';
import WebSocket from 'ws';
import { createClient, get, type Client } from '../../src/client/index.js';
import { InvalidHeaderError, InvalidOptionError, RxjetError } from '../../src/internal/errors.js';
import { serve, text } from '../../src/server/index.js';
import type { WebSocketConnection } from '../../src/websocket/index.js';
import { closeAll, eventually, fetchText, rawExchange, start, until, within } from '../helpers.js';

/*
 * Property tests (fast-check) of what SECURITY.md promises against untrusted bytes: random
 * requests to the server, random responses to the client, random header names and values on
 * both sides, random WebSocket text. Each property runs a fixed number of cases or until its
 * time limit (7 s), whichever comes first, from a fixed seed; on failure fast-check prints
 * the seed, the path and the shrunk counterexample. FC_SEED=<n> replays or explores another seed.
 */

/** Cases of one property: at most `numRuns`, for at most 7 s, from a fixed seed. */
function budget(seed: number, numRuns: number): fc.Parameters<unknown> {
  return {
    seed: process.env.FC_SEED === undefined ? seed : Number(process.env.FC_SEED),
    numRuns,
    // The plugin form of `interruptAfterTimeLimit` with `markInterruptAsFailure: false`.
    plugins: [fc.interruptAfterTimeLimit(7000, { failOnInterrupt: false })],
  };
}

/** Uncaught exceptions and unhandled rejections seen while a property runs. */
function watchUncaught(): { seen: unknown[]; stop: () => void } {
  const seen: unknown[] = [];
  const record = (error: unknown): void => void seen.push(error);
  process.on('uncaughtExceptionMonitor', record);
  process.on('unhandledRejection', record);
  return {
    seen,
    stop: () => {
      process.off('uncaughtExceptionMonitor', record);
      process.off('unhandledRejection', record);
    },
  };
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');

// RFC 9110 token characters: what a header name may hold.
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// What rxjet documents as sendable in a value: no CR, LF, NUL or other control (tab is fine), latin1 only.
const sendableValue = /^[\t\x20-\x7e\x80-\xff]*$/;
// Header names that change framing or the connection itself; kept out of the random names.
const reserved = new Set([
  'connection',
  'content-length',
  'date',
  'expect',
  'host',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Strings that often hold CR, LF, NUL, tab, controls, non-latin1 text and header-looking payloads. */
const hostileString = fc
  .array(
    fc.oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: 8 }),
      fc.string({ unit: 'binary-ascii', maxLength: 6 }),
      fc.string({ unit: 'binary', maxLength: 4 }),
      fc.constantFrom(
        '\r',
        '\n',
        '\r\n',
        '\0',
        '\t',
        ' ',
        '\x7f',
        '\x01',
        '\x1b',
        'é',
        'ÿ',
        '€',
        '😀',
        '\u2028',
        '\u010d\u010a', // "čĊ": would be CR LF if truncated to 8 bits
        '\r\nSet-Cookie: a=b',
        '\nX-Injected: 1',
        '\rX-Injected: 1',
        '\r\n\r\nHTTP/1.1 200 OK\r\n\r\n',
        '\r\nContent-Length: 0\r\n\r\n',
      ),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

/** Header names: valid tokens, hostile strings, and names that are also property names of every object. */
const headerName = fc
  .oneof(
    fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,16}$/),
    hostileString,
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'Set-Cookie', 'X-Test', 'x-test:', 'x test'),
  )
  .filter((name) => !reserved.has(name.toLowerCase()));

/** One header to try: a hostile value under `x-test`, or a hostile name with a plain value. */
const headerCase = fc.oneof(
  hostileString.map((value) => ({ name: 'x-test', value })),
  headerName.map((name) => ({ name, value: 'v' })),
);

const sendable = ({ name, value }: { name: string; value: string }): boolean =>
  tokenPattern.test(name) && sendableValue.test(value);
const breaksLines = ({ name, value }: { name: string; value: string }): boolean => /[\r\n\0]/.test(name + value);

/** The head of a raw HTTP message, as lines, or undefined when it has not ended. */
function headLines(received: string): string[] | undefined {
  const end = received.indexOf('\r\n\r\n');
  return end === -1 ? undefined : received.slice(0, end).split('\r\n');
}

/** A raw `net` server on 127.0.0.1 that answers each connection with `answer(head)` once its head has arrived. */
async function rawServer(
  answer: (socket: net.Socket, head: string) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let received = '';
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n\r\n');
      if (answered || end === -1) return;
      answered = true;
      answer(socket, received.slice(0, end + 4));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

describe('hostile: property tests', function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    await closeAll();
  });

  it('random bytes as requests: no crash, only a status line or a close, only typed errors, still serving', async () => {
    const uncaught = watchUncaught();
    cleanups.push(uncaught.stop);
    // Not start(): this test asserts itself that close() resolves, and its cleanup must not hang if it does not.
    const errors: Error[] = [];
    const server = await serve({
      port: 0,
      host: '127.0.0.1',
      onError: (error) => errors.push(error),
      handler: (req) =>
        req.path === '/ws'
          ? { websocket: (conn: WebSocketConnection) => conn.in$ }
          : text(req, { limit: 1024 }).pipe(map((body) => ({ body: `read ${body.length}` }))),
    });
    cleanups.push(() => within(3000, server.close({ timeout: 100 }), 'close()').catch(() => undefined));

    const requestLine = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'GET / HTTP/1.1\r\n',
          'GET /ws HTTP/1.1\r\n',
          'POST /upload HTTP/1.1\r\n',
          'PUT /a?b=c HTTP/1.1\r\n',
          'HEAD / HTTP/1.0\r\n',
          'OPTIONS * HTTP/1.1\r\n',
        ),
      },
      fc.constantFrom(
        'CONNECT 127.0.0.1:1 HTTP/1.1\r\n',
        'GET http://a/ HTTP/1.1\r\n',
        'GET / HTTP/9.9\r\n',
        'G\0T / HTTP/1.1\r\n',
        'GET /\r\n',
        'GET / HTTP/1.1\n',
        'GET /%00%ff/../.. HTTP/1.1\r\n',
      ),
    );
    const field = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'Content-Length: 5\r\n',
          'Content-Length: 0\r\n',
          'Content-Length: -1\r\n',
          'Content-Length: 99999999999999999999\r\n',
          'Content-Length: 5\r\nContent-Length: 6\r\n',
          'Transfer-Encoding: chunked\r\n',
          'Transfer-Encoding: gzip, chunked\r\n',
          'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n',
          'Connection: keep-alive\r\n',
          'Connection: close\r\n',
          'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
          'Expect: 100-continue\r\n',
          'Content-Type: text/plain; charset=utf-16le\r\n',
          'Content-Type: text/plain; charset=nope\r\n',
          'Content-Encoding: gzip\r\n',
          'Cookie: a=b\r\nCookie: __proto__=1\r\n',
          'Host: b\r\n',
        ),
      },
      { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}: [\x20-\x7e]{0,24}\r\n$/) },
      fc.constantFrom(' folded\r\n', '\n', '\r', 'X: a\nY: b\r\n', 'X:\0\r\n', 'X : a\r\n', ': a\r\n', 'X\r\n'),
      fc.stringMatching(/^[\x21-\x7e]{1,12}:[\x20-\x7e]{0,24}\r\n$/),
      fc.uint8Array({ minLength: 1, maxLength: 32 }).map(latin1),
    );
    const body = fc.array(
      fc.oneof(
        fc.constantFrom(
          'hello',
          '0\r\n\r\n',
          '5\r\nhello\r\n',
          '5;ext=1\r\nhello\r\n',
          'ffffffffffffffff\r\n',
          '0\r\nTrailer: x\r\n\r\n',
          'GET / HTTP/1.1\r\nHost: a\r\n\r\n', // pipelined
          '\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58', // a masked WebSocket text frame, "Hello"
          '\x88\x80\0\0\0\0', // a masked close frame, no code
          '\x8f\x80\0\0\0\0', // a control frame with a reserved opcode
        ),
        fc.uint8Array({ minLength: 1, maxLength: 64 }).map(latin1),
      ),
      { maxLength: 4 },
    );
    const request = fc.oneof(
      // A request line and head that are mostly well-formed, then a body of fragments.
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            requestLine,
            fc.oneof({ weight: 4, arbitrary: fc.constant('Host: a\r\n') }, fc.constant('')),
            fc.array(field, { maxLength: 5 }),
            fc.oneof({ weight: 4, arbitrary: fc.constant('\r\n') }, fc.constantFrom('', '\n', '\r')),
            fc.oneof(fc.constant([]), body),
          )
          .map(([line, host, fields, end, rest]) =>
            Buffer.from(line + host + fields.join('') + end + rest.join(''), 'latin1'),
          ),
      },
      // A valid request line, then anything.
      fc
        .tuple(requestLine, fc.uint8Array({ maxLength: 1024, size: 'max' }))
        .map(([line, rest]) => Buffer.concat([Buffer.from(line, 'latin1'), rest])),
      // Anything.
      fc.uint8Array({ minLength: 1, maxLength: 1024, size: 'max' }).map((bytes) => Buffer.from(bytes)),
    );

    let cases = 0;
    await fc.assert(
      fc.asyncProperty(request, fc.constantFrom('end', 'destroy'), async (bytes, ending) => {
        cases++;
        const socket = net.connect(server.port, '127.0.0.1');
        socket.on('error', () => undefined);
        const closed = once(socket, 'close');
        await within(5000, once(socket, 'connect'), 'the connection');
        const chunks: Buffer[] = [];
        socket.on('data', (chunk: Buffer) => chunks.push(chunk));
        socket.write(bytes);
        if (ending === 'end') {
          socket.end();
          await within(5000, closed, 'the server to answer and close');
          const received = Buffer.concat(chunks).toString('latin1');
          if (received !== '') expect(received).to.match(/^HTTP\/1\.[01] [1-5]\d\d /);
        } else {
          socket.destroy();
        }
        const health = await within(5000, fetchText(`${server.url}/`), 'a normal GET');
        expect(health.status).to.equal(200);
        expect(health.body).to.equal('read 0');
        // Nothing is left behind: every connection, exchange and WebSocket of this run is released.
        await eventually(
          () => server.stats(),
          (s) => s.connections + s.requests + s.websockets === 0,
          'every connection, exchange and WebSocket to be released',
          3000,
        );
        for (const error of errors) expect(error).to.be.instanceOf(RxjetError);
        expect(uncaught.seen).to.deep.equal([]);
      }),
      budget(0x5eed_0001, 5000),
    );
    expect(cases).to.be.greaterThan(0);
    await within(5000, server.close({ timeout: 100 }), 'server.close() to resolve');
    expect(uncaught.seen).to.deep.equal([]);
  });

  it('random bytes as responses: the client emits a response or a typed error, never hangs', async () => {
    const uncaught = watchUncaught();
    cleanups.push(uncaught.stop);

    const statusLine = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'HTTP/1.1 200 OK\r\n',
          'HTTP/1.1 404 Not Found\r\n',
          'HTTP/1.0 200 OK\r\n',
          'HTTP/1.1 302 Found\r\n',
          'HTTP/1.1 503 Service Unavailable\r\n',
          'HTTP/1.1 200 \r\n',
        ),
      },
      fc.constantFrom(
        'HTTP/1.1 100 Continue\r\n',
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n',
        'HTTP/1.1 101 Switching Protocols\r\n',
        'HTTP/1.1 204 No Content\r\n',
        'HTTP/1.1 304 Not Modified\r\n',
        'HTTP/1.1 999 Whatever\r\n',
        'HTTP/1.1 1000 Too Big\r\n',
        'HTTP/1.1 20 Short\r\n',
        'HTTP/2 200\r\n',
        'ICY 200 OK\r\n',
        'HTTP/1.1 200 OK\n',
      ),
    );
    const field = fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          'Content-Length: 5\r\n',
          'Content-Length: 0\r\n',
          'Content-Length: 999999999\r\n',
          'Content-Length: -1\r\n',
          'Content-Length: 3\r\nContent-Length: 4\r\n',
          'Transfer-Encoding: chunked\r\n',
          'Transfer-Encoding: chunked\r\nContent-Length: 5\r\n',
          'Transfer-Encoding: gzip\r\n',
          'Content-Encoding: gzip\r\n',
          'Content-Encoding: deflate\r\n',
          'Content-Encoding: br\r\n',
          'Content-Encoding: gzip, gzip, gzip, gzip, gzip, gzip\r\n',
          'Content-Encoding: identity, zstd\r\n',
          'Content-Type: text/plain; charset=utf-16le\r\n',
          'Content-Type: text/plain; charset=nope\r\n',
          'Location: /elsewhere\r\n',
          'Set-Cookie: a=b; Domain=evil.example\r\n',
          'Set-Cookie: __proto__=x; Path=/\r\n',
          'Connection: close\r\n',
          'Connection: keep-alive\r\n',
          'Retry-After: 1\r\n',
          'WWW-Authenticate: Digest realm="a", nonce="b", qop="auth"\r\n',
        ),
      },
      {
        weight: 3,
        arbitrary: fc
          .stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,11}: [\x20-\x7e]{0,24}\r\n$/)
          .filter((line) => !/^location:/i.test(line)), // redirects stay on this server
      },
      fc.constantFrom(' folded\r\n', '\n', '\r', 'X: a\nY: b\r\n', 'X:\0\r\n', 'X : a\r\n', ': a\r\n', 'X\r\n'),
      fc.uint8Array({ minLength: 1, maxLength: 32 }).map(latin1),
    );
    const tail = fc.array(
      fc.oneof(
        fc.constantFrom(
          'hello',
          '0\r\n\r\n',
          '5\r\nhello\r\n',
          '5;ext=1\r\nhello\r\n',
          'ffffffffffffffff\r\n',
          '0\r\nTrailer: x\r\n\r\n',
          '\x1f\x8b\x08\x00\x00\x00\x00\x00', // the start of a gzip stream
          'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', // a second response nobody asked for
        ),
        fc.uint8Array({ minLength: 1, maxLength: 2048, size: 'max' }).map(latin1),
      ),
      { maxLength: 4 },
    );
    const malformed = fc.oneof(
      // A status line and head that are mostly well-formed, then a body of fragments.
      {
        weight: 4,
        arbitrary: fc
          .tuple(
            statusLine,
            fc.array(field, { maxLength: 8 }),
            fc.oneof({ weight: 4, arbitrary: fc.constant('\r\n') }, fc.constantFrom('', '\n', '\r')),
            tail,
          )
          .map(([line, fields, end, rest]) => Buffer.from(line + fields.join('') + end + rest.join(''), 'latin1')),
      },
      // A valid status line, then anything.
      fc
        .tuple(statusLine, fc.uint8Array({ maxLength: 2048, size: 'max' }))
        .map(([line, rest]) => Buffer.concat([Buffer.from(line, 'latin1'), rest])),
      // Anything.
      fc.uint8Array({ minLength: 1, maxLength: 2048, size: 'max' }).map((bytes) => Buffer.from(bytes)),
    );
    /** A well-formed response with a random body: the client must hand over exactly that body. */
    const wellFormed = fc
      .record({
        status: fc.constantFrom(200, 201, 404, 500),
        framing: fc.constantFrom('length', 'chunked', 'close'),
        body: fc.uint8Array({ maxLength: 2048, size: 'max' }),
      })
      .map(({ status, framing, body }) => {
        const framed =
          framing === 'length'
            ? Buffer.concat([Buffer.from(`content-length: ${body.byteLength}\r\n\r\n`), body])
            : framing === 'chunked'
              ? Buffer.concat([
                  Buffer.from('transfer-encoding: chunked\r\n\r\n'),
                  ...(body.byteLength === 0 ? [] : [Buffer.from(`${body.byteLength.toString(16)}\r\n`), body]),
                  Buffer.from(body.byteLength === 0 ? '0\r\n\r\n' : '\r\n0\r\n\r\n'),
                ])
              : Buffer.concat([Buffer.from('connection: close\r\n\r\n'), body]);
        return { bytes: Buffer.concat([Buffer.from(`HTTP/1.1 ${status} X\r\n`), framed]), status, body };
      });
    const response = fc.oneof(
      malformed.map((bytes) => ({ bytes, status: undefined, body: undefined })),
      wellFormed,
    );

    let current: { bytes: Buffer; ending: 'end' | 'reset' } = { bytes: Buffer.alloc(0), ending: 'end' };
    const raw = await rawServer((socket) => {
      const { bytes, ending } = current;
      socket.write(bytes);
      if (ending === 'end') socket.end();
      else socket.resetAndDestroy();
    });
    cleanups.push(raw.close);

    const allowed = ['RXJET_ERR_NETWORK', 'RXJET_ERR_DECODE', 'RXJET_ERR_RESPONSE_TOO_LARGE', 'RXJET_ERR_TIMEOUT'];
    allowed.push('RXJET_ERR_REDIRECT'); // `Location: /elsewhere` loops back here
    const limit = 1024;

    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        response,
        fc.constantFrom('end', 'reset'),
        fc.constantFrom('text', 'stream'),
        async ({ bytes, status, body }, ending, as) => {
          cases++;
          current = { bytes, ending: body === undefined ? ending : 'end' };
          const client = createClient({
            timeout: { connect: 2000, headers: 2000, body: 2000 },
            maxResponseSize: limit,
          });
          try {
            const outcome = await within(
              8000,
              as === 'text' ? readText(client, raw.url) : readStream(client, raw.url),
              'the client to emit a response or an error',
            );
            if (outcome.error !== undefined) {
              expect(outcome.error, inspect(outcome.error)).to.be.instanceOf(RxjetError);
              expect(allowed).to.include((outcome.error as RxjetError).code);
            }
            if (body !== undefined) {
              // A well-formed response: its status and exactly its body (read whole only up to the limit).
              if (as === 'text' && body.byteLength > limit) {
                expect((outcome.error as RxjetError | undefined)?.code).to.equal('RXJET_ERR_RESPONSE_TOO_LARGE');
              } else {
                expect(outcome.error).to.equal(undefined);
                expect(outcome.status).to.equal(status);
                if (as === 'text') expect(outcome.text).to.equal(Buffer.from(body).toString());
                else expect(outcome.bytes!.equals(Buffer.from(body))).to.equal(true);
              }
            }
          } finally {
            await within(5000, client.close(), 'the client to close');
          }
          expect(uncaught.seen).to.deep.equal([]);
        },
      ),
      budget(0x5eed_0002, 3000),
    );
    expect(cases).to.be.greaterThan(0);
    expect(uncaught.seen).to.deep.equal([]);
  });

  it('random header names and values set by a handler: sent exactly as given, or a 500 and an InvalidHeaderError', async () => {
    type BodyKind = 'string' | 'bytes' | 'stream' | 'none';
    let current = { name: 'x-test', value: '', body: 'none' as BodyKind };
    const server = await start(() => ({
      headers: { [current.name]: current.value },
      body:
        current.body === 'string'
          ? 'ok'
          : current.body === 'bytes'
            ? Buffer.from('ok')
            : current.body === 'stream'
              ? of('o', 'k')
              : null,
    }));
    const standard = new Set([
      'content-length',
      'content-type',
      'date',
      'connection',
      'keep-alive',
      'transfer-encoding',
      'x-content-type-options',
    ]);

    let cases = 0;
    await fc.assert(
      fc.asyncProperty(
        headerCase,
        fc.constantFrom<BodyKind>('string', 'bytes', 'stream', 'none'),
        async (given, body) => {
          cases++;
          current = { ...given, body };
          const errorsBefore = server.errors.length;
          const { received } = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
          const lines = headLines(received);
          expect(lines, 'a complete response head').to.not.equal(undefined);
          const [statusLine, ...fields] = lines!;
          // Every line of the head is one well-formed field: nothing from the value split it.
          for (const field of fields) expect(field).to.match(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\r\n]*$/);
          const names = fields.map((field) => field.slice(0, field.indexOf(':')).toLowerCase());
          const errors = server.errors.slice(errorsBefore);
          if (statusLine === 'HTTP/1.1 200 OK') {
            const line = `${given.name}: ${given.value}`;
            expect(fields, 'the header, byte for byte as given').to.include(line);
            expect(fields.filter((field) => field === line)).to.have.length(1);
            expect(names.filter((name) => !standard.has(name))).to.deep.equal([given.name.toLowerCase()]);
            expect(errors).to.deep.equal([]);
            expect(breaksLines(given), 'a CR, LF or NUL was sent').to.equal(false);
          } else {
            expect(statusLine).to.equal('HTTP/1.1 500 Internal Server Error');
            expect(names.filter((name) => !standard.has(name))).to.deep.equal([]);
            expect(errors).to.have.length(1);
            expect(errors[0]).to.be.instanceOf(InvalidHeaderError);
            expect((errors[0] as InvalidHeaderError).header).to.equal(given.name);
            expect(sendable(given), 'a sendable header was refused').to.equal(false);
          }
        },
      ),
      budget(0x5eed_0003, 5000),
    );
    expect(cases).to.be.greaterThan(0);
  });

  for (const where of ['request', 'client'] as const) {
    const given = where === 'request' ? 'get(client, url, { headers })' : 'createClient({ headers })';
    it(`random header names and values given to ${given}: InvalidOptionError at call time, or sent exactly`, async () => {
      let head = '';
      const raw = await rawServer((socket, received) => {
        head = received;
        socket.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      });
      cleanups.push(raw.close);
      const options = { timeout: { connect: 2000, headers: 2000, body: 2000 }, decompress: false };
      const shared = createClient(options);
      cleanups.push(() => shared.close());
      const standard = new Set(['host', 'connection']);

      let cases = 0;
      await fc.assert(
        fc.asyncProperty(headerCase, async (header) => {
          cases++;
          head = '';
          const headers = { [header.name]: header.value };
          let client = shared;
          let response$;
          try {
            if (where === 'client') client = createClient({ ...options, headers });
            response$ = get(client, `${raw.url}/`, where === 'request' ? { headers, as: 'text' } : { as: 'text' });
          } catch (error) {
            expect(error).to.be.instanceOf(InvalidOptionError);
            expect(sendable(header), 'a sendable header was refused').to.equal(false);
            return;
          }
          try {
            expect(breaksLines(header), 'a header with CR, LF or NUL was accepted').to.equal(false);
            const outcome = await within(
              5000,
              new Promise<unknown>((resolve) => response$.subscribe({ next: resolve, error: resolve })),
              'the response',
            );
            expect(outcome, inspect(outcome)).to.not.be.instanceOf(Error);
          } finally {
            if (client !== shared) await within(5000, client.close(), 'the client to close');
          }
          const lines = headLines(head);
          expect(lines, 'a complete request head').to.not.equal(undefined);
          const fields = lines!.slice(1);
          for (const field of fields) expect(field).to.match(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+: [^\r\n]*$/);
          // Names are case-insensitive (the client sends them lower-cased); the value is byte for byte.
          const name = header.name.toLowerCase();
          const names = fields.map((field) => field.slice(0, field.indexOf(':')).toLowerCase());
          expect(
            names.filter((other) => !standard.has(other)),
            'the header names sent',
          ).to.deep.equal([name]);
          const sent = fields.find((field) => field.slice(0, field.indexOf(':')).toLowerCase() === name)!;
          expect(sent.slice(sent.indexOf(':') + 2), 'the header value, byte for byte as given').to.equal(header.value);
        }),
        budget(where === 'request' ? 0x5eed_0004 : 0x5eed_0006, 3000),
      );
      expect(cases).to.be.greaterThan(0);
    });
  }

  it('random strings over a WebSocket arrive unchanged, both ways', async () => {
    // Each arrival wakes the waiter, so a run waits for its messages and no longer.
    let wake: () => void = () => undefined;
    async function collected(list: readonly unknown[], count: number, what: string): Promise<void> {
      while (list.length < count) await within(5000, new Promise<void>((resolve) => (wake = resolve)), what);
    }
    let conn: WebSocketConnection | undefined;
    const atServer: unknown[] = [];
    const server = await start(undefined, {
      websocketHandler: (c) => {
        conn = c;
        c.in$.subscribe((message) => {
          atServer.push(message);
          wake();
        });
      },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    cleanups.push(() => ws.terminate());
    const atClient: { data: string; binary: boolean }[] = [];
    ws.on('message', (data: Buffer, binary: boolean) => {
      atClient.push({ data: data.toString(), binary });
      wake();
    });
    await within(5000, once(ws, 'open'), 'the ws client to open');
    await until(() => conn !== undefined, 'the server side of the WebSocket');

    // Unit 'binary' makes no lone surrogates, which UTF-8 could not carry unchanged.
    // Lengths around 125, 126 and 65535 bytes take the three payload length encodings of RFC 6455.
    const long = fc.string({ unit: 'binary-ascii', minLength: 120, maxLength: 70_000, size: 'max' });
    const messages = fc.array(
      fc.oneof(
        { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
        { weight: 4, arbitrary: hostileString },
        long,
      ),
      {
        minLength: 1,
        maxLength: 8,
      },
    );
    let cases = 0;
    await fc.assert(
      fc.asyncProperty(messages, async (sent) => {
        cases++;
        const before = atClient.length;
        for (const message of sent) conn!.out$.next(message);
        await collected(atClient, before + sent.length, 'the messages at the client');
        expect(atClient.slice(before)).to.deep.equal(sent.map((data) => ({ data, binary: false })));

        const serverBefore = atServer.length;
        for (const message of sent) ws.send(message);
        await collected(atServer, serverBefore + sent.length, 'the messages at the server');
        expect(atServer.slice(serverBefore)).to.deep.equal(sent);
      }),
      budget(0x5eed_0005, 800),
    );
    expect(cases).to.be.greaterThan(0);
    expect(server.errors).to.deep.equal([]);
  });
});

/** What one client request came to. */
interface Outcome {
  status?: number;
  text?: string;
  bytes?: Buffer;
  error?: unknown;
}

/** `get(..., { as: 'text' })`: the response or the error. */
function readText(client: Client, url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    get(client, `${url}/`, { as: 'text' }).subscribe({
      next: (res) => resolve({ status: res.status, text: res.body }),
      error: (error: unknown) => resolve({ error }),
    });
  });
}

/** `get(...)` with the body streamed: the response and its bytes, or the error of either. */
function readStream(client: Client, url: string): Promise<Outcome> {
  return new Promise((resolve) => {
    get(client, `${url}/`).subscribe({
      next: (res) => {
        const chunks: Uint8Array[] = [];
        res.body.subscribe({
          next: (chunk) => chunks.push(chunk),
          error: (error: unknown) => resolve({ status: res.status, error }),
          complete: () => resolve({ status: res.status, bytes: Buffer.concat(chunks) }),
        });
      },
      error: (error: unknown) => resolve({ error }),
    });
  });
}
