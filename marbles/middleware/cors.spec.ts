import { expect } from 'chai';
import { map, type Observable } from 'rxjs';
import { cors, type CorsOptions } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HttpError, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest, type InjectedResponse } from '../../src/testing/index.js';
import { scheduler } from '../helpers.js';

const origin = 'https://app.example';

/** Status, body and the CORS origin header of each response, for compact marble values. */
function view(response$: Observable<InjectedResponse>): Observable<string> {
  return response$.pipe(map((r) => `${r.status} ${r.body} ${String(r.headers['access-control-allow-origin'] ?? '-')}`));
}

/** A router with cors around one route at `/`, answered by `handler`. */
function app(handler: () => Observable<JetResponse>, options: CorsOptions = { origin }, ...more: Middleware[]) {
  return router()
    .use(cors(options), ...more)
    .get('/', handler);
}

const fromApp = () => mockRequest({ headers: { origin } });

describe('cors in virtual time', () => {
  it('values: the answer below gets the CORS headers when it comes, and the handler is then unsubscribed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('---a', { a: { body: 'hi' } });
      expectObservable(
        view(
          inject(
            app(() => handler$),
            fromApp(),
          ),
        ),
      ).toBe('---(a|)', { a: `200 hi ${origin}` });
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
  });

  it('empty: a handler that answers nothing is a 404 that keeps the CORS headers', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const handler$ = cold<JetResponse>('--|');
      expectObservable(
        view(
          inject(
            app(() => handler$),
            fromApp(),
          ),
        ),
      ).toBe('--(a|)', { a: `404 Not Found ${origin}` });
    });
  });

  it('error: an unknown error is a reported 500 and an HttpError its own status, both with the CORS headers', () => {
    const reported: unknown[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const refused$ = cold<JetResponse>('-#', undefined, new HttpError(403, 'not yours'));
      const onError = (error: Error) => reported.push(error.cause);
      expectObservable(
        view(
          inject(
            app(() => failing$),
            fromApp(),
            { onError },
          ),
        ),
      ).toBe('--(a|)', {
        a: `500 Internal Server Error ${origin}`,
      });
      expectObservable(
        view(
          inject(
            app(() => refused$),
            fromApp(),
            { onError },
          ),
        ),
      ).toBe('-(a|)', {
        a: `403 not yours ${origin}`,
      });
    });
    expect(reported).to.have.length(1);
    expect((reported[0] as Error).message).to.equal('secret');
  });

  it('error: a refused origin’s error passes through as an error, answered without CORS headers', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const req = mockRequest({ headers: { origin: 'https://evil.test' } });
      expectObservable(
        view(
          inject(
            app(() => failing$),
            req,
            { onError: () => undefined },
          ),
        ),
      ).toBe('--(a|)', {
        a: '500 Internal Server Error -',
      });
    });
  });

  it('never-ending with early unsubscribe: the client leaving reaches the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(
        view(
          inject(
            app(() => handler$),
            fromApp(),
          ),
        ),
        '^--!',
      ).toBe('---');
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
  });

  it('a preflight is answered at once, without subscribing to anything below', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('--a', { a: { body: 'never seen' } });
      const req = mockRequest({ method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'PUT' } });
      expectObservable(
        view(
          inject(
            app(() => handler$),
            req,
          ),
        ),
      ).toBe('(a|)', { a: `204  ${origin}` });
      expectSubscriptions(handler$.subscriptions).toBe([]);
    });
  });

  it('a streaming body passes through untouched, and is unsubscribed when the client leaves', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-b|');
      const endless$ = cold('-a-a-a-a-a');
      expectObservable(
        view(
          inject(
            app(() => cold('r', { r: { body: body$ } })),
            fromApp(),
          ),
        ),
      ).toBe('----(a|)', {
        a: `200 ab ${origin}`,
      });
      expectSubscriptions(body$.subscriptions).toBe('^---!');
      expectObservable(
        view(
          inject(
            app(() => cold('r', { r: { body: endless$ } })),
            fromApp(),
          ),
        ),
        '^---!',
      ).toBe('-');
      expectSubscriptions(endless$.subscriptions).toBe('^---!');
    });
  });

  it('order: middleware inside cors answer before it adds its headers; middleware outside see them', () => {
    const seenInside: unknown[] = [];
    const seenOutside: unknown[] = [];
    const peek =
      (seen: unknown[]): Middleware =>
      (req, next) =>
        next().pipe(map((res) => (seen.push(res.headers?.['access-control-allow-origin']), res)));
    scheduler().run(({ cold, expectObservable }) => {
      const handler = router()
        .use(peek(seenOutside), cors({ origin }), peek(seenInside))
        .get('/', () => cold('-a', { a: { body: 'x' } }));
      expectObservable(view(inject(handler, fromApp()))).toBe('-(a|)', { a: `200 x ${origin}` });
    });
    expect(seenInside).to.deep.equal([undefined]);
    expect(seenOutside).to.deep.equal([origin]);
  });

  it('throwing user code: an origin function that throws is a 500 without CORS headers', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-a', { a: { body: 'x' } });
      const throwing = () => {
        throw new Error('no policy');
      };
      expectObservable(
        view(
          inject(
            app(() => handler$, { origin: throwing }),
            fromApp(),
            { onError: () => undefined },
          ),
        ),
      ).toBe('(a|)', { a: '500 Internal Server Error -' });
      expectSubscriptions(handler$.subscriptions).toBe([]);
    });
  });
});
