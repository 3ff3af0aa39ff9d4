import { expect } from 'chai';
import type { IncomingHttpHeaders } from 'node:http';
import { firstValueFrom } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';
import { HostilePeers } from './peers.js';

const challenge = 'Digest realm="collect", qop="auth", nonce="n0nce", opaque="op", algorithm=MD5';

describe('hostile servers against the client: credentials reach only the origin the user named', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  let client: Client;
  beforeEach(() => {
    client = createClient({ timeout: { headers: 2000, body: 2000 } });
  });
  afterEach(async () => {
    await peers.closeAll();
    await client.close();
  });

  /** A server that records what it was sent and answers with a Digest challenge. */
  async function collector() {
    const seen: IncomingHttpHeaders[] = [];
    const { port } = await peers.http((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { 'www-authenticate': challenge }).end('who are you');
    });
    return { seen, port };
  }

  it('does not answer a Digest challenge from another origin that a redirect reached', async () => {
    const other = await collector();
    // localhost is another origin than 127.0.0.1, though the same machine.
    const { url } = await peers.http((_req, res) =>
      res.writeHead(302, { location: `http://localhost:${other.port}/x` }).end(),
    );
    const res = await firstValueFrom(get(client, url, { digestAuth: ['user', 'secret'], as: 'text' }));
    expect([res.status, res.body, res.url]).to.deep.equal([401, 'who are you', `http://localhost:${other.port}/x`]);
    expect(other.seen).to.have.length(1);
    expect(other.seen[0]!.authorization).to.equal(undefined);
  });

  it('still answers a Digest challenge of the origin it named, after a redirect within it', async () => {
    const seen: (string | undefined)[] = [];
    const { url } = await peers.http((req, res) => {
      seen.push(req.headers.authorization);
      if (req.url === '/') res.writeHead(302, { location: '/inner' }).end();
      else if (req.headers.authorization === undefined) res.writeHead(401, { 'www-authenticate': challenge }).end();
      else res.end('in');
    });
    const res = await firstValueFrom(get(client, url, { digestAuth: ['user', 'secret'], as: 'text' }));
    expect([res.status, res.body]).to.deep.equal([200, 'in']);
    expect(seen).to.have.length(3);
    expect(seen[2]).to.match(/^Digest username="user", realm="collect", nonce="n0nce", uri="\/inner"/);
  });

  it('sends no Basic, bearer or Cookie credentials to another origin a redirect reaches', async () => {
    for (const options of [
      { basicAuth: ['user', 'secret'] as const },
      { bearer: 'token' },
      { headers: { cookie: 'session=1', 'proxy-authorization': 'Basic eDp5' } },
    ]) {
      const other = await collector();
      const { url } = await peers.http((_req, res) =>
        res.writeHead(307, { location: `http://localhost:${other.port}/x` }).end(),
      );
      const res = await firstValueFrom(get(client, url, { ...options, as: 'text' }));
      expect(res.status).to.equal(401);
      expect(other.seen[0], JSON.stringify(options)).not.to.have.any.keys(
        'authorization',
        'cookie',
        'proxy-authorization',
      );
    }
  });
});
