import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { createClient, get, type Client, type ClientOptions, type MethodOptions } from '../../src/client/index.js';
import { InvalidOptionError, NetworkError } from '../../src/internal/errors.js';
import { failureOf, HostilePeers } from './peers.js';

describe('hostile servers against the client: every failure has its documented type', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  const clients: Client[] = [];
  const proxies: http.Server[] = [];
  afterEach(async () => {
    for (const proxy of proxies.splice(0)) {
      proxy.closeAllConnections();
      proxy.close();
    }
    await peers.closeAll();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  /** A proxy that refuses every CONNECT with `status`, counting them. */
  async function refusingProxy(status: number): Promise<{ url: string; connects: () => number }> {
    let connects = 0;
    const proxy = http.createServer((_req, res) => res.writeHead(status).end());
    proxy.on('connect', (_req, socket: Socket) => {
      connects++;
      socket.on('error', () => undefined);
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: 0\r\n\r\n`);
    });
    proxies.push(proxy);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, connects: () => connects };
  }

  for (const status of [403, 407, 502]) {
    it(`fails with a NetworkError, which retry retries, when a proxy refuses CONNECT with ${status}`, async () => {
      const { url: target } = await peers.http((_req, res) => res.end('never reached'));
      const proxy = await refusingProxy(status);
      const client = createClient({ proxy: proxy.url });
      clients.push(client);
      const error = await failureOf(firstValueFrom(get(client, target)));
      expect(error).to.be.instanceOf(NetworkError);
      expect(error).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url: target });
      expect((error as Error).message).to.include(String(status));
      const retried = await failureOf(firstValueFrom(get(client, target, { retry: { count: 2, initial: 1 } })));
      expect(retried).to.include({ code: 'RXJET_ERR_NETWORK' });
      expect(proxy.connects()).to.equal(4);
    });
  }

  it('throws an InvalidOptionError naming the option for a proxy URL it cannot use, and for bad pool settings', () => {
    const cases: [ClientOptions, string][] = [
      [{ proxy: 'ftp://127.0.0.1:21' }, 'proxy'],
      [{ proxy: 'socks5://127.0.0.1:1080' }, 'proxy'],
      [{ proxy: 'not a url' }, 'proxy'],
      [{ allowH2: 'yes' as unknown as boolean }, 'allowH2'],
      [{ rejectUnauthorized: 'no' as unknown as boolean }, 'rejectUnauthorized'],
      [{ decompress: 1 as unknown as boolean }, 'decompress'],
      [{ ca: 42 as unknown as string }, 'ca'],
      [{ sensitiveHeaders: 'x-key' as unknown as string[] }, 'sensitiveHeaders'],
      [{ sensitiveHeaders: ['x key'] }, 'sensitiveHeaders'],
    ];
    for (const [options, option] of cases) {
      expect(() => createClient(options), JSON.stringify(options))
        .to.throw(InvalidOptionError)
        .with.property('option', option);
    }
  });

  it("throws an InvalidOptionError for proxy: 'env' when the environment names a proxy it cannot use", () => {
    const { HTTP_PROXY, http_proxy } = process.env;
    process.env.HTTP_PROXY = 'ftp://127.0.0.1:21';
    delete process.env.http_proxy;
    try {
      expect(() => createClient({ proxy: 'env' }))
        .to.throw(InvalidOptionError)
        .with.property('option', 'proxy');
    } finally {
      if (HTTP_PROXY === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = HTTP_PROXY;
      if (http_proxy !== undefined) process.env.http_proxy = http_proxy;
    }
  });

  it('throws an InvalidOptionError at call time for credentials that cannot be sent', () => {
    const client = createClient();
    clients.push(client);
    const cases: [MethodOptions, string][] = [
      [{ bearer: 'token\r\nx-injected: 1' }, 'bearer'],
      [{ bearer: 42 as unknown as string }, 'bearer'],
      [{ basicAuth: 'user:secret' as unknown as [string, string] }, 'basicAuth'],
      [{ basicAuth: ['us:er', 'secret'] }, 'basicAuth'],
      [{ basicAuth: ['user', 'line\nbreak'] }, 'basicAuth'],
      [{ digestAuth: ['user'] as unknown as [string, string] }, 'digestAuth'],
      [{ digestAuth: ['user', 7] as unknown as [string, string] }, 'digestAuth'],
    ];
    for (const [options, option] of cases) {
      expect(() => get(client, 'http://127.0.0.1:1/', options), JSON.stringify(options))
        .to.throw(InvalidOptionError)
        .with.property('option', option);
    }
  });
});
