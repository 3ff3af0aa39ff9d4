import { map, NEVER, type Observable } from 'rxjs';
import { HttpError, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

const quiet = { onError: () => undefined };

describe('handlers in virtual time', () => {
  it('never: nothing is answered, and unsubscribing (the client leaving) ends the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(summary(inject(() => handler$, mockRequest())), '^ 20ms !').toBe('-');
      expectSubscriptions(handler$.subscriptions).toBe('^ 20ms !');
    });
  });

  it('empty: an Observable that completes without a response answers 404', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('--|');
      expectObservable(summary(inject(() => handler$, mockRequest()))).toBe('--(a|)', { a: '404 Not Found' });
      expectSubscriptions(handler$.subscriptions).toBe('^-!');
    });
  });

  it('values: the first emission is the response and the handler is then unsubscribed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('---a--b--|', { a: { status: 202, body: 'first' }, b: { body: 'second' } });
      expectObservable(summary(inject(() => handler$, mockRequest()))).toBe('---(a|)', { a: '202 first' });
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
  });

  it('error: an error before the response answers 500, an HttpError its own status', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      const refused$ = cold<JetResponse>('-#', undefined, new HttpError(403, 'not yours'));
      expectObservable(summary(inject(() => failing$, mockRequest(), quiet))).toBe('--(a|)', {
        a: '500 Internal Server Error',
      });
      expectObservable(summary(inject(() => refused$, mockRequest()))).toBe('-(a|)', { a: '403 not yours' });
    });
  });

  it('never-ending with early unsubscribe: a pending handler is torn down and the signal aborts', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const handler$ = cold<JetResponse>('-----');
      const req = mockRequest();
      expectObservable(summary(inject(() => handler$, req)), '^--!').toBe('---');
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
      flush();
      if (!req.signal.aborted) throw new Error('the signal should have aborted');
    });
  });

  it('throwing user code: a handler that throws, or an operator inside it, answers 500', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const throwing = (): Observable<JetResponse> => {
        throw new Error('sync');
      };
      const mapping = (): Observable<JetResponse> =>
        cold('-a', { a: 1 }).pipe(
          map(() => {
            throw new Error('in map');
          }),
        );
      expectObservable(summary(inject(throwing, mockRequest(), quiet))).toBe('(a|)', {
        a: '500 Internal Server Error',
      });
      expectObservable(summary(inject(mapping, mockRequest(), quiet))).toBe('-(a|)', {
        a: '500 Internal Server Error',
      });
    });
  });

  it('handlerTimeout answers 503 at the deadline and unsubscribes the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(summary(inject(() => handler$, mockRequest(), { ...quiet, handlerTimeout: 10 }))).toBe(
        '10ms (a|)',
        { a: '503 Service Unavailable' },
      );
      expectSubscriptions(handler$.subscriptions).toBe('^ 9ms !');
    });
  });

  it('a handler that never answers is not cut short without handlerTimeout', () => {
    scheduler().run(({ expectObservable }) => {
      expectObservable(summary(inject(() => NEVER, mockRequest())), '^ 1000ms !').toBe('-');
    });
  });
});
