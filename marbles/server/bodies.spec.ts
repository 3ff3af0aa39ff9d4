import { catchError, map, of, type Observable } from 'rxjs';
import { json, text } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

const quiet = { onError: () => undefined };

/** The code of the error a response Observable ends with, as a value. */
function errorCode(response$: Observable<unknown>): Observable<string> {
  return response$.pipe(
    map(() => 'completed'),
    catchError((error: { code: string }) => of(error.code)),
  );
}

describe('response bodies in virtual time', () => {
  it('values: a streaming body is written as it emits and the response ends when it completes', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-b-c|', { a: 'x', b: 'y', c: 'z' });
      expectObservable(summary(inject(() => ({ body: body$ }), mockRequest()))).toBe('------(a|)', { a: '200 xyz' });
      expectSubscriptions(body$.subscriptions).toBe('^-----!');
    });
  });

  it('empty: an empty body ends the response with nothing in it', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(summary(inject(() => ({ body: cold('--|') }), mockRequest()))).toBe('--(a|)', { a: '200 ' });
    });
  });

  it('error: a body that fails after the head breaks the response', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-#', { a: 'part' }, new Error('upstream'));
      expectObservable(errorCode(inject(() => ({ body: body$ }), mockRequest(), quiet))).toBe('---(e|)', {
        e: 'RXJET_ERR_RESPONSE_STREAM',
      });
      expectSubscriptions(body$.subscriptions).toBe('^--!');
    });
  });

  it('never-ending with early unsubscribe: the body is unsubscribed when the client leaves', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-a-a-a-a-a-a-a', { a: 'tick' });
      expectObservable(summary(inject(() => ({ body: body$ }), mockRequest())), '^----!').toBe('-');
      expectSubscriptions(body$.subscriptions).toBe('^----!');
    });
  });

  it('throwing user code: a body operator that throws breaks the response', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body$ = cold('-a-b', { a: 1, b: 2 }).pipe(
        map((n) => {
          if (n === 2) throw new Error('bad chunk');
          return String(n);
        }),
      );
      expectObservable(errorCode(inject(() => ({ body: body$ }), mockRequest(), quiet))).toBe('---(e|)', {
        e: 'RXJET_ERR_RESPONSE_STREAM',
      });
    });
  });

  it('an async answer with a streaming body (Jet 17 in virtual time)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body$ = cold('-0-1-2|');
      const handler = () => cold('-----r', { r: { status: 202, body: body$ } });
      expectObservable(summary(inject(handler, mockRequest()))).toBe('-----------(a|)', { a: '202 012' });
    });
  });

  it('reads a request body that arrives over time', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const upload$ = cold('-a--b--|', { a: '{"n":', b: '41}' });
      const handler = (req: ReturnType<typeof mockRequest>) =>
        json<{ n: number }>(req).pipe(map(({ n }) => ({ body: String(n + 1) })));
      const req = mockRequest({ method: 'POST', headers: { 'content-type': 'application/json' }, body: upload$ });
      expectObservable(summary(inject(handler, req))).toBe('-------(a|)', { a: '200 42' });
    });
  });

  it('answers 413 as soon as an upload passes the limit, and stops reading it', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const upload$ = cold('-a-a-a-a-a|', { a: '12345' });
      const req = mockRequest({ method: 'POST', body: upload$ });
      expectObservable(summary(inject((r) => text(r, { limit: 12 }).pipe(map((t) => ({ body: t }))), req))).toBe(
        '-----(a|)',
        { a: '413 The request body is larger than 12 bytes.' },
      );
      expectSubscriptions(upload$.subscriptions).toBe('^----!');
    });
  });
});
