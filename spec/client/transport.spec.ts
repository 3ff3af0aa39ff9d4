import { expect } from 'chai';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { MockAgent } from 'undici';
import { createClient, get, post, type Client } from '../../src/client/index.js';
import { selfSignedCertificate } from '../helpers.js';

/** A CONNECT proxy on 127.0.0.1 that remembers where it tunnelled to. */
async function tunnelProxy(): Promise<{ url: string; server: http.Server; tunnels: string[] }> {
  const tunnels: string[] = [];
  const server = http.createServer((_, res) => res.writeHead(405).end());
  server.on('connect', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    tunnels.push(req.url!);
    const [host, port] = req.url!.split(':');
    const upstream = net.connect(Number(port), host, () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(socket).pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, tunnels };
}

describe('HTTP client transport: proxies and HTTP/2', function () {
  this.timeout(30_000);
  const clients: Client[] = [];
  const servers: (http.Server | http2.Http2SecureServer)[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const server of servers.splice(0)) {
      if ('closeAllConnections' in server) server.closeAllConnections();
      server.close();
    }
  });

  it('goes through a proxy given by URL, and one named by HTTP_PROXY with proxy: "env"', async () => {
    const target = http.createServer((req, res) => res.end(`target saw ${req.url}`));
    servers.push(target);
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
    const proxy = await tunnelProxy();
    servers.push(proxy.server);

    const viaUrl = createClient({ proxy: proxy.url });
    clients.push(viaUrl);
    expect((await firstValueFrom(get(viaUrl, `${targetUrl}/a`, { as: 'text' }))).body).to.equal('target saw /a');
    expect(proxy.tunnels).to.deep.equal([new URL(targetUrl).host]);

    const saved = { HTTP_PROXY: process.env.HTTP_PROXY, NO_PROXY: process.env.NO_PROXY };
    process.env.HTTP_PROXY = proxy.url;
    delete process.env.NO_PROXY;
    try {
      const viaEnv = createClient({ proxy: 'env' });
      clients.push(viaEnv);
      expect((await firstValueFrom(get(viaEnv, `${targetUrl}/b`, { as: 'text' }))).body).to.equal('target saw /b');
      expect(proxy.tunnels).to.have.length(2);
    } finally {
      if (saved.HTTP_PROXY === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved.HTTP_PROXY;
      if (saved.NO_PROXY !== undefined) process.env.NO_PROXY = saved.NO_PROXY;
    }
  });

  it('speaks HTTP/2 with allowH2 over TLS, HTTP/1.1 without it', async () => {
    const { key, cert } = await selfSignedCertificate();
    const server = http2.createSecureServer({ key, cert, allowHTTP1: true }, (req, res) =>
      res.end(`HTTP/${req.httpVersion}`),
    );
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const h2 = createClient({ allowH2: true, ca: cert });
    const h1 = createClient({ ca: cert });
    clients.push(h2, h1);
    expect((await firstValueFrom(get(h2, url, { as: 'text' }))).body).to.equal('HTTP/2.0');
    expect((await firstValueFrom(get(h1, url, { as: 'text' }))).body).to.equal('HTTP/1.1');
  });

  it("sends through a dispatcher it is given (undici's MockAgent here), and leaves it open on close", async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('http://api.test')
      .intercept({ path: '/items?page=2', method: 'GET' })
      .reply(200, { items: [1, 2] });
    mock.get('http://api.test').intercept({ path: '/items', method: 'POST' }).reply(201, 'made');
    const client = createClient({ dispatcher: mock, baseUrl: 'http://api.test/' });
    const listed = await firstValueFrom(get(client, '/items', { query: { page: 2 }, as: 'json' }));
    expect([listed.status, listed.body]).to.deep.equal([200, { items: [1, 2] }]);
    const made = await firstValueFrom(post(client, '/items', { json: { name: 'x' }, as: 'text' }));
    expect([made.status, made.body]).to.deep.equal([201, 'made']);
    await client.close();
    mock.assertNoPendingInterceptors();
    const refused = await firstValueFrom(get(client, 'http://elsewhere.test/')).catch((e: unknown) => e);
    expect(refused).to.include({ code: 'RXJET_ERR_NETWORK' }); // the mock is still open, and refuses the network
    await mock.close();
  });

  it('checks the proxy option at call time', () => {
    expect(() => createClient({ proxy: 'not a url' })).to.throw('Invalid option "proxy"');
  });
});
