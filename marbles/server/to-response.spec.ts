import { expect } from 'chai';
import { map, of, throwError } from 'rxjs';
import { HttpError, toResponse, type HandlerResult } from '../../src/server/index.js';
import { scheduler } from '../helpers.js';

const notFound = {
  status: 404,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
  body: 'Not Found',
};

describe('toResponse in virtual time', () => {
  it('values: a response object is emitted as it is, at once, and completes', () => {
    scheduler().run(({ expectObservable }) => {
      expectObservable(toResponse({ status: 201, body: 'made' })).toBe('(a|)', { a: { status: 201, body: 'made' } });
    });
  });

  it('values: the first value of an Observable wins; the source is unsubscribed at that frame', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('--a--b|', { a: { body: 'first' }, b: { body: 'second' } });
      expectObservable(toResponse(source)).toBe('--(a|)', { a: { body: 'first' } });
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('empty: null, undefined and an Observable that completes empty all emit a 404 response', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(toResponse(null)).toBe('(a|)', { a: notFound });
      expectObservable(toResponse(undefined)).toBe('(a|)', { a: notFound });
      expectObservable(toResponse(cold('---|'))).toBe('---(a|)', { a: notFound });
    });
  });

  it('never: nothing is emitted, and unsubscribing unsubscribes the source', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold<never>('-');
      expectObservable(toResponse(source), '^---!').toBe('-');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('error: an error notification, an HttpError included, passes on as an error for catchError', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const taken = new HttpError(409, 'taken');
      expectObservable(toResponse(cold('--#', undefined, taken))).toBe('--#', undefined, taken);
      expectObservable(toResponse(throwError(() => taken))).toBe('#', undefined, taken);
    });
  });

  it('cold: nothing runs until subscribed, and each subscription runs the source again', () => {
    let runs = 0;
    const source = of(null).pipe(
      map(() => {
        runs++;
        return { body: 'again' };
      }),
    );
    const response$ = toResponse(source);
    expect(runs).to.equal(0);
    response$.subscribe();
    response$.subscribe();
    expect(runs).to.equal(2);
  });

  it('throwing user code: a then() or subscribe that throws is an error, not a crash', () => {
    const broken = {
      then() {
        throw new Error('broken then');
      },
    } as unknown as HandlerResult;
    let error: unknown;
    toResponse(broken).subscribe({ error: (e: unknown) => (error = e) });
    expect(String(error)).to.include('broken then');
  });

  it('adopts a Promise: its value as a response (null: 404), its rejection as an error', async () => {
    const seen: unknown[] = [];
    await new Promise<void>((resolve) =>
      toResponse(Promise.resolve({ body: 'later' })).subscribe({ next: (r) => seen.push(r), complete: resolve }),
    );
    await new Promise<void>((resolve) =>
      toResponse(Promise.resolve(null)).subscribe({ next: (r) => seen.push(r), complete: resolve }),
    );
    const rejected = await new Promise<unknown>((resolve) =>
      toResponse(Promise.reject(new HttpError(401))).subscribe({ error: resolve }),
    );
    expect(seen).to.deep.equal([{ body: 'later' }, notFound]);
    expect(rejected).to.be.instanceOf(HttpError);
  });

  it('errors with InvalidResponseError for something that is not a response', () => {
    let error: unknown;
    toResponse(42 as unknown as HandlerResult).subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.include({ code: 'RXJET_ERR_INVALID_RESPONSE' });
  });
});
