import { expect } from 'chai';
import { connect, constants } from 'node:http2';
import http from 'node:http';
import { once } from 'node:events';
import net from 'node:net';
import { map } from 'rxjs';
import { text } from '../../src/server/index.js';
import { sniff } from '../../src/server/http2.js';
import { closeAll, eventually, start, until } from '../helpers.js';
import { RawClient } from './wire.js';

/*
 * The cleartext HTTP/2 front: a client that drops its connection with uploads in flight is a
 * client leaving (not an error to report), on HTTP/2 as on HTTP/1.1; and the front tells
 * HTTP/1.1 from HTTP/2 by the whole preface, whatever the TCP segments.
 */

describe('hostile: the HTTP/2 front', function () {
  this.timeout(15_000);
  afterEach(closeAll);

  it('reports nothing when an HTTP/2 client drops its connection with 20 uploads in flight', async () => {
    let reading = 0;
    let cancelled = 0;
    const server = await start(
      (req) => {
        reading++;
        req.signal.addEventListener('abort', () => cancelled++);
        return text(req).pipe(map((body) => ({ body })));
      },
      { http2: true },
    );
    const socket = net.connect(server.port, '127.0.0.1');
    const session = connect(server.url, { createConnection: () => socket });
    session.on('error', () => undefined);
    for (let i = 0; i < 20; i++) {
      const stream = session.request({
        [constants.HTTP2_HEADER_METHOD]: 'POST',
        [constants.HTTP2_HEADER_PATH]: `/up/${i}`,
      });
      stream.on('error', () => undefined);
      stream.write('part of a body that never ends');
    }
    await until(() => reading === 20, 'the 20 uploads to reach the handler');
    socket.destroy();
    await until(() => cancelled === 20, 'every upload to be cancelled');
    await eventually(
      () => server.stats(),
      (s) => s.connections === 0 && s.requests === 0,
      'nothing held',
    );
    expect(server.errors).to.deep.equal([]);
  });

  it('reports nothing when an HTTP/1.1 client drops its connection during an upload (the same rule)', async () => {
    let cancelled = 0;
    const server = await start(
      (req) => {
        req.signal.addEventListener('abort', () => cancelled++);
        return text(req).pipe(map((body) => ({ body })));
      },
      { http2: true },
    );
    const req = http.request(`${server.url}/up`, { method: 'POST', agent: false });
    req.on('error', () => undefined);
    req.write('part of a body that never ends');
    await eventually(
      () => server.stats(),
      (s) => s.requests === 1,
      'the upload to be read',
    );
    req.destroy();
    await until(() => cancelled === 1, 'the upload to be cancelled');
    expect(server.errors).to.deep.equal([]);
  });

  for (const [name, split] of [
    ['one byte, then the rest', 1],
    ['three bytes, then the rest', 3],
    ['23 bytes, then the rest', 23],
  ] as const) {
    it(`serves an HTTP/1.1 PUT sent as ${name} in HTTP/1.1`, async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body }))), { http2: true });
      const request = 'PUT /item HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello';
      const client = await new RawClient(server.port).connected();
      client.socket.setNoDelay(true);
      client.write(request.slice(0, split));
      // Best effort to make the first bytes a segment of their own; the sniffing test below
      // proves the rule without depending on how TCP delivers them.
      await new Promise((resolve) => setImmediate(resolve));
      client.write(request.slice(split));
      const [response] = await client.responses(1, 'the response');
      expect(response).to.deep.include({ status: 200, body: 'hello' });
    });
  }

  it('decides on the first differing byte or the whole preface, never on a prefix of it', async () => {
    const decisions: { isHttp2: boolean; bytes: string }[] = [];
    const seen: string[] = [];
    const listener = net.createServer((socket) => {
      const spy = (chunk: Buffer): number => seen.push(chunk.toString('latin1'));
      socket.on('data', spy);
      sniff(socket, 5000, (sniffed, isHttp2) => {
        sniffed.off('data', spy);
        // What the protocol's parser gets next: every byte read so far, put back.
        sniffed.once('data', (chunk: Buffer) => decisions.push({ isHttp2, bytes: chunk.toString('latin1') }));
      });
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    const port = (listener.address() as net.AddressInfo).port;
    try {
      for (const [first, rest, isHttp2] of [
        ['P', 'UT / HTTP/1.1\r\n', false],
        ['PRI * HTTP/2.0\r\n', '\r\nSM\r\n\r\n', true],
        ['PRI * HTTP/1.1', '\r\n', false],
      ] as const) {
        seen.length = 0;
        decisions.length = 0;
        const client = net.connect(port, '127.0.0.1');
        await once(client, 'connect');
        client.write(first);
        await until(
          () => seen.join('') === first,
          `the server to read ${JSON.stringify(first)} alone, read ${JSON.stringify(seen)}`,
        );
        expect(decisions, `a decision on ${JSON.stringify(first)} alone`).to.deep.equal(
          first === 'PRI * HTTP/1.1' ? [{ isHttp2: false, bytes: first }] : [],
        );
        if (first !== 'PRI * HTTP/1.1') client.write(rest);
        await until(() => decisions.length > 0, 'the decision');
        expect(decisions[0]!.isHttp2).to.equal(isHttp2);
        expect(decisions[0]!.bytes, 'the bytes handed on').to.equal(first === 'PRI * HTTP/1.1' ? first : first + rest);
        client.destroy();
      }
    } finally {
      listener.close();
    }
  });

  it('still takes HTTP/2 whose preface comes one byte at a time', async () => {
    const server = await start(() => ({ body: 'over h2' }), { http2: true });
    const client = await new RawClient(server.port).connected();
    client.socket.setNoDelay(true);
    const preface = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
    for (const byte of preface) client.write(byte);
    // An empty SETTINGS frame: the server answers with its own SETTINGS (frame type 4), which
    // is HTTP/2; an HTTP/1.1 server would answer 400.
    client.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
    await until(() => client.received.length >= 9, 'the server preface');
    const bytes = Buffer.from(client.received, 'latin1');
    expect(bytes[3], 'frame type of the first frame').to.equal(4);
    expect(client.received).not.to.include('HTTP/1.1');
  });
});
