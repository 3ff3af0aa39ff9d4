import { expect } from 'chai';
import { map, type Observable } from 'rxjs';
import { cors, problemJson } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HttpError, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest, type InjectedResponse } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

/** Status, content type and body of each response. */
function view(response$: Observable<InjectedResponse>): Observable<string> {
  return response$.pipe(map((r) => `${r.status} ${String(r.headers['content-type'])} ${r.body}`));
}

const problem = (status: number, title: string, more: Record<string, unknown> = {}) =>
  `${status} application/problem+json ${JSON.stringify({ type: 'about:blank', title, status, ...more, instance: '/' })}`;

function app(handler: () => Observable<JetResponse>, ...more: Middleware[]) {
  return router()
    .use(problemJson(), ...more)
    .get('/', handler);
}

describe('problemJson in virtual time', () => {
  it('values: an answer that is not an error passes through as it is, when it comes', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('--a', { a: { status: 201, body: 'made' } });
      expectObservable(
        summary(
          inject(
            app(() => handler$),
            mockRequest(),
          ),
        ),
      ).toBe('--(a|)', { a: '201 made' });
      expectSubscriptions(handler$.subscriptions).toBe('^-!');
    });
  });

  it('empty: a handler that answers nothing is a 404 problem', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(
        view(
          inject(
            app(() => cold('---|')),
            mockRequest(),
          ),
        ),
      ).toBe('---(a|)', {
        a: problem(404, 'Not Found'),
      });
    });
  });

  it('error: an HttpError is a problem with its detail; an unknown error one without, reported', () => {
    const reported: Error[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const refused$ = cold<JetResponse>('-#', undefined, new HttpError(409, 'Already there.'));
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const onError = (error: Error) => reported.push(error);
      expectObservable(
        view(
          inject(
            app(() => refused$),
            mockRequest(),
            { onError },
          ),
        ),
      ).toBe('-(a|)', {
        a: problem(409, 'Conflict', { detail: 'Already there.' }),
      });
      expectObservable(
        view(
          inject(
            app(() => failing$),
            mockRequest(),
            { onError },
          ),
        ),
      ).toBe('--(a|)', {
        a: problem(500, 'Internal Server Error'),
      });
    });
    expect(reported).to.have.length(1);
    expect((reported[0]!.cause as Error).message).to.equal('secret');
  });

  it('never-ending with early unsubscribe: the client leaving reaches the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(
        view(
          inject(
            app(() => handler$),
            mockRequest(),
          ),
        ),
        '^--!',
      ).toBe('---');
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
  });

  it('a streaming body of a success passes through untouched', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-b|');
      expectObservable(
        summary(
          inject(
            app(() => cold('r', { r: { body: body$ } })),
            mockRequest(),
          ),
        ),
      ).toBe('----(a|)', { a: '200 ab' });
      expectSubscriptions(body$.subscriptions).toBe('^---!');
    });
  });

  it('order: an error that cors inside answered already is still a problem, with the CORS headers, reported once', () => {
    const reported: Error[] = [];
    const origin = 'https://app.example';
    scheduler().run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const response$ = inject(
        app(() => failing$, cors({ origin })),
        mockRequest({ headers: { origin } }),
        {
          onError: (error) => reported.push(error),
        },
      );
      expectObservable(
        response$.pipe(map((r) => `${r.status} ${String(r.headers['access-control-allow-origin'])} ${r.body}`)),
      ).toBe('--(a|)', {
        a: `500 ${origin} ${JSON.stringify({ type: 'about:blank', title: 'Internal Server Error', status: 500, instance: '/' })}`,
      });
    });
    expect(reported).to.have.length(1);
  });

  it('throwing user code: a handler that throws is a 500 problem', () => {
    scheduler().run(({ expectObservable }) => {
      const throwing = (): Observable<JetResponse> => {
        throw new Error('sync');
      };
      expectObservable(view(inject(app(throwing), mockRequest(), { onError: () => undefined }))).toBe('(a|)', {
        a: problem(500, 'Internal Server Error'),
      });
    });
  });
});
