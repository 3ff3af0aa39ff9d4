import { expect } from 'chai';
import { firstValueFrom, lastValueFrom, reduce } from 'rxjs';
import { createClient, get, head, type Client } from '../../src/client/index.js';
import { HostilePeers, turns } from './peers.js';

// Names that a lookup on a plain object finds on Object.prototype.
const inherited = ['constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf'];

const text = (body: Uint8Array): string => Buffer.from(body).toString();

describe('hostile servers against the client: names that only a prototype knows', function () {
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

  for (const coding of inherited) {
    it(`keeps running when a server sends Content-Encoding: ${coding}, whether the body is read or not`, async () => {
      let calls = 0;
      const { url } = await peers.http((req, res) => {
        calls++;
        // The first GET of the retry case gets a 503 worth retrying, which `retry` drops unread.
        const status = req.url === '/retried' && calls % 2 === 1 ? 503 : 200;
        res.writeHead(status, { 'content-encoding': coding, 'content-type': 'text/plain' });
        res.end('as sent');
      });

      // A status check leaves the body unread: it is released at the end of the turn.
      const checked = await firstValueFrom(get(client, url));
      expect(checked.status).to.equal(200);
      await turns();

      // A coding the client does not know leaves the body as sent, streamed or read whole.
      const streamed = await firstValueFrom(get(client, url));
      expect(await lastValueFrom(streamed.body.pipe(reduce((all, chunk) => all + text(chunk), '')))).to.equal(
        'as sent',
      );
      expect((await firstValueFrom(get(client, url, { as: 'text' }))).body).to.equal('as sent');

      // Every HEAD leaves its (empty) body unread.
      expect((await firstValueFrom(head(client, url))).status).to.equal(200);
      await turns();

      // retry drops the 503 unread and sends again.
      calls = 0;
      const retried = await firstValueFrom(
        get(client, `${url}retried`, { retry: { count: 1, initial: 1, jitter: 0 }, as: 'text' }),
      );
      expect([retried.status, retried.body, calls]).to.deep.equal([200, 'as sent', 2]);
      await turns();
    });
  }

  it('gives undefined for a header the server did not send, whatever its name', async () => {
    const { url } = await peers.http((_req, res) => {
      res.setHeader('__proto__', 'sent');
      res.end();
    });
    const res = await firstValueFrom(get(client, url, { as: 'text' }));
    for (const name of inherited.filter((n) => n !== '__proto__')) {
      expect(res.headers[name], name).to.equal(undefined);
    }
    expect(Object.hasOwn(res.headers, '__proto__')).to.equal(true);
    expect(res.headers.__proto__).to.equal('sent');
  });

  it('stores and sends back cookies named like Object.prototype members, on paths named so too', async () => {
    const { url } = await peers.http((req, res) => {
      if (req.url === '/set') {
        res.setHeader('set-cookie', [
          '__proto__=a; Path=/',
          'constructor=b; Path=/',
          'toString=c; Path=/__proto__',
          'hasOwnProperty=d; Path=/constructor',
        ]);
        res.end();
      } else res.end(req.headers.cookie ?? '');
    });
    await firstValueFrom(get(client, `${url}set`, { as: 'text' }));
    expect((await firstValueFrom(get(client, url, { as: 'text' }))).body).to.equal('__proto__=a; constructor=b');
    expect((await firstValueFrom(get(client, `${url}__proto__/x`, { as: 'text' }))).body).to.equal(
      'toString=c; __proto__=a; constructor=b',
    );
    expect((await firstValueFrom(get(client, `${url}constructor`, { as: 'text' }))).body).to.equal(
      'hasOwnProperty=d; __proto__=a; constructor=b',
    );
  });

  it('answers no Digest challenge whose algorithm or parameters are only prototype names', async () => {
    const seen: (string | undefined)[] = [];
    const { url } = await peers.http((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(401, {
        'www-authenticate': 'Digest __proto__="x", constructor="y", realm="r", nonce="n", algorithm=constructor',
      });
      res.end();
    });
    const res = await firstValueFrom(get(client, url, { digestAuth: ['user', 'secret'], as: 'text' }));
    expect(res.status).to.equal(401);
    expect(seen).to.deep.equal([undefined]);
  });
});
