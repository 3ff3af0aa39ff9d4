import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';
import { within } from '../helpers.js';
import { failureOf, HostilePeers } from './peers.js';

describe('hostile servers against the client: a request always settles', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  let client: Client;
  beforeEach(() => {
    client = createClient({ timeout: { headers: 1000, body: 1000 } });
  });
  afterEach(async () => {
    await peers.closeAll();
    await client.close();
  });

  for (const [name, interim] of [
    ['102 Processing', 'HTTP/1.1 102 Processing\r\n\r\n'],
    ['103 Early Hints', 'HTTP/1.1 103 Early Hints\r\nlink: </a.css>; rel=preload\r\n\r\n'],
  ] as const) {
    it(`times out the headers phase whatever ${name} answers keep coming`, async () => {
      const { url } = await peers.raw((socket) => {
        socket.write(interim);
        peers.every(250, () => !socket.destroyed && socket.write(interim));
      });
      const started = Date.now();
      const error = await within(5000, failureOf(firstValueFrom(get(client, url))), 'the request to settle');
      expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'headers', timeout: 1000, url });
      expect(Date.now() - started).to.be.at.least(900);
    });
  }

  it('counts the headers phase of each redirect hop from its own request', async () => {
    const { url } = await peers.raw((socket, request) => {
      if (request.startsWith('GET / ')) {
        socket.end('HTTP/1.1 302 Found\r\nlocation: /held\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        return;
      }
      socket.write('HTTP/1.1 102 Processing\r\n\r\n');
      peers.every(250, () => !socket.destroyed && socket.write('HTTP/1.1 102 Processing\r\n\r\n'));
    });
    const error = await within(5000, failureOf(firstValueFrom(get(client, url))), 'the request to settle');
    expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'headers' });
  });

  it('still gives a final head that follows some 1xx answers', async () => {
    const { url } = await peers.raw((socket) => {
      socket.write('HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\n');
      setTimeout(() => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok'), 300);
    });
    const res = await firstValueFrom(get(client, url, { as: 'text' }));
    expect([res.status, res.body]).to.deep.equal([200, 'ok']);
  });

  it('ends a body read whole that trickles forever at its total deadline, however the bytes are spaced', async () => {
    const { url } = await peers.raw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
      peers.every(200, () => !socket.destroyed && socket.write('1\r\nx\r\n'));
    });
    const error = await within(
      5000,
      failureOf(firstValueFrom(get(client, url, { as: 'text', timeout: { total: 1500 } }))),
      'the request to settle',
    );
    expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'total', timeout: 1500 });
  });
});
