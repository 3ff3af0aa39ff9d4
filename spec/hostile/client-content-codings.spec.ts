import { expect } from 'chai';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { firstValueFrom, lastValueFrom, reduce } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';
import { failureOf, HostilePeers } from './peers.js';

const text = 'deflated, one way or the other '.repeat(200);

describe('hostile servers against the client: content codings as servers really send them', function () {
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

  /** A server answering with `body` under `coding`, its first byte sent alone to split any header. */
  const serving = (coding: string, body: Buffer) =>
    peers.http((_req, res) => {
      res.writeHead(200, { 'content-encoding': coding, 'content-type': 'text/plain' });
      res.write(body.subarray(0, 1));
      setImmediate(() => res.end(body.subarray(1)));
    });

  it('inflates Content-Encoding: deflate sent as raw DEFLATE, as fetch and browsers do', async () => {
    const { url } = await serving('deflate', deflateRawSync(text));
    expect((await firstValueFrom(get(client, url, { as: 'text' }))).body).to.equal(text);
    const streamed = await firstValueFrom(get(client, url));
    const body = await lastValueFrom(
      streamed.body.pipe(reduce((all, chunk) => all + Buffer.from(chunk).toString(), '')),
    );
    expect(body).to.equal(text);
  });

  it('still inflates zlib-wrapped deflate, and raw DEFLATE inside a chain of codings', async () => {
    const zlib = await serving('deflate', deflateSync(text));
    expect((await firstValueFrom(get(client, zlib.url, { as: 'text' }))).body).to.equal(text);
    const chain = await serving('deflate, gzip', gzipSync(deflateRawSync(text)));
    expect((await firstValueFrom(get(client, chain.url, { as: 'text' }))).body).to.equal(text);
  });

  it('stops a raw DEFLATE bomb at maxResponseSize, counting inflated bytes', async () => {
    const { url } = await serving('deflate', deflateRawSync(Buffer.alloc(64 * 1024 * 1024)));
    const error = await failureOf(firstValueFrom(get(client, url, { as: 'bytes' })));
    expect(error).to.include({ code: 'RXJET_ERR_RESPONSE_TOO_LARGE', limit: 1024 * 1024 });
  });

  it('fails with a NetworkError, not a crash, on deflate data that is neither form, or one byte long', async () => {
    for (const body of [Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x78])]) {
      const { url } = await peers.http((_req, res) => {
        res.writeHead(200, { 'content-encoding': 'deflate' });
        res.end(body);
      });
      const error = await failureOf(firstValueFrom(get(client, url, { as: 'text' })));
      expect(error, body.toString('hex')).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url });
    }
  });

  it('gives an empty body for an empty deflate body', async () => {
    const { url } = await peers.http((_req, res) => {
      res.writeHead(200, { 'content-encoding': 'deflate' });
      res.end();
    });
    expect((await firstValueFrom(get(client, url, { as: 'text' }))).body).to.equal('');
  });
});
