import { expect } from 'chai';
import { firstValueFrom, map, of, reduce, type Observable } from 'rxjs';
import { json, text, type ServeOptions } from '../../src/server/index.js';
import { inject, mockRequest, type MockRequestOptions } from '../../src/testing/index.js';
import { closeAll, rawExchange, start } from '../helpers.js';
import { parseResponses } from './wire.js';

/*
 * The testing kit must agree with the server: `inject(server, req)` runs the server's handler
 * with the server's limits, a mock request's headers are shaped as a served request's, and an
 * injected response's headers are the ones a client reads off the wire. Each case runs through
 * a real socket and through `inject`, side by side, and both must give the same answer.
 */

interface Case {
  name: string;
  options: Partial<ServeOptions>;
  handler: NonNullable<ServeOptions['handler']>;
  /** The request as bytes on the wire. */
  wire: string;
  /** The same request for mockRequest. */
  mock: MockRequestOptions;
  status: number;
  body: string;
}

const big = JSON.stringify({ data: 'x'.repeat(5 * 1024) });
const chunked = (body: string): string => `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
const bytesOf = (req: { body: Observable<Uint8Array> }) =>
  req.body.pipe(
    reduce((sum, chunk) => sum + chunk.byteLength, 0),
    map((n) => ({ body: String(n) })),
  );
const limits = { maxBodySize: 1000, maxRequestBodySize: 1000 };

const cases: Case[] = [
  {
    name: 'json() past maxBodySize and maxRequestBodySize, declared by content-length',
    options: limits,
    handler: (req) => json(req).pipe(map(() => ({ status: 201, body: 'created' }))),
    wire: `POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
    mock: { method: 'POST', url: '/items', headers: { 'content-type': 'application/json' }, body: big },
    status: 413,
    body: 'The request body is larger than 1000 bytes.',
  },
  {
    name: 'text() past maxBodySize alone (maxRequestBodySize unlimited)',
    options: { maxBodySize: 1000 },
    handler: (req) => text(req).pipe(map((t) => ({ body: String(t.length) }))),
    wire: `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
    mock: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: big },
    status: 413,
    body: 'The request body is larger than 1000 bytes.',
  },
  {
    name: 'req.body streamed past maxRequestBodySize, declared by content-length',
    options: limits,
    handler: bytesOf,
    wire: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${big.length}\r\nConnection: close\r\n\r\n${big}`,
    mock: { method: 'POST', body: big },
    status: 413,
    body: 'The request body is larger than 1000 bytes.',
  },
  {
    name: 'req.body streamed past maxRequestBodySize, chunked (no length declared)',
    options: limits,
    handler: bytesOf,
    wire: `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunked(big)}`,
    mock: { method: 'POST', body: of(new Uint8Array(Buffer.from(big))) },
    status: 413,
    body: 'The request body is larger than 1000 bytes.',
  },
  {
    name: 'a body within the limits',
    options: limits,
    handler: bytesOf,
    wire: `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789`,
    mock: { method: 'POST', body: '0123456789' },
    status: 200,
    body: '10',
  },
  {
    name: 'two Cookie fields',
    options: {},
    handler: (req) => ({ body: req.headers.cookie ?? '' }),
    wire: 'GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n',
    mock: { headers: { Cookie: 'a=1', cookie: 'b=2' } },
    status: 200,
    body: 'a=1; b=2',
  },
  {
    name: 'a Cookie field given as an array, beside two Accept fields',
    options: {},
    handler: (req) => ({ body: `${req.headers.cookie} | ${req.headers.accept}` }),
    wire: 'GET / HTTP/1.1\r\nHost: x\r\nCookie: a=1\r\nCookie: b=2\r\nAccept: text/html\r\nAccept: */*\r\nConnection: close\r\n\r\n',
    mock: { headers: { cookie: ['a=1', 'b=2'], Accept: 'text/html', accept: '*/*' } },
    status: 200,
    body: 'a=1; b=2 | text/html, */*',
  },
];

describe('hostile: inject agrees with a real socket', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  for (const c of cases) {
    it(`answers ${c.status} to ${c.name}, over a socket and through inject`, async () => {
      const server = await start(c.handler, c.options);
      const { received } = await rawExchange(server.port, c.wire);
      const [real] = parseResponses(received).responses;
      expect(real, 'the real response').to.deep.include({ status: c.status, body: c.body });
      const injected = await firstValueFrom(inject(server, mockRequest(c.mock)));
      expect({ status: injected.status, body: injected.body }, 'the injected response').to.deep.equal({
        status: c.status,
        body: c.body,
      });
    });
  }

  it('gives response headers named constructor, __proto__ and toString as a client reads them', async () => {
    const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty'];
    const server = await start(() => ({
      headers: Object.fromEntries(names.map((name) => [name, `${name}-value`])),
      body: 'ok',
    }));
    const { received } = await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const head = received.slice(0, received.indexOf('\r\n\r\n'));
    const injected = await firstValueFrom(inject(server, mockRequest()));
    for (const name of names) {
      expect(head, 'on the wire').to.include(`\r\n${name}: ${name}-value`);
      expect(Object.getOwnPropertyDescriptor(injected.headers, name.toLowerCase())?.value, `injected ${name}`).to.equal(
        `${name}-value`,
      );
    }
  });
});
