import { expect } from 'chai';
import { EMPTY, firstValueFrom, NEVER, of, throwError } from 'rxjs';
import type { Browser, Page } from 'playwright-core';
import { cors, type CorsOptions } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HandlerError, HandlerTimeoutError, InvalidOptionError } from '../../src/index.js';
import { HttpError, toResponse, type Handler, type WebSocketResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { launchChromium } from '../examples/chromium.js';
import { closeAll, fetchText, start } from '../helpers.js';

const app = 'https://app.example';

/** The CORS headers (and Vary) of a response, for comparing. */
function corsHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if ((name.startsWith('access-control-') || name === 'vary') && value !== undefined) {
      picked[name] = Array.isArray(value) ? value.join(', ') : value;
    }
  }
  return picked;
}

/** A router with cors in its `use`, answering a few routes that succeed and fail. */
function api(options?: CorsOptions, seen: string[] = []): Handler {
  const record: Middleware = (req, next) => {
    seen.push(req.method);
    return next();
  };
  return router()
    .use(record, cors(options))
    .get('/data', () => ({ headers: { 'x-total': '3' }, body: 'data' }))
    .put('/data', (req) => ({ body: `put ${req.headers.cookie ?? 'no cookie'}` }))
    .get('/varied', () => ({ headers: { Vary: 'Accept-Encoding' }, body: 'varied' }))
    .get('/boom', () => {
      throw new Error('secret detail');
    })
    .get('/refused', () => throwError(() => new HttpError(403, 'not yours', { headers: { 'x-why': 'policy' } })))
    .get('/slow', () => NEVER, { timeout: 50 });
}

describe('cors', () => {
  afterEach(closeAll);

  describe('in headless Chromium, a page on one server calling another', function () {
    this.timeout(60_000);
    let browser: Browser | undefined;
    let page: Page;
    let pageOrigin: string;

    /** Runs `fetch(url, init)` in the page; resolves with what the page could read, or the failure. */
    const fetchFromPage = (url: string, init: Record<string, unknown> = {}) =>
      page.evaluate(
        async ({ url, init }) => {
          try {
            const res = await fetch(url, init);
            return { status: res.status, body: await res.text(), total: res.headers.get('x-total') };
          } catch (error) {
            return { failed: String(error) };
          }
        },
        { url, init },
      );

    before(async () => {
      browser = await launchChromium();
    });

    beforeEach(async () => {
      const site = await start(() => ({
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: '<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body>app</body></html>',
      }));
      pageOrigin = site.url;
      page = await browser!.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(pageOrigin);
    });

    afterEach(async () => {
      await page.close();
    });

    after(async () => {
      await browser?.close();
    });

    it('lets a page from an allowed origin read the answer and the exposed headers', async () => {
      const other = await start(api({ origin: [pageOrigin], exposedHeaders: ['x-total'] }));
      expect(other.url).not.to.equal(pageOrigin);
      expect(await fetchFromPage(`${other.url}/data`)).to.deep.equal({ status: 200, body: 'data', total: '3' });
    });

    it('keeps unexposed headers from the page', async () => {
      const other = await start(api({ origin: [pageOrigin] }));
      expect(await fetchFromPage(`${other.url}/data`)).to.deep.equal({ status: 200, body: 'data', total: null });
    });

    it('refuses a page from another origin: the fetch fails in the browser, though the simple request ran', async () => {
      const seen: string[] = [];
      const other = await start(api({ origin: 'https://elsewhere.example' }, seen));
      const result = await fetchFromPage(`${other.url}/data`);
      expect(result).to.deep.equal({ failed: 'TypeError: Failed to fetch' });
      expect(seen).to.deep.equal(['GET']);
    });

    it('answers the preflight of a request with a custom header and credentials, and the cookie goes along', async () => {
      const seen: string[] = [];
      const record: Middleware = (req, next) => {
        seen.push(`${req.method} ${req.headers['access-control-request-headers'] ?? ''}`.trim());
        return next();
      };
      const handler = router()
        .use(record, cors({ origin: pageOrigin, credentials: true }))
        .get('/login', () => ({ headers: { 'set-cookie': 'sid=s3cr3t; Path=/; SameSite=Lax' }, body: 'in' }))
        .put('/data', (req) => ({ body: `put ${req.headers['x-custom']} ${req.headers.cookie ?? 'no cookie'}` }));
      const other = await start(handler);
      expect(await fetchFromPage(`${other.url}/login`, { credentials: 'include' })).to.deep.equal({
        status: 200,
        body: 'in',
        total: null,
      });
      const put = await fetchFromPage(`${other.url}/data`, {
        method: 'PUT',
        credentials: 'include',
        headers: { 'x-custom': 'yes' },
      });
      expect(put).to.deep.equal({ status: 200, body: 'put yes sid=s3cr3t', total: null });
      // The preflight was answered by cors, before the route: only the PUT reached it after.
      expect(seen).to.deep.equal(['GET', 'OPTIONS x-custom', 'PUT']);
    });

    it('fails a credentialed fetch when credentials are not allowed, and a preflight for a refused origin', async () => {
      const seen: string[] = [];
      const open = await start(api({ origin: [pageOrigin] }));
      expect(await fetchFromPage(`${open.url}/data`, { credentials: 'include' })).to.deep.equal({
        failed: 'TypeError: Failed to fetch',
      });
      const closed = await start(api({ origin: ['https://elsewhere.example'] }, seen));
      expect(
        await fetchFromPage(`${closed.url}/data`, { method: 'PUT', headers: { 'x-custom': 'yes' } }),
      ).to.deep.equal({ failed: 'TypeError: Failed to fetch' });
      // The preflight was refused, so the browser never sent the PUT.
      expect(seen).to.deep.equal(['OPTIONS']);
    });

    it('keeps the CORS headers on a 500, a 404, an HttpError and a route timeout, so the page sees the real status', async () => {
      const other = await start(api({ origin: [pageOrigin] }));
      expect(await fetchFromPage(`${other.url}/boom`)).to.deep.equal({
        status: 500,
        body: 'Internal Server Error',
        total: null,
      });
      expect(await fetchFromPage(`${other.url}/nowhere`)).to.deep.equal({
        status: 404,
        body: 'Not Found',
        total: null,
      });
      expect(await fetchFromPage(`${other.url}/refused`)).to.deep.equal({
        status: 403,
        body: 'not yours',
        total: null,
      });
      expect(await fetchFromPage(`${other.url}/slow`)).to.deep.equal({
        status: 503,
        body: 'Service Unavailable',
        total: null,
      });
      // The unknown error and the timeout still reached onError; the HttpError did not.
      expect(other.errors.map((error) => error.constructor)).to.deep.equal([HandlerError, HandlerTimeoutError]);
    });
  });

  describe('over node:http', () => {
    it("allows any origin by default with '*', and varies on nothing", async () => {
      const server = await start(api());
      const res = await fetchText(`${server.url}/data`, { headers: { origin: app } });
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('data');
      expect(corsHeaders(res.headers)).to.deep.equal({ 'access-control-allow-origin': '*' });
    });

    it('gives a request without Origin no CORS headers, only Vary: Origin where the answer depends on it', async () => {
      const plain = await start(router().get('/data', () => ({ headers: { 'x-total': '3' }, body: 'data' })));
      const withCors = await start(api({ origin: app, credentials: true, exposedHeaders: ['x-total'] }));
      const anyOrigin = await start(api({}));
      const expected = await fetchText(`${plain.url}/data`);
      const res = await fetchText(`${withCors.url}/data`);
      expect(res.status).to.equal(200);
      const names = (r: { rawHeaders: string[] }) =>
        r.rawHeaders
          .filter((_, i) => i % 2 === 0)
          .map((name) => name.toLowerCase())
          .sort();
      expect(names(res)).to.deep.equal([...names(expected), 'vary'].sort());
      expect(corsHeaders(res.headers)).to.deep.equal({ vary: 'Origin' });
      const same = await fetchText(`${anyOrigin.url}/data`);
      expect(corsHeaders(same.headers), "with '*', nothing varies").to.deep.equal({});
    });

    it('allows one origin exactly, and refuses another without CORS headers but still answers', async () => {
      const seen: string[] = [];
      const server = await start(api({ origin: app }, seen));
      const allowed = await fetchText(`${server.url}/data`, { headers: { origin: app } });
      expect(corsHeaders(allowed.headers)).to.deep.equal({ 'access-control-allow-origin': app, vary: 'Origin' });
      for (const origin of ['https://app.example.evil', 'http://app.example', 'https://APP.example', 'null']) {
        const refused = await fetchText(`${server.url}/data`, { headers: { origin } });
        expect(refused.status).to.equal(200);
        expect(refused.body).to.equal('data');
        expect(corsHeaders(refused.headers), origin).to.deep.equal({ vary: 'Origin' });
      }
      expect(seen).to.have.length(5);
    });

    it('allows the origins of a list, strings and regular expressions alike', async () => {
      const server = await start(api({ origin: [app, /^http:\/\/localhost:\d+$/] }));
      for (const [origin, allowed] of [
        [app, true],
        ['http://localhost:5173', true],
        ['http://localhost:5173.evil.example', false],
        ['https://other.example', false],
      ] as const) {
        const res = await fetchText(`${server.url}/data`, { headers: { origin } });
        expect(res.headers['access-control-allow-origin'], origin).to.equal(allowed ? origin : undefined);
        expect(res.headers.vary).to.equal('Origin');
      }
    });

    it('tests a regular expression afresh each time, even one with the g flag', async () => {
      const server = await start(api({ origin: /^https:\/\/[a-z]+\.example$/g }));
      for (let i = 0; i < 3; i++) {
        const res = await fetchText(`${server.url}/data`, { headers: { origin: app } });
        expect(res.headers['access-control-allow-origin']).to.equal(app);
      }
    });

    it('asks a function, given the origin and the request, synchronously or with a Promise', async () => {
      const asked: string[] = [];
      const sync = await start(
        api({
          origin: (origin, req) => {
            asked.push(`${origin} ${req.method} ${req.path}`);
            return origin.endsWith('.example');
          },
        }),
      );
      const later = await start(api({ origin: (origin) => Promise.resolve(origin === app) }));
      for (const server of [sync, later]) {
        const allowed = await fetchText(`${server.url}/data`, { headers: { origin: app } });
        expect(allowed.headers['access-control-allow-origin']).to.equal(app);
        expect(allowed.headers.vary).to.equal('Origin');
        const refused = await fetchText(`${server.url}/data`, { headers: { origin: 'https://evil.test' } });
        expect(refused.headers['access-control-allow-origin']).to.equal(undefined);
        expect(refused.body).to.equal('data');
      }
      expect(asked).to.deep.equal([`${app} GET /data`, 'https://evil.test GET /data']);
    });

    it('answers 500 when the origin function throws or rejects, without CORS headers', async () => {
      const throwing = await start(
        api({
          origin: () => {
            throw new Error('no policy');
          },
        }),
      );
      const rejecting = await start(api({ origin: () => Promise.reject(new Error('no policy')) }));
      for (const server of [throwing, rejecting]) {
        const res = await fetchText(`${server.url}/data`, { headers: { origin: app } });
        expect(res.status).to.equal(500);
        expect(corsHeaders(res.headers)).to.deep.equal({});
        expect(server.errors).to.have.length(1);
      }
    });

    it("sends the request's origin back instead of '*' with credentials, as browsers require", async () => {
      const server = await start(api({ credentials: true }));
      const res = await fetchText(`${server.url}/data`, { headers: { origin: app } });
      expect(corsHeaders(res.headers)).to.deep.equal({
        'access-control-allow-origin': app,
        'access-control-allow-credentials': 'true',
        vary: 'Origin',
      });
    });

    it('exposes the headers listed in exposedHeaders, given as a list or as one string', async () => {
      for (const exposedHeaders of [['x-total', 'x-request-id'], 'x-total, x-request-id']) {
        const server = await start(api({ exposedHeaders }));
        const res = await fetchText(`${server.url}/data`, { headers: { origin: app } });
        expect(res.headers['access-control-expose-headers']).to.equal('x-total, x-request-id');
      }
    });

    it('merges Vary: Origin with the answer’s own Vary', async () => {
      const server = await start(api({ origin: app }));
      const res = await fetchText(`${server.url}/varied`, { headers: { origin: app } });
      expect(res.headers.vary).to.equal('Accept-Encoding, Origin');
      expect(res.rawHeaders.filter((name) => name.toLowerCase() === 'vary')).to.have.length(1);
    });

    describe('preflights', () => {
      const preflight = (url: string, headers: Record<string, string> = {}) =>
        fetchText(url, {
          method: 'OPTIONS',
          headers: { origin: app, 'access-control-request-method': 'PUT', ...headers },
        });

      it('answers 204 itself, with the default methods and the asked headers sent back, without running the route', async () => {
        const seen: string[] = [];
        const server = await start(api({}, seen));
        const res = await preflight(`${server.url}/data`, {
          'access-control-request-headers': 'x-custom,content-type',
        });
        expect(res.status).to.equal(204);
        expect(res.body).to.equal('');
        expect(corsHeaders(res.headers)).to.deep.equal({
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'GET, HEAD, PUT, PATCH, POST, DELETE',
          'access-control-allow-headers': 'x-custom,content-type',
          vary: 'Access-Control-Request-Headers',
        });
        expect(res.headers.allow).to.equal(undefined);
        // The outer recorder saw it; nothing below cors did (no route has OPTIONS anyway).
        expect(seen).to.deep.equal(['OPTIONS']);
      });

      it('answers even a path no route matches, as browsers ask before every call', async () => {
        const server = await start(api());
        const res = await preflight(`${server.url}/nowhere`);
        expect(res.status).to.equal(204);
        expect(res.headers['access-control-allow-origin']).to.equal('*');
      });

      it('sends the methods, allowedHeaders and maxAge given, and credentials', async () => {
        const server = await start(
          api({
            origin: [app],
            methods: ['GET', 'PUT'],
            allowedHeaders: 'content-type, x-custom',
            maxAge: 600,
            credentials: true,
          }),
        );
        const res = await preflight(`${server.url}/data`, { 'access-control-request-headers': 'x-other' });
        expect(res.status).to.equal(204);
        expect(corsHeaders(res.headers)).to.deep.equal({
          'access-control-allow-origin': app,
          'access-control-allow-credentials': 'true',
          'access-control-allow-methods': 'GET, PUT',
          'access-control-allow-headers': 'content-type, x-custom',
          'access-control-max-age': '600',
          vary: 'Origin',
        });
      });

      it('answers a refused origin 204 with no CORS headers, and runs nothing below', async () => {
        const seen: string[] = [];
        const server = await start(api({ origin: 'https://elsewhere.example' }, seen));
        const res = await preflight(`${server.url}/data`, { 'access-control-request-headers': 'x-custom' });
        expect(res.status).to.equal(204);
        expect(corsHeaders(res.headers)).to.deep.equal({ vary: 'Origin' });
        expect(seen).to.deep.equal(['OPTIONS']);
      });

      it('does not send back asked headers that are not header names', async () => {
        const server = await start(api());
        const res = await preflight(`${server.url}/data`, { 'access-control-request-headers': 'x-a, bad header' });
        expect(res.headers['access-control-allow-headers']).to.equal(undefined);
      });

      it('leaves an OPTIONS request that is not a preflight to the router (204 with Allow)', async () => {
        const server = await start(api());
        const res = await fetchText(`${server.url}/data`, { method: 'OPTIONS', headers: { origin: app } });
        expect(res.status).to.equal(204);
        expect(res.headers.allow).to.equal('GET, HEAD, PUT, OPTIONS');
        expect(res.headers['access-control-allow-origin']).to.equal('*');
      });
    });

    describe('answers that are errors', () => {
      it('keeps the CORS headers on an HttpError, with its own headers, an unknown error, a 404, a 405 and a route timeout', async () => {
        const server = await start(api({ origin: app, exposedHeaders: ['x-why'] }));
        const expected = {
          'access-control-allow-origin': app,
          'access-control-expose-headers': 'x-why',
          vary: 'Origin',
        };
        const cases: [string, string, number, string][] = [
          ['GET', '/refused', 403, 'not yours'],
          ['GET', '/boom', 500, 'Internal Server Error'],
          ['GET', '/nowhere', 404, 'Not Found'],
          ['DELETE', '/data', 405, 'Method Not Allowed'],
          ['GET', '/slow', 503, 'Service Unavailable'],
        ];
        for (const [method, path, status, body] of cases) {
          const res = await fetchText(`${server.url}${path}`, { method, headers: { origin: app } });
          expect([res.status, res.body], path).to.deep.equal([status, body]);
          expect(corsHeaders(res.headers), path).to.deep.equal(expected);
        }
        const refused = await fetchText(`${server.url}/refused`, { headers: { origin: app } });
        expect(refused.headers['x-why']).to.equal('policy');
        const notAllowed = await fetchText(`${server.url}/data`, { method: 'DELETE', headers: { origin: app } });
        expect(notAllowed.headers.allow).to.equal('GET, HEAD, PUT, OPTIONS');
        // The unknown error and the timeout were still reported, the secret never sent.
        expect(server.errors.map((error) => error.constructor)).to.deep.equal([HandlerError, HandlerTimeoutError]);
        expect((server.errors[0]!.cause as Error).message).to.equal('secret detail');
      });

      it('lets an error through untouched for a refused origin', async () => {
        const server = await start(api({ origin: app }));
        const res = await fetchText(`${server.url}/boom`, { headers: { origin: 'https://evil.test' } });
        expect(res.status).to.equal(500);
        expect(corsHeaders(res.headers)).to.deep.equal({});
        expect(server.errors).to.have.length(1);
      });
    });

    it('works in a route’s own use, for that route; a preflight needs it on OPTIONS too', async () => {
      const server = await start(
        router()
          .get('/open', () => ({ body: 'open' }), { use: [cors({ origin: app })] })
          .get('/closed', () => ({ body: 'closed' }))
          .route(['PUT', 'OPTIONS'], '/put', () => ({ body: 'put' }), { use: [cors({ origin: app })] }),
      );
      const open = await fetchText(`${server.url}/open`, { headers: { origin: app } });
      expect(open.headers['access-control-allow-origin']).to.equal(app);
      const closed = await fetchText(`${server.url}/closed`, { headers: { origin: app } });
      expect(closed.headers['access-control-allow-origin']).to.equal(undefined);
      const asked = await fetchText(`${server.url}/put`, {
        method: 'OPTIONS',
        headers: { origin: app, 'access-control-request-method': 'PUT' },
      });
      expect(asked.status).to.equal(204);
      expect(asked.headers['access-control-allow-methods']).to.equal('GET, HEAD, PUT, PATCH, POST, DELETE');
      expect(asked.body).to.equal('');
    });

    it('answers as inject does, for the same requests', async () => {
      const handler = api({ origin: [app], credentials: true, exposedHeaders: ['x-total'], maxAge: 60 });
      const server = await start(handler);
      const requests: { method: string; url: string; headers: Record<string, string> }[] = [
        { method: 'GET', url: '/data', headers: { origin: app } },
        { method: 'GET', url: '/data', headers: { origin: 'https://evil.test' } },
        { method: 'GET', url: '/data', headers: {} },
        { method: 'OPTIONS', url: '/data', headers: { origin: app, 'access-control-request-method': 'PUT' } },
        { method: 'GET', url: '/boom', headers: { origin: app } },
        { method: 'GET', url: '/nowhere', headers: { origin: app } },
      ];
      for (const { method, url, headers } of requests) {
        const wire = await fetchText(`${server.url}${url}`, { method, headers });
        const injected = await firstValueFrom(
          inject(handler, mockRequest({ method, url, headers }), { onError: () => undefined }),
        );
        expect([injected.status, injected.body], `${method} ${url}`).to.deep.equal([wire.status, wire.body]);
        expect(corsHeaders(injected.headers), `${method} ${url}`).to.deep.equal(corsHeaders(wire.headers));
      }
    });

    it('keeps a WebSocket answer one, with its handler', async () => {
      const websocket = () => EMPTY;
      const middleware = cors();
      const answer = await firstValueFrom(
        toResponse(middleware(mockRequest({ headers: { origin: app } }), () => of<WebSocketResponse>({ websocket }))),
      );
      expect(answer).to.have.property('websocket', websocket);
      expect(answer.headers).to.deep.equal({ 'access-control-allow-origin': '*' });
    });
  });

  describe('options', () => {
    it('throws InvalidOptionError at once for a bad option, naming it', () => {
      const bad: [unknown, string][] = [
        [{ origin: 'https://app.example/' }, 'origin'],
        [{ origin: 'app.example' }, 'origin'],
        [{ origin: 'https://app.example:443' }, 'origin'],
        [{ origin: [app, 42] }, 'origin[1]'],
        [{ origin: [] }, 'origin'],
        [{ credentials: 'yes' }, 'credentials'],
        [{ methods: ['GET', 'BAD METHOD'] }, 'methods'],
        [{ allowedHeaders: [42] }, 'allowedHeaders'],
        [{ exposedHeaders: 'x-a, b@d' }, 'exposedHeaders'],
        [{ maxAge: -1 }, 'maxAge'],
        [{ maxAge: 1.5 }, 'maxAge'],
        [{ orgin: app }, 'orgin'],
        [null, 'options'],
      ];
      for (const [options, name] of bad) {
        expect(() => cors(options as CorsOptions), name)
          .to.throw(InvalidOptionError)
          .with.property('option', name);
      }
    });
  });
});
