import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import http from 'node:http';
import { firstValueFrom, NEVER, Observable, throwError } from 'rxjs';
import { requestId, type RequestIdOptions } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HandlerError, HandlerTimeoutError, InvalidOptionError } from '../../src/index.js';
import { HttpError, type Handler } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, start, until } from '../helpers.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A router with requestId in its `use`: `/id` answers the id it sees. */
function app(options?: RequestIdOptions): Handler {
  return router()
    .use(requestId(options))
    .get('/id', (req) => ({ body: req.id }))
    .get('/boom', () => {
      throw new Error('secret');
    })
    .get('/refused', () =>
      throwError(() => new HttpError(401, 'who are you', { headers: { 'www-authenticate': 'Basic' } })),
    )
    .get('/slow', () => NEVER, { timeout: 30 });
}

/** Sends one GET with a raw header value (bytes as given), and reads the answer. */
function getWithRawHeader(url: string, name: string, value: string): Promise<{ id: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false });
    req.setHeader(name, Buffer.from(value, 'latin1').toString('latin1'));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ id: res.headers['x-request-id'] as string | undefined, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('requestId', () => {
  afterEach(closeAll);

  it('types req.id as a string for the routes below it', () => {
    router()
      .use(requestId())
      .get('/', (req) => {
        expectTypeOf(req.id).toEqualTypeOf<string>();
        return { body: req.id };
      });
    expectTypeOf(requestId()).toEqualTypeOf<Middleware<{ id: string }>>();
  });

  it('makes a UUID for a request without one: it is req.id and the answer’s x-request-id, new each time', async () => {
    const server = await start(app());
    const first = await fetchText(`${server.url}/id`);
    const second = await fetchText(`${server.url}/id`);
    expect(first.body).to.match(uuid);
    expect(first.headers['x-request-id']).to.equal(first.body);
    expect(second.body).to.match(uuid);
    expect(second.body).not.to.equal(first.body);
  });

  it('keeps a sane incoming x-request-id', async () => {
    const server = await start(app());
    for (const id of ['abc', 'req-42_A.b:c/d=e', 'x'.repeat(200), '!~', '0']) {
      const res = await fetchText(`${server.url}/id`, { headers: { 'x-request-id': id } });
      expect(res.body, id).to.equal(id);
      expect(res.headers['x-request-id']).to.equal(id);
    }
  });

  it('replaces an incoming id that is too long, holds spaces, controls or non-ASCII, or came twice', async () => {
    const server = await start(app());
    for (const id of ['x'.repeat(201), 'a b', 'a\tb', 'caf\u00e9']) {
      const res = await getWithRawHeader(`${server.url}/id`, 'x-request-id', id);
      expect(res.body, JSON.stringify(id)).to.match(uuid);
      expect(res.id).to.equal(res.body);
    }
    const empty = await fetchText(`${server.url}/id`, { headers: { 'x-request-id': '' } });
    expect(empty.body).to.match(uuid);
    const twice = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${server.url}/id`, { agent: false });
      req.setHeader('x-request-id', ['a', 'b']); // two fields, which node joins as 'a, b'
      req.on('response', (res) => {
        res.resume();
        resolve(res.headers['x-request-id'] as string);
      });
      req.on('error', reject);
      req.end();
    });
    expect(twice).to.match(uuid);
  });

  it('sends the id on every answer: an HttpError with its headers, an unknown error, a 404, a 405, a route timeout', async () => {
    const server = await start(app());
    const cases: [string, string, number, string][] = [
      ['GET', '/refused', 401, 'who are you'],
      ['GET', '/boom', 500, 'Internal Server Error'],
      ['GET', '/nowhere', 404, 'Not Found'],
      ['POST', '/id', 405, 'Method Not Allowed'],
      ['GET', '/slow', 503, 'Service Unavailable'],
    ];
    for (const [method, path, status, body] of cases) {
      const res = await fetchText(`${server.url}${path}`, { method, headers: { 'x-request-id': `id-${status}` } });
      expect([res.status, res.body, res.headers['x-request-id']], path).to.deep.equal([status, body, `id-${status}`]);
    }
    const refused = await fetchText(`${server.url}/refused`);
    expect(refused.headers['www-authenticate']).to.equal('Basic');
    expect(refused.headers['x-request-id']).to.match(uuid);
    // Answering the errors itself, requestId still lets the server report them.
    expect(server.errors.map((error) => error.constructor)).to.deep.equal([HandlerError, HandlerTimeoutError]);
  });

  it('reads and sends the header given, in any case', async () => {
    const server = await start(app({ header: 'X-Correlation-ID' }));
    const kept = await fetchText(`${server.url}/id`, {
      headers: { 'x-correlation-id': 'corr-1', 'x-request-id': 'no' },
    });
    expect(kept.body).to.equal('corr-1');
    expect(kept.headers['x-correlation-id']).to.equal('corr-1');
    expect(kept.headers['x-request-id']).to.equal(undefined);
    const made = await fetchText(`${server.url}/id`);
    expect(made.headers['x-correlation-id']).to.match(uuid);
  });

  it('replaces an x-request-id the handler set itself, whatever its case', async () => {
    const server = await start(
      router()
        .use(requestId())
        .get('/', () => ({ headers: { 'X-Request-Id': 'mine' }, body: 'x' })),
    );
    const res = await fetchText(server.url, { headers: { 'x-request-id': 'theirs' } });
    expect(res.rawHeaders.filter((name) => name.toLowerCase() === 'x-request-id')).to.have.length(1);
    expect(res.headers['x-request-id']).to.equal('theirs');
  });

  it('makes ids with the generator given, which gets the request', async () => {
    let n = 0;
    const server = await start(app({ generator: (req) => `${req.method.toLowerCase()}-${++n}` }));
    expect((await fetchText(`${server.url}/id`)).body).to.equal('get-1');
    expect((await fetchText(`${server.url}/id`, { headers: { 'x-request-id': 'kept' } })).body).to.equal('kept');
    expect((await fetchText(`${server.url}/id`)).body).to.equal('get-2');
  });

  it('answers 500 and reports an InvalidOptionError when the generator makes an id that is not sane', async () => {
    const server = await start(app({ generator: () => 'not sane' }));
    const res = await fetchText(`${server.url}/id`);
    expect(res.status).to.equal(500);
    expect(server.errors).to.have.length(1);
    expect(server.errors[0]).to.be.instanceOf(InvalidOptionError).with.property('option', 'generator');
  });

  it('works in a route’s own use, and the id reaches the route', async () => {
    const server = await start(
      router()
        .get('/a', (req) => ({ body: `a ${req.id}` }), { use: [requestId()] })
        .get('/b', () => ({ body: 'b' })),
    );
    const a = await fetchText(`${server.url}/a`, { headers: { 'x-request-id': 'r1' } });
    expect([a.body, a.headers['x-request-id']]).to.deep.equal(['a r1', 'r1']);
    const b = await fetchText(`${server.url}/b`, { headers: { 'x-request-id': 'r2' } });
    expect(b.headers['x-request-id']).to.equal(undefined);
  });

  it('answers as inject does', async () => {
    const handler = app();
    const server = await start(handler);
    for (const [url, id] of [
      ['/id', 'abc'],
      ['/boom', 'def'],
      ['/nowhere', 'ghi'],
      ['/refused', 'jkl'],
    ] as const) {
      const wire = await fetchText(`${server.url}${url}`, { headers: { 'x-request-id': id } });
      const injected = await firstValueFrom(
        inject(handler, mockRequest({ url, headers: { 'x-request-id': id } }), { onError: () => undefined }),
      );
      expect([injected.status, injected.body, injected.headers['x-request-id']]).to.deep.equal([
        wire.status,
        wire.body,
        wire.headers['x-request-id'],
      ]);
    }
  });

  it('lets a client going away reach the handler: it is unsubscribed', async () => {
    let reached = false;
    let tornDown = false;
    const server = await start(
      router()
        .use(requestId())
        .get(
          '/',
          () =>
            new Observable<never>(() => {
              reached = true;
              return () => (tornDown = true);
            }),
        ),
    );
    const req = http.request(server.url, { agent: false });
    req.on('error', () => undefined);
    req.end();
    await until(() => reached, 'the handler to be subscribed');
    req.destroy();
    await until(() => tornDown, 'the handler to be unsubscribed');
  });

  describe('options', () => {
    it('throws InvalidOptionError at once for a bad option, naming it', () => {
      const bad: [unknown, string][] = [
        [{ header: 'bad header' }, 'header'],
        [{ header: 42 }, 'header'],
        [{ generator: 'uuid' }, 'generator'],
        [{ prefix: 'x' }, 'prefix'],
        [null, 'options'],
      ];
      for (const [options, name] of bad) {
        expect(() => requestId(options as RequestIdOptions), name)
          .to.throw(InvalidOptionError)
          .with.property('option', name);
      }
    });
  });
});
