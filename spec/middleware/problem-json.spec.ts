import { expect } from 'chai';
import { firstValueFrom, NEVER, throwError } from 'rxjs';
import {
  cors,
  problemJson,
  requestId,
  type ProblemDetails,
  type ProblemJsonOptions,
} from '../../src/middleware/index.js';
import { router } from '../../src/router/index.js';
import { HandlerError, HandlerTimeoutError, InvalidOptionError } from '../../src/index.js';
import { HttpError, type Handler } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, start, type Fetched } from '../helpers.js';

const problemType = 'application/problem+json';

/** A router with problemJson outermost and routes that fail in every way. */
function app(options?: ProblemJsonOptions): Handler {
  return router()
    .use(problemJson(options))
    .get('/users/:id', (req) => {
      throw new HttpError(404, `No user ${req.params.id}.`);
    })
    .get('/private', () =>
      throwError(() => new HttpError(401, undefined, { headers: { 'www-authenticate': 'Bearer realm="api"' } })),
    )
    .get('/boom', () => Promise.reject(new Error('password=hunter2 leaked in a message')))
    .get('/slow', () => NEVER, { timeout: 30 })
    .get('/teapot', () => ({ status: 418, headers: { 'content-type': 'text/plain' }, body: 'short and stout' }))
    .get('/invalid', () => ({
      status: 422,
      headers: { 'content-type': 'application/json' },
      body: '{"errors":["name"]}',
    }))
    .get('/ok', () => ({ body: 'fine' }))
    .put('/ok', () => ({ body: 'put' }));
}

function problemOf(res: Fetched): ProblemDetails {
  expect(res.headers['content-type']).to.equal(problemType);
  return JSON.parse(res.body) as ProblemDetails;
}

describe('problemJson', () => {
  afterEach(closeAll);

  it('answers an HttpError as problem details, its message the detail and its headers kept', async () => {
    const server = await start(app());
    const missing = await fetchText(`${server.url}/users/7?x=1`);
    expect(missing.status).to.equal(404);
    expect(problemOf(missing)).to.deep.equal({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No user 7.',
      instance: '/users/7',
    });
    expect(missing.headers['content-length']).to.equal(String(Buffer.byteLength(missing.body)));
    const denied = await fetchText(`${server.url}/private`);
    expect(denied.status).to.equal(401);
    expect(denied.headers['www-authenticate']).to.equal('Bearer realm="api"');
    // The default message only repeats the title, so there is no detail.
    expect(problemOf(denied)).to.deep.equal({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      instance: '/private',
    });
    expect(server.errors).to.deep.equal([]);
  });

  it('never sends an unknown error’s message, and the server still reports it to onError', async () => {
    const server = await start(app());
    const res = await fetchText(`${server.url}/boom`);
    expect(res.status).to.equal(500);
    expect(res.body).not.to.include('hunter2');
    expect(problemOf(res)).to.deep.equal({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      instance: '/boom',
    });
    expect(server.errors).to.have.length(1);
    expect(server.errors[0]).to.be.instanceOf(HandlerError);
    expect((server.errors[0]!.cause as Error).message).to.equal('password=hunter2 leaked in a message');
  });

  it('answers a route timeout as a 503 problem, reported', async () => {
    const server = await start(app());
    const res = await fetchText(`${server.url}/slow`);
    expect(res.status).to.equal(503);
    expect(problemOf(res)).to.deep.equal({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      instance: '/slow',
    });
    expect(server.errors.map((error) => error.constructor)).to.deep.equal([HandlerTimeoutError]);
  });

  it('rewrites the router’s 404 and 405 (keeping Allow) and its 400 for a malformed path', async () => {
    const server = await start(app());
    const notFound = await fetchText(`${server.url}/nowhere`);
    expect(notFound.status).to.equal(404);
    expect(problemOf(notFound)).to.deep.equal({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      instance: '/nowhere',
    });
    const notAllowed = await fetchText(`${server.url}/ok`, { method: 'DELETE' });
    expect(notAllowed.status).to.equal(405);
    expect(notAllowed.headers.allow).to.equal('GET, HEAD, PUT, OPTIONS');
    expect(problemOf(notAllowed)).to.deep.include({ title: 'Method Not Allowed', status: 405 });
    const malformed = await fetchText(`${server.url}/users/%E0%A4%A`);
    expect(malformed.status).to.equal(400);
    expect(problemOf(malformed)).to.deep.equal({
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'The path has a malformed percent-encoding.',
      instance: '/users/%E0%A4%A',
    });
  });

  it('leaves successes and your own error answers as they are', async () => {
    const server = await start(app());
    const ok = await fetchText(`${server.url}/ok`);
    expect([ok.status, ok.headers['content-type'], ok.body]).to.deep.equal([200, undefined, 'fine']);
    const teapot = await fetchText(`${server.url}/teapot`);
    expect([teapot.status, teapot.headers['content-type'], teapot.body]).to.deep.equal([
      418,
      'text/plain',
      'short and stout',
    ]);
    const invalid = await fetchText(`${server.url}/invalid`);
    expect([invalid.status, invalid.body]).to.deep.equal([422, '{"errors":["name"]}']);
    const automatic = await fetchText(`${server.url}/ok`, { method: 'OPTIONS' });
    expect([automatic.status, automatic.headers.allow]).to.deep.equal([204, 'GET, HEAD, PUT, OPTIONS']);
  });

  it('rewrites errors that cors and requestId below already answered, keeping their headers, reported once', async () => {
    const origin = 'https://app.example';
    const server = await start(
      router()
        .use(problemJson(), requestId(), cors({ origin }))
        .get('/boom', () => {
          throw new Error('secret');
        })
        .get('/gone', () => throwError(() => new HttpError(410, 'It moved out.'))),
    );
    const boom = await fetchText(`${server.url}/boom`, { headers: { origin, 'x-request-id': 'r-1' } });
    expect(boom.status).to.equal(500);
    expect(problemOf(boom)).to.deep.equal({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      instance: '/boom',
    });
    expect(boom.headers['access-control-allow-origin']).to.equal(origin);
    expect(boom.headers['x-request-id']).to.equal('r-1');
    expect(boom.headers['x-content-type-options']).to.equal('nosniff');
    expect(server.errors).to.have.length(1);
    expect((server.errors[0]!.cause as Error).message).to.equal('secret');
    const gone = await fetchText(`${server.url}/gone`, { headers: { origin } });
    expect(problemOf(gone)).to.deep.include({ status: 410, title: 'Gone', detail: 'It moved out.' });
    expect(gone.headers['access-control-allow-origin']).to.equal(origin);
    const missing = await fetchText(`${server.url}/missing`, { headers: { origin } });
    expect(problemOf(missing)).to.deep.include({ status: 404, title: 'Not Found' });
    expect(missing.headers['access-control-allow-origin']).to.equal(origin);
  });

  it('answers errors inside cors, which then adds its headers to the problem', async () => {
    const origin = 'https://app.example';
    const server = await start(
      router()
        .use(cors({ origin }), problemJson())
        .get('/boom', () => {
          throw new Error('secret');
        }),
    );
    const res = await fetchText(`${server.url}/boom`, { headers: { origin } });
    expect(problemOf(res)).to.deep.include({ status: 500 });
    expect(res.headers['access-control-allow-origin']).to.equal(origin);
    expect(server.errors).to.have.length(1);
  });

  it('leaves rxjet’s plain answers alone with plainErrors: false, and the instance out with instance: false', async () => {
    const server = await start(app({ plainErrors: false, instance: false }));
    const notFound = await fetchText(`${server.url}/nowhere`);
    expect([notFound.status, notFound.headers['content-type'], notFound.body]).to.deep.equal([
      404,
      'text/plain; charset=utf-8',
      'Not Found',
    ]);
    const thrown = await fetchText(`${server.url}/users/1`);
    expect(problemOf(thrown)).to.deep.equal({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'No user 1.',
    });
  });

  it('works in a route’s own use', async () => {
    const server = await start(
      router()
        .get(
          '/a',
          () => {
            throw new HttpError(400, 'Bad a.');
          },
          { use: [problemJson()] },
        )
        .get('/b', () => {
          throw new HttpError(400, 'Bad b.');
        }),
    );
    expect(problemOf(await fetchText(`${server.url}/a`))).to.deep.include({ detail: 'Bad a.' });
    const b = await fetchText(`${server.url}/b`);
    expect([b.headers['content-type'], b.body]).to.deep.equal(['text/plain; charset=utf-8', 'Bad b.']);
  });

  it('sends no body for HEAD', async () => {
    const server = await start(app());
    const res = await fetchText(`${server.url}/users/1`, { method: 'HEAD' });
    expect(res.status).to.equal(404);
    expect(res.headers['content-type']).to.equal(problemType);
    expect(res.body).to.equal('');
  });

  it('answers as inject does', async () => {
    const handler = app();
    const server = await start(handler);
    for (const [method, url] of [
      ['GET', '/users/3'],
      ['GET', '/private'],
      ['GET', '/boom'],
      ['GET', '/nowhere'],
      ['DELETE', '/ok'],
      ['GET', '/ok'],
    ] as const) {
      const wire = await fetchText(`${server.url}${url}`, { method });
      const injected = await firstValueFrom(
        inject(handler, mockRequest({ method, url }), { onError: () => undefined }),
      );
      expect([injected.status, injected.headers['content-type'], injected.body], `${method} ${url}`).to.deep.equal([
        wire.status,
        wire.headers['content-type'],
        wire.body,
      ]);
    }
  });

  describe('options', () => {
    it('throws InvalidOptionError at once for a bad option, naming it', () => {
      const bad: [unknown, string][] = [
        [{ plainErrors: 'yes' }, 'plainErrors'],
        [{ instance: 1 }, 'instance'],
        [{ type: 'https://example.com/problems' }, 'type'],
        [null, 'options'],
      ];
      for (const [options, name] of bad) {
        expect(() => problemJson(options as ProblemJsonOptions), name)
          .to.throw(InvalidOptionError)
          .with.property('option', name);
      }
    });
  });
});
