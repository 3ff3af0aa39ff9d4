import { expect } from 'chai';
import { map, type Observable } from 'rxjs';
import { requestId } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HttpError, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest, type InjectedResponse } from '../../src/testing/index.js';
import { scheduler } from '../helpers.js';

/** Status, body and x-request-id of each response, for compact marble values. */
function view(response$: Observable<InjectedResponse>): Observable<string> {
  return response$.pipe(map((r) => `${r.status} ${r.body} ${String(r.headers['x-request-id'] ?? '-')}`));
}

const withId = (id: string) => mockRequest({ headers: { 'x-request-id': id } });

function app(handler: () => Observable<JetResponse>, ...more: Middleware[]) {
  return router()
    .use(requestId(), ...more)
    .get('/', handler);
}

describe('requestId in virtual time', () => {
  it('values: the answer gets the id when it comes, and the handler is then unsubscribed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('--a', { a: { body: 'hi' } });
      expectObservable(
        view(
          inject(
            app(() => handler$),
            withId('r1'),
          ),
        ),
      ).toBe('--(a|)', { a: '200 hi r1' });
      expectSubscriptions(handler$.subscriptions).toBe('^-!');
    });
  });

  it('empty: a 404 keeps the id', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(
        view(
          inject(
            app(() => cold('-|')),
            withId('r2'),
          ),
        ),
      ).toBe('-(a|)', { a: '404 Not Found r2' });
    });
  });

  it('error: an unknown error (reported) and an HttpError keep the id', () => {
    const reported: Error[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const refused$ = cold<JetResponse>('-#', undefined, new HttpError(429, 'slow down'));
      const onError = (error: Error) => reported.push(error);
      expectObservable(
        view(
          inject(
            app(() => failing$),
            withId('r3'),
            { onError },
          ),
        ),
      ).toBe('--(a|)', {
        a: '500 Internal Server Error r3',
      });
      expectObservable(
        view(
          inject(
            app(() => refused$),
            withId('r4'),
            { onError },
          ),
        ),
      ).toBe('-(a|)', {
        a: '429 slow down r4',
      });
    });
    expect(reported).to.have.length(1);
  });

  it('never-ending with early unsubscribe: the client leaving reaches the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(
        view(
          inject(
            app(() => handler$),
            withId('r5'),
          ),
        ),
        '^---!',
      ).toBe('----');
      expectSubscriptions(handler$.subscriptions).toBe('^---!');
    });
  });

  it('order: middleware below see req.id; the id is on the answer whatever they do', () => {
    const seen: unknown[] = [];
    const below: Middleware = (req, next) => {
      seen.push((req as { id?: unknown }).id);
      return next().pipe(map((res) => ({ ...res, headers: { ...res.headers, 'x-request-id': 'overwritten' } })));
    };
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(
        view(
          inject(
            app(() => cold('-a', { a: { body: 'x' } }), below),
            withId('r6'),
          ),
        ),
      ).toBe('-(a|)', { a: '200 x r6' });
    });
    expect(seen).to.deep.equal(['r6']);
  });

  it('throwing user code: a generator that throws is a 500, and the handler never runs', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-a', { a: { body: 'x' } });
      const handler = router()
        .use(
          requestId({
            generator: () => {
              throw new Error('no ids today');
            },
          }),
        )
        .get('/', () => handler$);
      expectObservable(view(inject(handler, mockRequest(), { onError: () => undefined }))).toBe('(a|)', {
        a: '500 Internal Server Error -',
      });
      expectSubscriptions(handler$.subscriptions).toBe([]);
    });
  });
});
