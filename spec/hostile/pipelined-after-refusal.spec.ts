import { expect } from 'chai';
import { closeAll, start } from '../helpers.js';
import { drained, exchange, parseResponses } from './wire.js';

/*
 * Request smuggling by pipelining: a request whose framing the server refuses, with a second
 * request behind it on the same connection. Once a request's framing is faulty, nothing after
 * it on that connection can be trusted (RFC 9112 sections 6.1 and 11.2): the server answers the
 * refusal, closes, and routes nothing that followed. The bytes are sent in one write, as an
 * attacker would.
 */

const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
const transfer = 'POST /transfer-money HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}';

const cases: [name: string, status: number, bytes: string][] = [
  [
    'HTTP/1.0 with Connection: keep-alive and Transfer-Encoding: chunked, then a GET',
    400,
    'POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' + smuggled,
  ],
  [
    'HTTP/1.0 with Transfer-Encoding: chunked carrying the second request in its body',
    400,
    'POST / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n' +
      `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
  ],
  ['two Host fields, then a POST', 400, 'GET /first HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' + transfer],
  [
    'Transfer-Encoding: chunked, gzip (chunked not last), then a POST',
    400,
    'POST /first HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n' + transfer,
  ],
  [
    'more header fields than maxHeadersCount, then a POST',
    431,
    `GET /first HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 12 }, (_, i) => `X-${i}: y\r\n`).join('')}\r\n` +
      transfer,
  ],
];

describe('hostile: requests pipelined behind a refused request', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  for (const [name, status, bytes] of cases) {
    it(`answers ${status} to ${name}, closes, and routes nothing after it`, async () => {
      const routed: string[] = [];
      const server = await start(
        (req) => {
          routed.push(`${req.method} ${req.path}`);
          return { body: 'routed' };
        },
        { maxHeadersCount: 10 },
      );
      const { received, closed } = await exchange(server.port, bytes);
      const { responses, trailing } = parseResponses(received);
      expect(responses.map((r) => r.status)).to.deep.equal([status]);
      expect(responses[0]!.headers.connection).to.equal('close');
      expect(trailing).to.equal('');
      expect(closed).to.equal(true);
      expect(routed).to.deep.equal([]);
      await drained(server);
    });
  }

  it('still routes both of two well-framed pipelined requests', async () => {
    const routed: string[] = [];
    const server = await start((req) => {
      routed.push(`${req.method} ${req.path}`);
      return { body: 'routed' };
    });
    const { received } = await exchange(
      server.port,
      'GET /first HTTP/1.1\r\nHost: x\r\n\r\n' + transfer.replace('Host: x', 'Host: x\r\nConnection: close'),
    );
    expect(parseResponses(received).responses.map((r) => [r.status, r.body])).to.deep.equal([
      [200, 'routed'],
      [200, 'routed'],
    ]);
    expect(routed).to.deep.equal(['GET /first', 'POST /transfer-money']);
  });
});
