import { expect } from 'chai';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { CookieJar } from 'tough-cookie';
import { createClient, get, post, type Client } from '../../src/client/index.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('HTTP client: redirects and cookies', function () {
  this.timeout(20_000);
  const servers: http.Server[] = [];
  const clients: Client[] = [];
  const serve = async (handler: Handler): Promise<string> => {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const client = (options?: Parameters<typeof createClient>[0]): Client => {
    const made = createClient(options);
    clients.push(made);
    return made;
  };
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  /** Answers with what it saw: method, path, headers and body. */
  const echo: Handler = (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })));
  };
  interface Seen {
    method: string;
    url: string;
    headers: Record<string, string | undefined>;
    body: string;
  }

  it('follows a redirect on the same origin and reports the final URL', async () => {
    const url = await serve((req, res) =>
      req.url === '/old' ? res.writeHead(302, { location: '/new' }).end() : echo(req, res),
    );
    const res = await firstValueFrom(get(client(), `${url}/old`, { as: 'json' }));
    expect((res.body as Seen).url).to.equal('/new');
    expect(res.url).to.equal(`${url}/new`);
  });

  it('turns a POST into a GET without body on 303, and keeps method and body on 307', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/see-other') res.writeHead(303, { location: '/echo' }).end();
      else if (req.url === '/temporary') res.writeHead(307, { location: '/echo' }).end();
      else echo(req, res);
    });
    const c = client();
    const seeOther = (await firstValueFrom(post(c, `${url}/see-other`, { json: { a: 1 }, as: 'json' }))).body as Seen;
    expect([seeOther.method, seeOther.body, seeOther.headers['content-type']]).to.deep.equal(['GET', '', undefined]);
    const temporary = (await firstValueFrom(post(c, `${url}/temporary`, { json: { a: 1 }, as: 'json' }))).body as Seen;
    expect([temporary.method, temporary.body]).to.deep.equal(['POST', '{"a":1}']);
  });

  it('never sends credentials, cookies or listed headers to another origin', async () => {
    const other = await serve(echo);
    const first = await serve((req, res) =>
      res.writeHead(302, { location: `${other}/landing`, 'set-cookie': 'session=secret; Path=/' }).end(),
    );
    const c = client({ sensitiveHeaders: ['X-Api-Key'] });
    const res = await firstValueFrom(
      get(c, first, {
        headers: { cookie: 'mine=1', 'x-api-key': 'k', 'proxy-authorization': 'Basic x', 'x-harmless': 'ok' },
        bearer: 'token',
        as: 'json',
      }),
    );
    const seen = (res.body as Seen).headers;
    expect(seen.authorization).to.equal(undefined);
    expect(seen.cookie).to.equal(undefined);
    expect(seen['proxy-authorization']).to.equal(undefined);
    expect(seen['x-api-key']).to.equal(undefined);
    expect(seen['x-harmless']).to.equal('ok');
  });

  it('stops after followRedirects hops, and on a loop, with a RedirectError', async () => {
    const url = await serve((req, res) => {
      const n = Number(req.url!.slice(1));
      res.writeHead(302, { location: req.url === '/loop' ? '/loop' : `/${n + 1}` }).end();
    });
    const tooMany = await firstValueFrom(get(client({ followRedirects: 3 }), `${url}/0`)).catch((e: unknown) => e);
    expect(tooMany).to.include({ code: 'RXJET_ERR_REDIRECT' });
    expect((tooMany as Error).message).to.include('more than 3 redirects');
    const loop = await firstValueFrom(get(client(), `${url}/loop`)).catch((e: unknown) => e);
    expect((loop as Error).message).to.include('redirect loop');
  });

  it('answers the redirect itself with followRedirects: false', async () => {
    const url = await serve((_, res) => res.writeHead(301, { location: '/elsewhere' }).end());
    const res = await firstValueFrom(get(client(), url, { followRedirects: false, as: 'text' }));
    expect([res.status, res.headers.location]).to.deep.equal([301, '/elsewhere']);
  });

  it('keeps cookies in a jar and sends them back in order (Jet 26)', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/login') {
        res.writeHead(200, { 'set-cookie': ['foo=bar; Path=/', 'something=else; Path=/'] }).end();
      } else echo(req, res);
    });
    const c = client();
    await firstValueFrom(get(c, `${url}/login`, { as: 'text' }));
    const res = await firstValueFrom(get(c, `${url}/page`, { as: 'json' }));
    expect((res.body as Seen).headers.cookie).to.equal('foo=bar; something=else');
  });

  it('honours cookie domains, paths and expiry, and uses a jar of your own', async () => {
    const url = await serve((req, res) => {
      if (req.url === '/set')
        res
          .writeHead(200, {
            'set-cookie': ['scoped=1; Path=/admin', 'gone=1; Max-Age=0', 'foreign=1; Domain=example.com'],
          })
          .end();
      else echo(req, res);
    });
    const jar = new CookieJar();
    const c = client({ cookies: jar });
    await firstValueFrom(get(c, `${url}/set`, { as: 'text' }));
    expect((await firstValueFrom(get(c, `${url}/admin/x`, { as: 'json' }))).body).to.have.nested.property(
      'headers.cookie',
      'scoped=1',
    );
    expect(((await firstValueFrom(get(c, `${url}/public`, { as: 'json' }))).body as Seen).headers.cookie).to.equal(
      undefined,
    );
    expect(jar.getCookieStringSync(`${url}/admin/x`)).to.equal('scoped=1');
  });

  it('stores and sends no cookies with cookies: false', async () => {
    const url = await serve((req, res) =>
      req.url === '/set' ? res.writeHead(200, { 'set-cookie': 'a=1' }).end() : echo(req, res),
    );
    const c = client({ cookies: false });
    await firstValueFrom(get(c, `${url}/set`, { as: 'text' }));
    expect(((await firstValueFrom(get(c, `${url}/x`, { as: 'json' }))).body as Seen).headers.cookie).to.equal(
      undefined,
    );
  });
});
