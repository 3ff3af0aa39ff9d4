import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { firstValueFrom, map } from 'rxjs';
import { request as undiciRequest } from 'undici';
import { createClient, get, post, type Client } from '../../src/client/index.js';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { clearCookie, cookies, setCookie, signedCookies } from '../../src/middleware/index.js';
import { router, type Middleware, type Next } from '../../src/router/index.js';
import type { JetRequest, JetResponse, WebSocketResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, start } from '../helpers.js';

const run = promisify(execFile);
const secret = 'a-secret-of-at-least-32-bytes-for-hmac';
const older = 'an-older-secret-still-accepted-for-a-while';

/** Middleware that adds a cookie to whatever is answered below it. */
const stamp =
  (name: string, value: string): Middleware =>
  (req, next) =>
    next().pipe(map((res) => setCookie(res, name, value)));

/** Echoes the request's cookies, and its signed ones, as JSON. */
const echo = router().get('/echo', (req) => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ all: cookies(req), signed: signedCookies(req, [secret, older]) }),
}));

/** What the echo route answers. */
const parsed = (body: string) => JSON.parse(body) as { all: Record<string, string>; signed: Record<string, string> };

/** The name=value part of each Set-Cookie line. */
const pairs = (lines: string | string[] | undefined): string[] =>
  (lines === undefined ? [] : Array.isArray(lines) ? lines : [lines]).map((line) => line.split(';')[0]!);

describe('cookies', function () {
  this.timeout(20_000);
  const clients: Client[] = [];
  const client = (): Client => {
    const made = createClient({ cookies: true });
    clients.push(made);
    return made;
  };
  afterEach(async () => {
    await closeAll();
    await Promise.all(clients.splice(0).map((c) => c.close()));
  });

  describe('cookies(req)', () => {
    it('gives the Cookie header of a real request by name, percent-decoded, a malformed escape kept raw', async () => {
      const server = await start(echo);
      const res = await fetchText(`${server.url}/echo`, {
        headers: { cookie: 'theme=dark; euro=%E2%82%AC; broken=%zz%; spaced=a%20b; theme=light' },
      });
      expect(res.status).to.equal(200);
      expect(parsed(res.body).all).to.deep.equal({
        theme: 'dark',
        euro: '€',
        broken: '%zz%',
        spaced: 'a b',
      });
      expect(server.errors).to.deep.equal([]);
    });

    it('gives an empty object without a Cookie header, and for a header with no pairs', async () => {
      const server = await start(echo);
      expect(parsed((await fetchText(`${server.url}/echo`)).body).all).to.deep.equal({});
      const junk = await fetchText(`${server.url}/echo`, { headers: { cookie: ';;; novalue; ;' } });
      expect(parsed(junk.body).all).to.deep.equal({});
    });

    it('joins Cookie headers sent more than once, as undici sends an array', async () => {
      const server = await start(echo);
      const res = await undiciRequest(`${server.url}/echo`, { headers: ['cookie', 'a=1', 'cookie', 'b=2'] });
      expect(((await res.body.json()) as { all: unknown }).all).to.deep.equal({ a: '1', b: '2' });
    });

    it('parses once per request: derived requests share the frozen result, and inject agrees', async () => {
      const seen: unknown[] = [];
      const app = router()
        .use((req: JetRequest, next: Next) => {
          seen.push(cookies(req));
          return next();
        })
        .get('/same', (req) => {
          seen.push(cookies(req));
          return { body: String(Object.isFrozen(cookies(req))) };
        });
      const res = await firstValueFrom(inject(app, mockRequest({ url: '/same', headers: { cookie: 'k=v' } })));
      expect(res.body).to.equal('true');
      expect(seen).to.have.length(2);
      expect(seen[0]).to.equal(seen[1]);
      expect(seen[0]).to.deep.equal({ k: 'v' });
      expect(Object.getPrototypeOf(Object.getPrototypeOf(seen[0]))).to.equal(null);
    });

    it('keeps names such as __proto__ and constructor as plain cookies', async () => {
      const server = await start(echo);
      const res = await fetchText(`${server.url}/echo`, { headers: { cookie: '__proto__=x; constructor=y' } });
      const { all } = parsed(res.body);
      expect(Object.keys(all)).to.deep.equal(['__proto__', 'constructor']);
      expect(({} as Record<string, unknown>).x).to.equal(undefined);
    });
  });

  describe('setCookie(res, name, value, options)', () => {
    it('returns a new response with the defaults Path=/; HttpOnly; SameSite=Lax, leaving the given one alone', () => {
      const given: JetResponse = { status: 201, headers: { 'x-a': '1' }, body: 'made' };
      const made = setCookie(given, 'sid', 'abc');
      expect(made).to.not.equal(given);
      expect(given).to.deep.equal({ status: 201, headers: { 'x-a': '1' }, body: 'made' });
      expect(made).to.deep.equal({
        status: 201,
        headers: { 'x-a': '1', 'set-cookie': ['sid=abc; Path=/; HttpOnly; SameSite=Lax'] },
        body: 'made',
      });
    });

    it('appends after Set-Cookie values given as a string or an array, under any spelling of the name', () => {
      expect(setCookie({ headers: { 'Set-Cookie': 'a=1' } }, 'b', '2').headers).to.deep.equal({
        'set-cookie': ['a=1', 'b=2; Path=/; HttpOnly; SameSite=Lax'],
      });
      const array = ['a=1', 'b=2'];
      const made = setCookie({ headers: { 'set-cookie': array } }, 'c', '3', { httpOnly: false });
      expect(made.headers).to.deep.equal({ 'set-cookie': ['a=1', 'b=2', 'c=3; Path=/; SameSite=Lax'] });
      expect(array).to.deep.equal(['a=1', 'b=2']);
    });

    it('writes every attribute it is given', () => {
      const line = (options: Parameters<typeof setCookie>[3]) =>
        (setCookie({}, 'n', 'v', options).headers['set-cookie'] as string[])[0];
      expect(
        line({
          maxAge: 3600,
          expires: new Date(Date.UTC(2030, 0, 2, 3, 4, 5)),
          domain: 'example.com',
          path: '/app',
          httpOnly: false,
          sameSite: 'none',
          secure: true,
          partitioned: true,
          priority: 'high',
        }),
      ).to.equal(
        'n=v; Max-Age=3600; Domain=example.com; Path=/app; Expires=Wed, 02 Jan 2030 03:04:05 GMT; Secure; Partitioned; Priority=High; SameSite=None',
      );
      expect(line({ sameSite: 'strict', secure: false })).to.equal('n=v; Path=/; HttpOnly; SameSite=Strict');
      expect(line({ maxAge: 0 })).to.equal('n=v; Max-Age=0; Path=/; HttpOnly; SameSite=Lax');
    });

    it('percent-encodes the value, which cookies(req) decodes back', async () => {
      const value = 'a b;c,d=é€"\\';
      const app = router()
        .get('/set', () => setCookie({ status: 204 }, 'v', value))
        .get('/read', (req) => ({ body: cookies(req).v ?? 'none' }));
      const server = await start(app);
      const c = client();
      await firstValueFrom(get(c, `${server.url}/set`, { as: 'text' }));
      expect((await firstValueFrom(get(c, `${server.url}/read`, { as: 'text' }))).body).to.equal(value);
    });

    it('keeps a { websocket } answer intact (its headers are not sent, so neither is the cookie)', () => {
      const websocket = () => undefined;
      const answer: WebSocketResponse = { websocket };
      const made = setCookie(answer, 'a', '1');
      expect(made.websocket).to.equal(websocket);
      expect(made.headers).to.deep.equal({ 'set-cookie': ['a=1; Path=/; HttpOnly; SameSite=Lax'] });
    });

    it('sends each cookie as its own Set-Cookie header, as undici and node:http see it', async () => {
      const app = router()
        .use(stamp('outer', '1'))
        .get('/two', () => setCookie({ body: 'ok' }, 'inner', '2'), { use: [stamp('route', '3')] });
      const server = await start(app);
      const res = await undiciRequest(`${server.url}/two`);
      expect(await res.body.text()).to.equal('ok');
      expect(pairs(res.headers['set-cookie'])).to.deep.equal(['inner=2', 'route=3', 'outer=1']);
      const raw = await fetchText(`${server.url}/two`);
      const names = raw.rawHeaders.filter((_, i) => i % 2 === 0 && raw.rawHeaders[i]!.toLowerCase() === 'set-cookie');
      expect(names).to.have.length(3);
      const injected = await firstValueFrom(inject(app, mockRequest({ url: '/two' })));
      expect(pairs(injected.headers['set-cookie'])).to.deep.equal(['inner=2', 'route=3', 'outer=1']);
    });

    it("adds the router's cookie to its 404s and 405s too", async () => {
      const app = router()
        .use(stamp('seen', 'yes'))
        .post('/only-post', () => ({ body: 'posted' }));
      const server = await start(app);
      for (const [url, status] of [
        ['/nowhere', 404],
        ['/only-post', 405],
      ] as const) {
        const res = await undiciRequest(`${server.url}${url}`);
        await res.body.dump();
        expect(res.statusCode).to.equal(status);
        expect(pairs(res.headers['set-cookie'])).to.deep.equal(['seen=yes']);
      }
    });

    it('is stored by curl, which sends it back and forgets it once cleared', async () => {
      const app = router()
        .get('/login', () => setCookie({ body: 'in' }, 'session', 'abc 123', { maxAge: 600 }))
        .get('/logout', () => clearCookie({ body: 'out' }, 'session'))
        .get('/whoami', (req) => ({ body: cookies(req).session ?? 'nobody' }));
      const server = await start(app);
      const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-cookies-'));
      try {
        const jar = path.join(dir, 'jar.txt');
        const curl = async (route: string) =>
          (await run('curl', ['-sS', '-b', jar, '-c', jar, `${server.url}${route}`])).stdout;
        expect(await curl('/login')).to.equal('in');
        expect(await readFile(jar, 'utf8')).to.match(
          /#HttpOnly_127\.0\.0\.1\tFALSE\t\/\tFALSE\t\d+\tsession\tabc%20123/,
        );
        expect(await curl('/whoami')).to.equal('abc 123');
        expect(await curl('/logout')).to.equal('out');
        expect(await curl('/whoami')).to.equal('nobody');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('refuses, at call time and with the option named, what browsers would refuse or cannot be sent', () => {
      const refused = (fn: () => unknown, option: string, message: RegExp) => {
        expect(fn).to.throw(InvalidOptionError, message);
        try {
          fn();
        } catch (error) {
          expect((error as InvalidOptionError).option).to.equal(option);
        }
      };
      refused(() => setCookie({}, 'a b', 'v'), 'name', /cookie name made of letters, digits/);
      refused(() => setCookie({}, '', 'v'), 'name', /cookie name/);
      refused(() => setCookie({}, 'a;b', 'v'), 'name', /the string "a;b"/);
      refused(() => setCookie({}, 'n', 42 as unknown as string), 'value', /a string, got the number 42/);
      refused(() => setCookie({}, 'n', '\ud800'), 'value', /lone surrogate/);
      refused(() => setCookie({}, 'n', 'x'.repeat(5000)), 'value', /fit in 4096 bytes/);
      refused(() => setCookie({}, 'n', 'v', { sameSite: 'none' }), 'sameSite', /'none' only with secure: true/);
      refused(() => setCookie({}, 'n', 'v', { partitioned: true }), 'partitioned', /only with secure: true/);
      refused(
        () => setCookie({}, 'n', 'v', { sameSite: 'Lax' as 'lax' }),
        'sameSite',
        /one of "lax", "strict", "none"/,
      );
      refused(() => setCookie({}, 'n', 'v', { maxAge: 1.5 }), 'maxAge', /whole number of seconds/);
      refused(() => setCookie({}, 'n', 'v', { maxAge: -1 }), 'maxAge', /whole number of seconds/);
      refused(() => setCookie({}, 'n', 'v', { expires: new Date(NaN) }), 'expires', /a valid Date/);
      refused(() => setCookie({}, 'n', 'v', { domain: 'exa mple.com' }), 'domain', /a host name/);
      refused(() => setCookie({}, 'n', 'v', { path: '/a;b' }), 'path', /without ';'/);
      refused(() => setCookie({}, 'n', 'v', { priority: 'urgent' as 'high' }), 'priority', /"low", "medium", "high"/);
      refused(() => setCookie({}, 'n', 'v', { httpOnly: 'yes' as unknown as boolean }), 'httpOnly', /true or false/);
      refused(() => setCookie({}, 'n', 'v', { maxage: 1 } as object), 'maxage', /one of the setCookie options/);
      refused(() => setCookie({}, '__Secure-id', 'v'), 'secure', /its prefix demands it/);
      refused(() => setCookie({}, '__Host-id', 'v', { secure: true, path: '/a' }), 'path', /'\/' and no domain/);
      refused(() => setCookie(null as unknown as JetResponse, 'n', 'v'), 'res', /a response, got null/);
      refused(() => clearCookie({}, 'n', { maxAge: 5 } as object), 'maxAge', /one of the clearCookie options/);
      expect(setCookie({}, '__Host-id', 'v', { secure: true }).headers['set-cookie']).to.deep.equal([
        '__Host-id=v; Path=/; HttpOnly; Secure; SameSite=Lax',
      ]);
    });
  });

  describe('clearCookie(res, name, options)', () => {
    it('expires the cookie at once with an empty value, keeping the path and domain it is given', () => {
      expect(clearCookie({ status: 204 }, 'sid', { path: '/app', domain: 'example.com' })).to.deep.equal({
        status: 204,
        headers: {
          'set-cookie': [
            'sid=; Max-Age=0; Domain=example.com; Path=/app; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax',
          ],
        },
      });
    });
  });

  describe('signed cookies', () => {
    const signedApp = () =>
      router()
        .post('/login', () => setCookie({ status: 204 }, 'user', 'ada lovelace', { signed: secret }))
        .post('/login-old', () => setCookie({ status: 204 }, 'user', 'old key', { signed: older }))
        .get('/me', (req) => {
          const user = signedCookies(req, [secret, older]).user;
          return user === undefined ? { status: 401, body: 'who?' } : { body: user };
        })
        .get('/echo', (req) => ({
          body: JSON.stringify({ all: cookies(req), signed: signedCookies(req, secret) }),
        }));

    it("round-trips through rxjet's own client cookie jar", async () => {
      const server = await start(signedApp());
      const c = client();
      expect((await firstValueFrom(get(c, `${server.url}/me`, { as: 'text' }))).status).to.equal(401);
      expect((await firstValueFrom(post(c, `${server.url}/login`, { as: 'text' }))).status).to.equal(204);
      const me = await firstValueFrom(get(c, `${server.url}/me`, { as: 'text' }));
      expect([me.status, me.body]).to.deep.equal([200, 'ada lovelace']);
      const echoed = JSON.parse((await firstValueFrom(get(c, `${server.url}/echo`, { as: 'text' }))).body) as {
        all: Record<string, string>;
        signed: Record<string, string>;
      };
      expect(echoed.signed).to.deep.equal({ user: 'ada lovelace' });
      expect(echoed.all.user).to.match(/^ada lovelace\.[A-Za-z0-9_-]{43}$/);
    });

    it('round-trips through a curl cookie jar, and a tampered value or signature is rejected', async () => {
      const server = await start(signedApp());
      const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-cookies-'));
      try {
        const jar = path.join(dir, 'jar.txt');
        await run('curl', ['-sS', '-X', 'POST', '-c', jar, `${server.url}/login`]);
        expect((await run('curl', ['-sS', '-b', jar, `${server.url}/me`])).stdout).to.equal('ada lovelace');
        const stored = /\tuser\t(\S+)/.exec(await readFile(jar, 'utf8'))![1]!;
        const [value, signature] = [
          stored.slice(0, stored.lastIndexOf('.')),
          stored.slice(stored.lastIndexOf('.') + 1),
        ];
        expect(value).to.equal('ada%20lovelace');
        const flipped = signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A');
        for (const forged of [
          `user=grace%20hopper.${signature}`,
          `user=${value}.${flipped}`,
          `user=${value}`,
          `user=${value}.`,
          `user=${value}.${signature}x`,
          `user=${value}.${'é'.repeat(43)}`,
          `other=${stored}`,
        ]) {
          const res = await fetchText(`${server.url}/me`, { headers: { cookie: forged } });
          expect([forged, res.status]).to.deep.equal([forged, 401]);
        }
        const both = await fetchText(`${server.url}/echo`, { headers: { cookie: `other=${stored}; user=${stored}` } });
        expect(parsed(both.body).signed).to.deep.equal({ user: 'ada lovelace' });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('rotates keys: signs with the first secret, accepts any in the list, and inject agrees', async () => {
      const app = signedApp();
      const server = await start(app);
      const c = client();
      await firstValueFrom(post(c, `${server.url}/login-old`, { as: 'text' }));
      expect((await firstValueFrom(get(c, `${server.url}/me`, { as: 'text' }))).body).to.equal('old key');
      const login = await firstValueFrom(inject(app, mockRequest({ method: 'POST', url: '/login-old' })));
      const cookie = pairs(login.headers['set-cookie'])[0]!;
      const me = await firstValueFrom(inject(app, mockRequest({ url: '/me', headers: { cookie } })));
      expect(me.body).to.equal('old key');
      // Only the current secret: the old key's cookie is no longer accepted.
      const echoed = await firstValueFrom(inject(app, mockRequest({ url: '/echo', headers: { cookie } })));
      expect(parsed(echoed.body).signed).to.deep.equal({});
    });

    it('refuses short, empty or missing secrets at call time', () => {
      const req = mockRequest();
      expect(() => signedCookies(req, 'short')).to.throw(InvalidOptionError, /at least 32 bytes.*got 5 bytes/);
      expect(() => signedCookies(req, [])).to.throw(InvalidOptionError, /a non-empty list/);
      expect(() => signedCookies(req, [secret, 'short'])).to.throw(InvalidOptionError, /"secret\[1\]"/);
      expect(() => setCookie({}, 'n', 'v', { signed: 'short' })).to.throw(InvalidOptionError, /"signed"/);
      expect(() => setCookie({}, 'n', 'v', { signed: undefined })).to.not.throw();
    });
  });
});
