import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { firstValueFrom } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';

describe('HTTP client: decompression', function () {
  this.timeout(20_000);
  let server: http.Server;
  let url: string;
  const clients: Client[] = [];
  const client = (options?: Parameters<typeof createClient>[0]): Client => {
    const made = createClient(options);
    clients.push(made);
    return made;
  };
  const text = 'hello, compressed world '.repeat(100);
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in about 64 KiB

  before(async () => {
    server = http.createServer((req, res) => {
      switch (req.url) {
        case '/gzip':
          return res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(text));
        case '/br':
          return res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(text));
        case '/chain':
          return res.writeHead(200, { 'content-encoding': 'gzip, br' }).end(brotliCompressSync(gzipSync(text)));
        case '/bomb':
          return res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb);
        case '/six':
          return res.writeHead(200, { 'content-encoding': 'gzip, gzip, gzip, gzip, gzip, gzip' }).end('x');
        default:
          return res.end(String(req.headers['accept-encoding']));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('offers gzip, deflate and br', async () => {
    expect((await firstValueFrom(get(client(), url, { as: 'text' }))).body).to.equal('gzip, deflate, br');
  });

  for (const path of ['/gzip', '/br', '/chain']) {
    it(`undoes ${path.slice(1)} content coding`, async () => {
      expect((await firstValueFrom(get(client(), `${url}${path}`, { as: 'text' }))).body).to.equal(text);
    });
  }

  it('stops a decompression bomb at maxResponseSize, counting decoded bytes', async () => {
    const error = await firstValueFrom(
      get(client({ maxResponseSize: 1024 * 1024 }), `${url}/bomb`, { as: 'bytes' }),
    ).catch((e: unknown) => e);
    expect(error).to.include({ code: 'RXJET_ERR_RESPONSE_TOO_LARGE' });
  });

  it('refuses more than 5 content codings', async () => {
    const error = await firstValueFrom(get(client(), `${url}/six`, { as: 'text' })).catch((e: unknown) => e);
    expect(error).to.include({ code: 'RXJET_ERR_NETWORK' });
    expect((error as Error).message).to.include('at most 5');
  });

  it('leaves bodies as sent with decompress: false', async () => {
    const res = await firstValueFrom(get(client({ decompress: false }), `${url}/gzip`, { as: 'bytes' }));
    expect(Buffer.from(res.body).equals(gzipSync(text))).to.equal(true);
  });
});
