import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import { CookieJar } from 'tough-cookie';
import { createClient, get, type Client, type ClientOptions } from '../../src/client/index.js';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { HostilePeers } from './peers.js';

/** The names in a Cookie header, in order. */
const names = (header: string): string[] => (header === '' ? [] : header.split('; ').map((c) => c.split('=')[0]!));

describe('hostile servers against the client: a cookie jar that stays bounded (RFC 6265 section 6.1)', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  const clients: Client[] = [];
  const client = (options?: ClientOptions): Client => {
    const made = createClient({ timeout: { headers: 2000, body: 2000 }, ...options });
    clients.push(made);
    return made;
  };
  afterEach(async () => {
    await peers.closeAll();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  /** A server that sets the cookies `/set?…` asks for and echoes the Cookie header on other paths. */
  const cookieServer = () =>
    peers.http((req, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.pathname === '/set') res.setHeader('set-cookie', url.searchParams.getAll('c'));
      res.end(req.headers.cookie ?? '');
    });
  const set = (c: Client, base: string, ...cookies: string[]) =>
    firstValueFrom(get(c, `${base}set`, { query: { c: cookies }, as: 'text' }));
  const sent = async (c: Client, url: string): Promise<string[]> =>
    names((await firstValueFrom(get(c, url, { as: 'text' }))).body);

  it('keeps at most 50 cookies per domain by default, evicting the oldest, against 600 new ones per response', async () => {
    let round = 0;
    const { url } = await peers.http((req, res) => {
      if (req.url === '/flood') {
        round++;
        res.setHeader(
          'set-cookie',
          Array.from({ length: 600 }, (_, i) => `r${round}c${i}=1`),
        );
      }
      res.end(req.headers.cookie ?? '');
    });
    const jar = new CookieJar();
    const c = client({ cookies: jar });
    for (let i = 0; i < 11; i++) await firstValueFrom(get(c, `${url}flood`, { as: 'text' }));
    const next = await sent(c, url);
    expect(next).to.have.length(50);
    expect(next).to.have.members(Array.from({ length: 50 }, (_, i) => `r11c${550 + i}`));
    expect(await jar.getCookies(url)).to.have.length(50);
  });

  it('keeps at most maxCookies in all, evicting the least recently used across domains', async () => {
    const { port } = await cookieServer();
    const here = `http://127.0.0.1:${port}/`;
    const there = `http://localhost:${port}/`;
    const c = client({ maxCookies: 6, maxCookiesPerDomain: 5 });
    // Scoped to /p, so that the requests to /set send none of them.
    await set(c, here, 'h1=1; Path=/p', 'h2=1; Path=/p', 'h3=1; Path=/p');
    await set(c, there, 't1=1; Path=/p', 't2=1; Path=/p', 't3=1; Path=/p');
    expect(await sent(c, `${here}p`)).to.have.members(['h1', 'h2', 'h3']); // now used after t1-t3
    await set(c, there, 't4=1; Path=/p', 't5=1; Path=/p');
    expect(await sent(c, `${there}p`)).to.have.members(['t3', 't4', 't5']);
    expect(await sent(c, `${here}p`)).to.have.members(['h1', 'h2', 'h3']);
  });

  it('evicts the least recently used cookie of a domain first: one the client keeps sending outlives newer ones', async () => {
    const { url } = await cookieServer();
    const c = client({ maxCookiesPerDomain: 3 });
    await set(c, url, 'session=1; Path=/');
    await set(c, url, 'a=1; Path=/elsewhere', 'b=1; Path=/elsewhere');
    expect(await sent(c, url)).to.deep.equal(['session']);
    await set(c, url, 'c=1; Path=/elsewhere');
    expect(await sent(c, `${url}elsewhere`)).to.have.members(['b', 'c', 'session']);
  });

  it('ignores a cookie larger than maxCookieSize (4096 bytes by default), name, value and attributes counted', async () => {
    const { url } = await cookieServer();
    const c = client();
    const fits = `fits=${'x'.repeat(4096 - 'fits='.length - '; Path=/'.length)}; Path=/`;
    const over = `over=${'x'.repeat(4097 - 'over='.length - '; Path=/'.length)}; Path=/`;
    expect([fits.length, over.length]).to.deep.equal([4096, 4097]);
    await set(c, url, fits, over);
    expect(await sent(c, url)).to.deep.equal(['fits']);
    const small = client({ maxCookieSize: 16 });
    await set(small, url, 'short=1', `long=${'y'.repeat(12)}`);
    expect(await sent(small, url)).to.deep.equal(['short']);
  });

  it('drops expired cookies before counting, so they never push a live one out', async () => {
    const { url } = await cookieServer();
    const c = client({ maxCookiesPerDomain: 2 });
    await set(c, url, 'live=1', 'gone=1; Max-Age=0', 'dead=1; Expires=Thu, 01 Jan 1970 00:00:01 GMT');
    await set(c, url, 'next=1');
    expect(await sent(c, url)).to.have.members(['live', 'next']);
  });

  it('checks the limits at call time', () => {
    for (const [options, option] of [
      [{ maxCookies: 0 }, 'maxCookies'],
      [{ maxCookiesPerDomain: -1 }, 'maxCookiesPerDomain'],
      [{ maxCookieSize: 1.5 }, 'maxCookieSize'],
      [{ maxCookies: '3000' as unknown as number }, 'maxCookies'],
    ] as const) {
      expect(() => createClient(options), option)
        .to.throw(InvalidOptionError)
        .with.property('option', option);
    }
  });
});
