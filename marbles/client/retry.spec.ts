import { expect } from 'chai';
import { EMPTY, map, type Observable } from 'rxjs';
import { AbortError, NetworkError } from '../../src/internal/errors.js';
import { kMethod, resolveRetry, retryAfter, retrying, withRetries } from '../../src/client/retry.js';
import type { ClientResponse } from '../../src/client/types.js';
import { scheduler } from '../helpers.js';

/** A response with no body to speak of. */
function response(status: number, headers: ClientResponse['headers'] = {}): ClientResponse {
  return {
    status,
    url: 'http://x/',
    headers,
    body: Object.assign(EMPTY, {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ done: true, value: undefined }) }),
    }) as ClientResponse['body'],
  };
}

const statuses = (source: Observable<ClientResponse>): Observable<number> => source.pipe(map((r) => r.status));
const noJitter = { initial: 10, jitter: 0 };

describe('client retries in virtual time', () => {
  it('retries a 503 after 10 then 20 ms and gives the success', () => {
    scheduler().run(({ cold, expectObservable }) => {
      let n = 0;
      const attempts = cold('-a|', { a: null }).pipe(map(() => response(++n < 3 ? 503 : 200)));
      const retried = withRetries(attempts, 'GET', resolveRetry({ count: 3, ...noJitter })!);
      expectObservable(statuses(retried)).toBe('- 10ms - 20ms -a|', { a: 200 });
    });
  });

  it('returns the last retryable response when the count runs out', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = cold('-a|', { a: response(503) });
      const retried = withRetries(attempts, 'GET', resolveRetry({ count: 2, ...noJitter })!);
      expectObservable(statuses(retried)).toBe('- 10ms - 20ms -a|', { a: 503 });
      expectSubscriptions(attempts.subscriptions).toBe(['^!', '11ms ^!', '32ms ^-!']);
    });
  });

  it('waits as long as Retry-After asks', () => {
    scheduler().run(({ cold, expectObservable }) => {
      let n = 0;
      const attempts = cold('-a|', { a: null }).pipe(
        map(() => (++n === 1 ? response(429, { 'retry-after': '2' }) : response(200))),
      );
      const retried = withRetries(attempts, 'GET', resolveRetry({ count: 1, ...noJitter })!);
      expectObservable(statuses(retried)).toBe('- 2000ms -a|', { a: 200 });
    });
  });

  it('retries network errors but never an abort', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold<ClientResponse>('-#', undefined, new NetworkError('GET', 'http://x/', new Error('reset')));
      const aborted = cold<ClientResponse>('-#', undefined, new AbortError('GET', 'http://x/'));
      expectObservable(statuses(withRetries(failing, 'GET', resolveRetry({ count: 1, ...noJitter })!))).toBe(
        '- 10ms -#',
        undefined,
        new NetworkError('GET', 'http://x/', new Error('reset')),
      );
      expectSubscriptions(failing.subscriptions).toBe(['^!', '11ms ^!']);
      expectObservable(statuses(withRetries(aborted, 'GET', resolveRetry(3)!))).toBe(
        '-#',
        undefined,
        new AbortError('GET', 'http://x/'),
      );
    });
  });

  it('never sends a POST twice', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = cold('-a|', { a: response(503) });
      expectObservable(statuses(withRetries(attempts, 'POST', resolveRetry(3)!))).toBe('-a|', { a: 503 });
      expectSubscriptions(attempts.subscriptions).toBe('^-!');
    });
  });

  it('works as an operator, taking the method from the request or from its options', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      let n = 0;
      const attempts = cold('-a|', { a: null }).pipe(map(() => response(++n < 2 ? 503 : 200)));
      const asGet = Object.assign(attempts, { [kMethod]: 'GET' });
      expectObservable(statuses(asGet.pipe(retrying({ count: 2, ...noJitter })))).toBe('- 10ms -a|', { a: 200 });
      const posted = cold('-a|', { a: response(503) });
      expectObservable(statuses(posted.pipe(retrying({ count: 2, method: 'post', ...noJitter })))).toBe('-a|', {
        a: 503,
      });
      expectSubscriptions(posted.subscriptions).toBe('^-!');
    });
    expect(() => EMPTY.pipe(retrying(2))).to.throw('Invalid option "method"');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('Tue, 24 Nov 2026 10:00:00 GMT');
    if (retryAfter('3') !== 3000) throw new Error('seconds');
    if (retryAfter('Tue, 24 Nov 2026 10:00:05 GMT', now) !== 5000) throw new Error('date');
    if (retryAfter('soon') !== undefined || retryAfter(undefined) !== undefined) throw new Error('junk');
  });
});
