import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { createClient, get, head, type Client } from '../../src/client/index.js';
import { HostilePeers, turns } from './peers.js';

const big = String(20 * 1024 * 1024);

describe('hostile servers against the client: responses that never have content (RFC 9112 section 6.3)', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  let client: Client;
  beforeEach(() => {
    client = createClient({ timeout: { headers: 2000, body: 2000 }, maxResponseSize: 1024 * 1024 });
  });
  afterEach(async () => {
    await peers.closeAll();
    await client.close();
  });

  /** A raw server answering every request with this head and nothing after it, then closing. */
  const answering = (status: string, fields: string) =>
    peers.raw((socket) => socket.end(`HTTP/1.1 ${status}\r\n${fields}connection: close\r\n\r\n`));

  const cases = [
    { name: 'a HEAD', status: '200 OK', ask: head },
    { name: 'a 204', status: '204 No Content', ask: get },
    { name: 'a 304', status: '304 Not Modified', ask: get },
  ];

  for (const { name, status, ask } of cases) {
    for (const coding of ['gzip', 'br', 'deflate', 'gzip, br']) {
      it(`answers ${name} with content-encoding: ${coding} with its status and an empty body`, async () => {
        const { url } = await answering(status, `content-encoding: ${coding}\r\ncontent-length: 20\r\n`);
        const code = Number(status.slice(0, 3));
        const streamed = await firstValueFrom(ask(client, url));
        expect(streamed.status).to.equal(code);
        expect(await lastValueFrom(streamed.body.pipe(toArray()))).to.deep.equal([]);
        const whole = await firstValueFrom(ask(client, url, { as: 'text' }));
        expect([whole.status, whole.body]).to.deep.equal([code, '']);
        const unread = await firstValueFrom(ask(client, url));
        expect(unread.status).to.equal(code);
        await turns();
      });
    }

    it(`answers ${name} declaring a length past maxResponseSize, read with as and with retries`, async () => {
      const { url } = await answering(status, `content-length: ${big}\r\ncontent-type: text/plain\r\n`);
      const code = Number(status.slice(0, 3));
      for (const as of ['text', 'json', 'bytes'] as const) {
        const res = await firstValueFrom(ask(client, url, { as }));
        const body: unknown = res.body;
        expect(res.status, as).to.equal(code);
        expect(body instanceof Uint8Array ? body.byteLength : body, as).to.equal(
          as === 'text' ? '' : as === 'json' ? undefined : 0,
        );
      }
      const retried = await firstValueFrom(ask(client, url, { as: 'text', retry: 1 }));
      expect([retried.status, retried.body]).to.deep.equal([code, '']);
    });
  }

  for (const coding of ['gzip', 'br', 'deflate', 'gzip, br']) {
    it(`gives an empty body, as fetch does, for a 200 with no bytes under content-encoding: ${coding}`, async () => {
      const { url } = await answering('200 OK', `content-encoding: ${coding}\r\ncontent-length: 0\r\n`);
      const res = await firstValueFrom(get(client, url, { as: 'text' }));
      expect([res.status, res.body]).to.deep.equal([200, '']);
      const streamed = await firstValueFrom(get(client, url));
      expect(await lastValueFrom(streamed.body.pipe(toArray()))).to.deep.equal([]);
    });
  }
});
