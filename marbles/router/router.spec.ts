import { expect } from 'chai';
import { catchError, concatMap, finalize, map, of, tap, throwError } from 'rxjs';
import { router, withMiddleware, type Middleware } from '../../src/router/index.js';
import { deriveRequest, HttpError } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

/** A middleware that records when it sees the request and the response, under `name`. */
function tracer(name: string, log: string[]): Middleware {
  return (req, next) => {
    log.push(`${name} in`);
    return next().pipe(tap(() => log.push(`${name} out`)));
  };
}

describe('router and middleware in virtual time', () => {
  it('order: middleware run in onion order, router scope outside route scope, whatever the order of use()', () => {
    const log: string[] = [];
    const app = router()
      .get('/', () => (log.push('handler'), { body: 'ok' }), { use: [tracer('route', log)] })
      .use(tracer('outer', log), tracer('inner', log));
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest()))).toBe('(a|)', { a: '200 ok' });
    });
    expect(log).to.deep.equal(['outer in', 'inner in', 'route in', 'handler', 'route out', 'inner out', 'outer out']);
  });

  it('use() after the router has answered: later requests go through the new middleware too', () => {
    const log: string[] = [];
    const app = router()
      .use(tracer('first', log))
      .get('/', () => ({ body: 'ok' }));
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest()))).toBe('(a|)', { a: '200 ok' });
    });
    app.use(tracer('second', log));
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest()))).toBe('(a|)', { a: '200 ok' });
    });
    expect(log).to.deep.equal(['first in', 'first out', 'first in', 'second in', 'second out', 'first out']);
  });

  it('order: a mounted router runs its own middleware inside its parent’s', () => {
    const log: string[] = [];
    const api = router()
      .use(tracer('api', log))
      .get('/x', () => ({ body: 'x' }));
    const app = router().use(tracer('app', log)).mount('/api', api);
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest({ url: '/api/x' })))).toBe('(a|)', { a: '200 x' });
    });
    expect(log).to.deep.equal(['app in', 'api in', 'api out', 'app out']);
  });

  it('short-circuit: a middleware that answers itself never subscribes what is below it', () => {
    let handled = 0;
    const deny: Middleware = (req) => (req.headers.authorization ? null : { status: 401, body: 'who?' });
    const app = withMiddleware(() => (handled++, { body: 'secret' }), deny);
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest()))).toBe('(a|)', { a: '401 who?' });
    });
    expect(handled).to.equal(0);
  });

  it('derivation: next(deriveRequest(...)) hands the derived request down, sharing the original’s headers', () => {
    const rewrite: Middleware<{ tag: string }> = (req, next) => next(deriveRequest(req, { path: '/b', tag: 'seen' }));
    const app = router()
      .use(rewrite)
      .get('/b', (req) => ({ body: `${req.route} ${req.tag} ${req.headers.x}` }));
    scheduler().run(({ expectObservable }) => {
      const req = mockRequest({ url: '/a', headers: { x: 'kept' } });
      expectObservable(summary(inject(app, req))).toBe('(a|)', { a: '200 /b seen kept' });
    });
  });

  it('next() is cold: nothing below runs until it is subscribed, and each subscription runs it again', () => {
    let runs = 0;
    const twice: Middleware = (req, next) => {
      void next();
      expect(runs, 'made, not subscribed').to.equal(0);
      return next();
    };
    const app = withMiddleware(() => (runs++, { body: `run ${runs}` }), twice);
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest()))).toBe('(a|)', { a: '200 run 1' });
    });
    expect(runs).to.equal(1);
  });

  it('catchError over next(): an error below is answered by the middleware, an HttpError with its status', () => {
    const rescue: Middleware = (req, next) =>
      next().pipe(
        catchError((error: unknown) =>
          of({ status: error instanceof HttpError ? error.status : 500, body: `rescued ${String(error)}` }),
        ),
      );
    const app = router()
      .use(rescue)
      .get('/gone', () => throwError(() => new HttpError(410, 'gone')))
      .get('/boom', () => {
        throw new Error('boom');
      });
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest({ url: '/gone' })))).toBe('(a|)', {
        a: '410 rescued HttpError: gone',
      });
      expectObservable(summary(inject(app, mockRequest({ url: '/boom' })))).toBe('(a|)', {
        a: '500 rescued Error: boom',
      });
      const slow = router()
        .use(rescue)
        .get('/', () => cold('--#', undefined, new HttpError(503, 'later')));
      expectObservable(summary(inject(slow, mockRequest()))).toBe('--(a|)', { a: '503 rescued HttpError: later' });
    });
  });

  it('middleware see the 404 and the 405 the router answers itself', () => {
    const stamp: Middleware = (req, next) => next().pipe(map((res) => ({ ...res, body: `stamped ${res.status}` })));
    const app = router()
      .use(stamp)
      .post('/only-post', () => ({ body: 'posted' }));
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(app, mockRequest({ url: '/nowhere' })))).toBe('(a|)', { a: '404 stamped 404' });
      expectObservable(summary(inject(app, mockRequest({ url: '/only-post' })))).toBe('(a|)', {
        a: '405 stamped 405',
      });
    });
  });

  it('route timeout: at the deadline the handler is unsubscribed (teardown runs) and the answer is 503', () => {
    let torn = 0;
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold<{ body: string }>('-----a', { a: { body: 'late' } });
      const app = router().get('/slow', () => slow.pipe(finalize(() => torn++)), { timeout: 3 });
      expectObservable(summary(inject(app, mockRequest({ url: '/slow' }), { onError: () => {} }))).toBe('---(a|)', {
        a: '503 Service Unavailable',
      });
      expectSubscriptions(slow.subscriptions).toBe('^--!');
    });
    expect(torn).to.equal(1);
  });

  it('route timeout: counts the route’s own middleware, and an answer in time is not touched', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const wait: Middleware = (req, next) => cold('--a|').pipe(concatMap(() => next()));
      const app = router()
        .get('/in-time', () => cold('-a', { a: { body: 'fine' } }), { use: [wait], timeout: 5 })
        .get('/too-slow', () => cold('----a', { a: { body: 'late' } }), { use: [wait], timeout: 5 });
      expectObservable(summary(inject(app, mockRequest({ url: '/in-time' })))).toBe('---(a|)', { a: '200 fine' });
      expectObservable(summary(inject(app, mockRequest({ url: '/too-slow' }), { onError: () => {} }))).toBe(
        '-----(a|)',
        { a: '503 Service Unavailable' },
      );
    });
  });

  it('unsubscribing (the client going away) unsubscribes every layer down to the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const never = cold<{ body: string }>('-');
      const layer: Middleware = (req, next) => next().pipe(map((res) => res));
      const api = router()
        .use(layer)
        .get('/deep', () => never, { use: [layer] });
      const app = router().use(layer).mount('/api', api);
      expectObservable(inject(app, mockRequest({ url: '/api/deep' })), '^---!').toBe('-');
      expectSubscriptions(never.subscriptions).toBe('^---!');
    });
  });
});
