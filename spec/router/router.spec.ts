import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { promisify } from 'node:util';
import { firstValueFrom, interval, map, Observable, Subject, take } from 'rxjs';
import { WebSocket } from 'ws';
import { router, type Middleware, type Router } from '../../src/router/index.js';
import { InvalidOptionError } from '../../src/index.js';
import { sse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { childEnv, closeAll, fetchText, rawExchange, start, until, within } from '../helpers.js';

const run = promisify(execFile);

/** The request fields a route saw, as JSON. */
const echo = (req: { route: string; params: object; path: string; url: string }) => ({
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ route: req.route, params: req.params, path: req.path, url: req.url }),
});

describe('router over real sockets', () => {
  afterEach(closeAll);

  describe('matching', () => {
    it('static beats param beats wildcard, whatever the order of registration', async () => {
      const app = router()
        .get('/files/*', echo)
        .get('/files/:name', echo)
        .get('/files/readme', echo)
        .get('/files/:name/raw', echo);
      const server = await start(app);
      const route = async (path: string) =>
        (JSON.parse((await fetchText(server.url + path)).body) as { route: string }).route;
      expect(await route('/files/readme')).to.equal('/files/readme');
      expect(await route('/files/other')).to.equal('/files/:name');
      expect(await route('/files/other/raw')).to.equal('/files/:name/raw');
      expect(await route('/files/a/b/c')).to.equal('/files/*');
      // A param never matches an empty segment; the wildcard takes the rest, empty included.
      expect(await route('/files/')).to.equal('/files/*');
    });

    it('backtracks: a static branch that cannot match the rest gives way to the param branch', async () => {
      const app = router().get('/a/b/c', echo).get('/a/:x/d', echo);
      const server = await start(app);
      expect(JSON.parse((await fetchText(`${server.url}/a/b/d`)).body)).to.deep.include({
        route: '/a/:x/d',
        params: { x: 'b' },
      });
    });

    it('params are percent-decoded; a malformed escape is a 400, and the server keeps serving', async () => {
      const server = await start(router().get('/users/:id/*', echo));
      const found = JSON.parse((await fetchText(`${server.url}/users/a%20b%2Fc/x%20y/z`)).body) as { params: object };
      expect(found.params).to.deep.equal({ id: 'a b/c', '*': 'x y/z' });
      const bad = await fetchText(`${server.url}/users/%E0%A4%A/x`);
      expect(bad.status).to.equal(400);
      expect(server.errors, 'a client error, not a server failure').to.deep.equal([]);
      expect((await fetchText(`${server.url}/users/7/x`)).status).to.equal(200);
    });

    it('matches a path as decoded, escapes of either case included, but never makes a segment of %2F', async () => {
      const app = router()
        .get('/café', (req) => ({ body: `coffee at ${req.route}` }))
        .get('/a/b', () => ({ body: 'a then b' }))
        .get('/:one', (req) => ({ body: `one segment: ${req.params.one}` }));
      const server = await start(app);
      for (const path of ['/caf%C3%A9', '/caf%c3%a9', '/caf%C3%a9']) {
        expect((await fetchText(server.url + path)).body, path).to.equal('coffee at /café');
      }
      expect((await fetchText(`${server.url}/%61/%62`)).body).to.equal('a then b');
      expect((await fetchText(`${server.url}/a%2Fb`)).body).to.equal('one segment: a/b');
      expect((await fetchText(`${server.url}/a%2fb`)).body).to.equal('one segment: a/b');
      expect((await fetchText(`${server.url}/100%25`)).body).to.equal('one segment: 100%');
      expect((await fetchText(`${server.url}/%`)).status).to.equal(400);
      const redirecting = await start(router({ trailingSlash: 'redirect' }).get('/café/', () => ({ body: 'x' })));
      expect((await fetchText(`${redirecting.url}/caf%c3%a9`)).headers.location).to.equal('/caf%C3%A9/');
    });

    it('routes alike where code generation from strings is turned off (params are then built by a loop)', async () => {
      // The child serves a router and asks it over a real socket; the same checks as above, run both ways.
      const script = `
        const { router } = await import(${JSON.stringify(new URL('../../src/router/index.ts', import.meta.url).href)});
        const { serve } = await import(${JSON.stringify(new URL('../../src/server/index.ts', import.meta.url).href)});
        const echo = (req) => ({ body: JSON.stringify(req.params) });
        const server = await serve({ port: 0, host: '127.0.0.1', handler: router().get('/u/:id/p/:post', echo).get('/f/*', echo) });
        const out = [];
        for (const path of ['/u/1/p/x%20y', '/u/1/p/2', '/f/a/b', '/u/%E0%A4%A/p/2']) {
          const res = await fetch('http://127.0.0.1:' + server.port + path);
          out.push(res.status + ' ' + (await res.text()));
        }
        await server.close();
        console.log(JSON.stringify(out));
      `;
      const expected = ['200 {"id":"1","post":"x y"}', '200 {"id":"1","post":"2"}', '200 {"*":"a/b"}'];
      for (const flags of [[], ['--disallow-code-generation-from-strings']]) {
        const { stdout } = await run(
          process.execPath,
          [...flags, '--import', 'tsx', '--input-type=module', '-e', script],
          { env: childEnv() },
        );
        const seen = JSON.parse(stdout) as string[];
        expect(seen.slice(0, 3), flags.join(' ') || 'default').to.deep.equal(expected);
        expect(seen[3], 'a malformed escape').to.match(/^400 /);
      }
    });

    it('searchParams is the parsed query, parsed once', async () => {
      let same = false;
      const app = router().get('/q', (req) => {
        same = req.searchParams === req.searchParams;
        return { body: req.searchParams.getAll('tag').join(',') };
      });
      const server = await start(app);
      expect((await fetchText(`${server.url}/q?tag=a&tag=b%20c`)).body).to.equal('a,b c');
      expect(same).to.equal(true);
    });
  });

  describe('answers of its own', () => {
    it('404 when no path matches, or the notFound handler', async () => {
      const plain = await start(router().get('/a', () => ({ body: 'a' })));
      expect((await fetchText(`${plain.url}/b`)).status).to.equal(404);
      const custom = await start(router({ notFound: (req) => ({ status: 404, body: `no ${req.path}` }) }));
      expect((await fetchText(`${custom.url}/b`)).body).to.equal('no /b');
    });

    it('405 with Allow when the path matches but not the method; the path is matched first', async () => {
      const app = router()
        .get('/p/new', () => ({ body: 'form' }))
        .post('/p/:id', () => ({ body: 'saved' }))
        .route(['put', 'PATCH'], '/p/:id', () => ({ body: 'changed' }));
      const server = await start(app);
      const res = await fetchText(`${server.url}/p/new`, { method: 'POST' });
      expect(res.status).to.equal(405);
      expect(res.headers.allow).to.equal('GET, HEAD, OPTIONS');
      const other = await fetchText(`${server.url}/p/7`, { method: 'DELETE' });
      expect([other.status, other.headers.allow]).to.deep.equal([405, 'POST, PUT, PATCH, OPTIONS']);
      expect((await fetchText(`${server.url}/p/7`, { method: 'PATCH' })).body).to.equal('changed');
    });

    it('HEAD is answered by the GET route without a body; a HEAD route of its own comes first', async () => {
      let streamed = 0;
      const app = router()
        .get('/stream', () => ({
          headers: { 'content-type': 'text/plain' },
          body: new Observable<string>(() => {
            streamed++;
          }),
        }))
        .get('/both', () => ({ body: 'from get' }))
        .head('/both', () => ({ status: 204, headers: { 'x-from': 'head' } }));
      const server = await start(app);
      const { stdout } = await run('curl', ['-s', '-I', '--max-time', '5', `${server.url}/stream`]);
      expect(stdout).to.match(/^HTTP\/1\.1 200/);
      expect(stdout.toLowerCase()).to.include('content-type: text/plain');
      expect(streamed, 'the body is not subscribed for HEAD').to.equal(0);
      const both = await fetchText(`${server.url}/both`, { method: 'HEAD' });
      expect([both.status, both.headers['x-from']]).to.deep.equal([204, 'head']);
    });

    it('OPTIONS gets 204 with Allow, unless a route answers it', async () => {
      const app = router()
        .get('/a', () => ({ body: 'a' }))
        .delete('/a', () => ({ status: 204 }))
        .options('/b', () => ({ status: 200, body: 'my options' }))
        .get('/b', () => ({ body: 'b' }));
      const server = await start(app);
      const auto = await fetchText(`${server.url}/a`, { method: 'OPTIONS' });
      expect([auto.status, auto.headers.allow, auto.body]).to.deep.equal([204, 'GET, HEAD, DELETE, OPTIONS', '']);
      expect((await fetchText(`${server.url}/b`, { method: 'OPTIONS' })).body).to.equal('my options');
    });

    it("a route for every method: all(), beaten by a method's own route", async () => {
      const app = router()
        .all('/any', (req) => ({ body: `all ${req.method}` }))
        .get('/any', () => ({ body: 'get' }));
      const server = await start(app);
      expect((await fetchText(`${server.url}/any`)).body).to.equal('get');
      expect((await fetchText(`${server.url}/any`, { method: 'PROPFIND' })).body).to.equal('all PROPFIND');
    });
  });

  describe('trailing slashes', () => {
    it("'strict' (the default): /a and /a/ are different paths", async () => {
      const server = await start(
        router()
          .get('/a', () => ({ body: 'a' }))
          .get('/b/', () => ({ body: 'b/' })),
      );
      expect((await fetchText(`${server.url}/a/`)).status).to.equal(404);
      expect((await fetchText(`${server.url}/b`)).status).to.equal(404);
      expect((await fetchText(`${server.url}/b/`)).body).to.equal('b/');
    });

    it("'redirect': 308 to the registered form, query kept", async () => {
      const app = router({ trailingSlash: 'redirect' })
        .get('/a', () => ({ body: 'a' }))
        .get('/b/', () => ({ body: 'b/' }));
      const server = await start(app);
      const a = await fetchText(`${server.url}/a/?x=1`);
      expect([a.status, a.headers.location]).to.deep.equal([308, '/a?x=1']);
      const b = await fetchText(`${server.url}/b`);
      expect([b.status, b.headers.location]).to.deep.equal([308, '/b/']);
      expect((await fetchText(`${server.url}/c/`)).status).to.equal(404);
      const { stdout } = await run('curl', ['-s', '-L', '--max-time', '5', `${server.url}/a/`]);
      expect(stdout).to.equal('a');
    });

    it("'ignore': both forms match the one route", async () => {
      const app = router({ trailingSlash: 'ignore' }).get('/a', echo).get('/b/', echo);
      const server = await start(app);
      for (const path of ['/a', '/a/', '/b', '/b/'])
        expect((await fetchText(server.url + path)).status, path).to.equal(200);
    });
  });

  describe('mounting', () => {
    it('a mounted router sees the full path, url and pattern, with its prefix params', async () => {
      const members = router().get('/', echo).get('/:id', echo);
      const app = router().mount('/orgs/:org/members', members);
      const server = await start(app);
      expect(JSON.parse((await fetchText(`${server.url}/orgs/acme/members/7?x=1`)).body)).to.deep.equal({
        route: '/orgs/:org/members/:id',
        params: { org: 'acme', id: '7' },
        path: '/orgs/acme/members/7',
        url: '/orgs/acme/members/7?x=1',
      });
      expect(JSON.parse((await fetchText(`${server.url}/orgs/acme/members`)).body)).to.deep.include({
        route: '/orgs/:org/members',
      });
      expect((await fetchText(`${server.url}/orgs/acme/members/`)).status, 'strict: the prefix with a slash').to.equal(
        404,
      );
    });

    it("a mounted router's middleware run for its own paths only, its 404s and 405s included", async () => {
      const tag: Middleware = (req, next) =>
        next().pipe(map((res) => ({ ...res, headers: { ...res.headers, 'x-api': '1' } })));
      const api = router()
        .use(tag)
        .get('/users', () => ({ body: 'users' }));
      const app = router()
        .get('/', () => ({ body: 'home' }))
        .mount('/api', api);
      const server = await start(app);
      expect((await fetchText(`${server.url}/api/users`)).headers['x-api']).to.equal('1');
      const missing = await fetchText(`${server.url}/api/nothing`);
      expect([missing.status, missing.headers['x-api']]).to.deep.equal([404, '1']);
      const wrong = await fetchText(`${server.url}/api/users`, { method: 'PUT' });
      expect([wrong.status, wrong.headers['x-api']]).to.deep.equal([405, '1']);
      expect((await fetchText(`${server.url}/`)).headers['x-api']).to.equal(undefined);
      expect((await fetchText(`${server.url}/apix`)).status, 'a prefix is whole segments').to.equal(404);
    });

    it("a parent's routes more specific than the mount win, and its notFound serves the mounted router", async () => {
      const api = router().get('/:any', () => ({ body: 'api' }));
      const app = router({ notFound: () => ({ status: 404, body: 'parent says no' }) })
        .get('/api/health', () => ({ body: 'healthy' }))
        .mount('/api', api);
      const server = await start(app);
      expect((await fetchText(`${server.url}/api/health`)).body).to.equal('healthy');
      expect((await fetchText(`${server.url}/api/other`)).body).to.equal('api');
      expect((await fetchText(`${server.url}/api/a/b`)).body).to.equal('parent says no');
    });
  });

  describe('one table for a whole app', () => {
    it('serves a WebSocket route and an SSE route beside plain ones', async () => {
      const app = router()
        .get('/chat', () => ({ websocket: (conn) => conn.in$.pipe(map((m) => `echo ${String(m)}`)) }))
        .get('/clock', () =>
          sse(
            interval(5).pipe(
              take(3),
              map((n) => ({ event: 'tick', data: String(n) })),
            ),
          ),
        )
        .get('/', () => ({ body: 'home' }));
      const server = await start(app);
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/chat`);
      await within(5000, once(ws, 'open'), 'the WebSocket to open');
      ws.send('hi');
      const [reply] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
      expect(reply.toString()).to.equal('echo hi');
      ws.close();
      const { stdout } = await run('curl', ['-s', '-N', '--max-time', '5', `${server.url}/clock`]);
      expect(stdout.match(/^data: \d$/gm)).to.deep.equal(['data: 0', 'data: 1', 'data: 2']);
      expect((await fetchText(`${server.url}/chat`)).status, 'not an upgrade').to.equal(426);
    });
  });

  it("sends a { websocket } answer's headers with the 101, never over the handshake's own", async () => {
    const app = router().get('/chat', () => ({
      websocket: (conn) => conn.in$,
      headers: { 'x-request-id': 'abc', 'set-cookie': ['a=1', 'b=2'], upgrade: 'h2c', 'sec-websocket-accept': 'x' },
    }));
    const server = await start(app);
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/chat`);
    const [[response]] = (await within(5000, Promise.all([once(ws, 'upgrade'), once(ws, 'open')]), 'the 101')) as [
      [http.IncomingMessage],
      unknown,
    ];
    expect(response.headers['x-request-id']).to.equal('abc');
    expect(response.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
    expect(response.headers.upgrade).to.equal('websocket');
    ws.close();
    await once(ws, 'close');
    const bad = router().get('/chat', () => ({ websocket: (conn) => conn.in$, headers: { 'x-bad': 'a\nb' } }));
    const refusing = await start(bad);
    const refused = new WebSocket(`${refusing.url.replace('http', 'ws')}/chat`);
    const [, answer] = (await within(5000, once(refused, 'unexpected-response'), 'the refusal')) as [
      unknown,
      http.IncomingMessage,
    ];
    expect(answer.statusCode).to.equal(500);
    answer.resume();
    expect(refusing.errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['RXJET_ERR_INVALID_HEADER']);
  });

  describe('cancellation', () => {
    it('a route timeout answers 503 and runs the handler’s teardown; a body already streaming is not cut', async () => {
      let torn = 0;
      const ticks = new Subject<string>();
      const app = router()
        .get('/slow', () => new Observable<never>(() => () => torn++), { timeout: 50 })
        .get('/streaming', () => ({ body: ticks }), { timeout: 50 });
      const server = await start(app);
      const slow = await fetchText(`${server.url}/slow`);
      expect(slow.status).to.equal(503);
      expect(torn).to.equal(1);
      expect(server.errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['RXJET_ERR_HANDLER_TIMEOUT']);
      const streaming = fetchText(`${server.url}/streaming`);
      await until(() => ticks.observed, 'the body to be subscribed');
      // Well past the timeout, counted by the server's own clock through a second, slower route.
      await fetchText(`${server.url}/slow`);
      ticks.next('still ');
      ticks.next('here');
      ticks.complete();
      expect((await streaming).body).to.equal('still here');
    });

    it('a client that goes away unsubscribes every layer down to the handler', async () => {
      let subscribed = 0;
      let torn = 0;
      const handler = () => new Observable<never>(() => (subscribed++, () => torn++));
      const layer: Middleware = (req, next) => next().pipe(map((res) => res));
      const api = router()
        .use(layer)
        .get('/deep', handler, { use: [layer] });
      const app = router().use(layer).mount('/api', api);
      const server = await start(app);
      const req = http.get(`${server.url}/api/deep`);
      req.on('error', () => undefined);
      await until(() => subscribed === 1, 'the handler to be subscribed');
      req.destroy();
      await until(() => torn === 1, 'the handler to be torn down');
    });
  });

  it('inject and serve agree on a routed app', async () => {
    const app: Router = router()
      .use((req, next) => next().pipe(map((res) => ({ ...res, headers: { ...res.headers, 'x-app': 'yes' } }))))
      .get('/users/:id', (req) => ({ body: `user ${req.params.id}` }))
      .post('/users', () => ({ status: 201, body: 'made' }));
    const server = await start(app);
    for (const [method, url] of [
      ['GET', '/users/7'],
      ['POST', '/users'],
      ['DELETE', '/users'],
      ['GET', '/nope'],
      ['OPTIONS', '/users'],
    ] as const) {
      const served = await fetchText(server.url + url, { method });
      const injected = await firstValueFrom(inject(app, mockRequest({ method, url })));
      expect(
        [injected.status, injected.body, injected.headers['x-app'], injected.headers.allow],
        `${method} ${url}`,
      ).to.deep.equal([served.status, served.body, served.headers['x-app'], served.headers.allow]);
    }
  });

  describe('refusing what cannot work, at once', () => {
    it('a route that conflicts with one already there, naming both patterns', () => {
      const app = router().get('/a/:x', () => null);
      expect(() => app.get('/a/:y', () => null)).to.throw(InvalidOptionError, "'/a/:y' has the same shape as '/a/:x'");
      expect(() => app.post('/a/:y', () => null), 'another method is no conflict').not.to.throw();
      expect(() =>
        router()
          .all('/b', () => null)
          .all('/b', () => null),
      ).to.throw(InvalidOptionError);
    });

    it('bad patterns, handlers, methods, middleware and options, each with a typed error', () => {
      const app = router();
      const cases: [string, () => unknown][] = [
        ['no leading slash', () => app.get('a', () => null)],
        ['a query', () => app.get('/a?x', () => null)],
        ['a wildcard in the middle', () => app.get('/a/*/b', () => null)],
        ['a partial wildcard', () => app.get('/a*', () => null)],
        ['a partial param', () => app.get('/f/:name.json', () => null)],
        ['a param twice', () => app.get('/:a/:a', () => null)],
        ['a param named __proto__, which would set the prototype', () => app.get('/:__proto__', () => null)],
        ['a handler that is not a function', () => app.get('/x', 'nope' as never)],
        ['a method that is not a token', () => app.route('GE T', '/x', () => null)],
        ['no method', () => app.route([], '/x', () => null)],
        ['middleware that is not a function', () => app.use(42 as never)],
        ['route middleware that is not a list', () => app.get('/x', () => null, { use: (() => null) as never })],
        ['a timeout of zero', () => app.get('/x', () => null, { timeout: 0 })],
        ['an unknown route option', () => app.get('/x', () => null, { timeOut: 5 } as never)],
        ['an unknown router option', () => router({ trailing: 'strict' } as never)],
        ['a trailingSlash it does not know', () => router({ trailingSlash: 'loose' as never })],
        ['mounting something that is not a router', () => app.mount('/x', (() => null) as never)],
        ['a wildcard in a prefix', () => app.mount('/x/*', router())],
        ['mounting a router in itself', () => app.mount('/x', app)],
      ];
      for (const [what, attempt] of cases) expect(attempt, what).to.throw(InvalidOptionError);
      app.mount('/m', router());
      expect(() => app.mount('/m/', router()), 'twice at one prefix').to.throw(InvalidOptionError);
      expect(() => app.get('/m/*', () => null), 'a wildcard route where a router is mounted').to.throw(
        InvalidOptionError,
      );
    });
  });

  it('a hostile path (thousands of segments, escapes everywhere) is answered at once, the table notwithstanding', async () => {
    const app = router();
    const params = (n: number) => Array.from({ length: n }, (_, i) => `:p${i}/`).join('');
    for (let i = 0; i < 20; i++) app.get(`/${params(i)}x`, echo).get(`/${'a/'.repeat(i)}:q/y`, echo);
    const server = await start(app, { maxHeaderSize: 64 * 1024 });
    const deep = await fetchText(`${server.url}/${'a/'.repeat(15_000)}z`);
    expect(deep.status).to.equal(404);
    const escaped = await fetchText(`${server.url}/${'%61/'.repeat(5)}x`);
    expect(JSON.parse(escaped.body)).to.deep.include({ route: `/${params(5)}x` });
    expect(server.errors).to.deep.equal([]);
  });

  it('a request line the router never expected still gets an answer (an asterisk-form OPTIONS, an absolute URL)', async () => {
    const server = await start(router().get('/a', () => ({ body: 'a' })));
    const star = await rawExchange(server.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(star.received).to.match(/^HTTP\/1\.1 404/);
    const absolute = await rawExchange(
      server.port,
      `GET ${server.url}/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(absolute.received).to.match(/^HTTP\/1\.1 200/);
  });
});
