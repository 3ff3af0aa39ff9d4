import { expect } from 'chai';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { createClient, get, post, type Client } from '../../src/client/index.js';
import { digestAuthorization } from '../../src/client/digest.js';

/** A server that wants `user`/`secret`: Basic on /basic, Digest (its algorithm) on /digest/<algorithm>. */
function authServer(): http.Server {
  let attempts = 0;
  return http.createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (req.url === '/basic') {
      if (auth === `Basic ${Buffer.from('user:secret').toString('base64')}`) return res.end('basic ok');
      return res.writeHead(401, { 'www-authenticate': 'Basic realm="Fake Realm"' }).end();
    }
    const algorithm = req.url!.split('/')[2]!;
    const hash = algorithm === 'SHA-256' ? 'sha256' : 'md5';
    const h = (s: string): string => createHash(hash).update(s).digest('hex');
    const nonce = 'n0nce';
    const fields: Record<string, string | undefined> = Object.fromEntries(
      [...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1]!, m[2]!]),
    );
    const expected = h(
      `${h(`user:Fake Realm:secret`)}:${nonce}:${fields.nc}:${fields.cnonce}:auth:${h(`${req.method}:${req.url}`)}`,
    );
    if (auth.startsWith('Digest ') && fields.response === expected && fields.opaque === 'op') {
      attempts++;
      return res.end(`digest ok ${attempts}`);
    }
    res
      .writeHead(401, {
        'www-authenticate': `Digest realm="Fake Realm", qop="auth", nonce="${nonce}", opaque="op", algorithm=${algorithm}`,
      })
      .end('who are you');
  });
}

describe('HTTP client: authentication', function () {
  this.timeout(20_000);
  let server: http.Server;
  let url: string;
  let client: Client;

  before(async () => {
    server = authServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    client = createClient();
  });
  after(async () => {
    await client.close();
    server.closeAllConnections();
    server.close();
  });

  it('passes a Basic challenge with basicAuth (Jet 27, against a local server)', async () => {
    expect((await firstValueFrom(get(client, `${url}/basic`, { as: 'text' }))).status).to.equal(401);
    const res = await firstValueFrom(get(client, `${url}/basic`, { basicAuth: ['user', 'secret'], as: 'text' }));
    expect([res.status, res.body]).to.deep.equal([200, 'basic ok']);
  });

  for (const algorithm of ['MD5', 'SHA-256']) {
    it(`answers a Digest ${algorithm} challenge once with digestAuth`, async () => {
      const res = await firstValueFrom(
        get(client, `${url}/digest/${algorithm}`, { digestAuth: ['user', 'secret'], as: 'text' }),
      );
      expect(res.status).to.equal(200);
      expect(res.body).to.match(/^digest ok/);
    });
  }

  it('answers a Digest challenge to a POST with a body it can send again', async () => {
    const res = await firstValueFrom(
      post(client, `${url}/digest/MD5`, { json: { a: 1 }, digestAuth: ['user', 'secret'], as: 'text' }),
    );
    expect(res.status).to.equal(200);
  });

  it('gives the 401 back when the credentials are wrong, after one answer', async () => {
    const res = await firstValueFrom(get(client, `${url}/digest/MD5`, { digestAuth: ['user', 'wrong'], as: 'text' }));
    expect([res.status, res.body]).to.deep.equal([401, 'who are you']);
  });

  it('computes the RFC 2617 example response', () => {
    const header = digestAuthorization(
      {
        realm: 'testrealm@host.com',
        nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093',
        qop: 'auth',
        opaque: '5ccc069c403ebaf9f0171e9517f40e41',
        algorithm: 'MD5',
      },
      ['Mufasa', 'Circle Of Life'],
      'GET',
      '/dir/index.html',
      '0a4f113b',
    );
    expect(header).to.include('response="6629fae49393a05397450978507c4ef1"');
  });
});
