/**
 * The marble test of `marble-tested-handler.ts`: the handler runs through `inject` (the pipeline
 * `serve` runs, writing to memory) in virtual time, with a marble Observable as its price feed.
 * It follows the checklist every rxjet handler gets: values, never, empty, error, the client going
 * away early, and bad input.
 *
 * Run it with `npx mocha --no-config --node-option import=tsx examples/marble-tested-handler.test.ts`.
 */
import { expect } from 'chai';
import { inject, mockRequest } from 'rxjet/testing';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { quotes } from './marble-tested-handler.js';

/** A scheduler whose assertions are chai's deep equality. */
const scheduler = (): TestScheduler =>
  new TestScheduler((actual, expected) => {
    expect(actual).to.deep.equal(expected);
  });

/** The response as one string, the easiest thing to write in a marble's values. */
const summary = map(({ status, body }: { status: number; body: string }) => `${status} ${body}`);

describe('the quote handler (marble-tested-handler.ts)', () => {
  it('answers /quote with the next price at the frame it arrives, then lets go of the feed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const prices = cold('--a-b', { a: 101.5, b: 102 });
      expectObservable(inject(quotes(prices), mockRequest({ url: '/quote' })).pipe(summary)).toBe('--(x|)', {
        x: '200 101.50\n',
      });
      expectSubscriptions(prices.subscriptions).toBe('^-!');
    });
  });

  it('answers /quote with 504 when no price comes within the wait', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const prices = cold<number>('-');
      expectObservable(inject(quotes(prices, 1000), mockRequest({ url: '/quote' })).pipe(summary)).toBe('1000ms (x|)', {
        x: '504 No quote in time.\n',
      });
      expectSubscriptions(prices.subscriptions).toBe('^ 999ms !');
    });
  });

  it('answers /quote with 503 when the feed ends without a price', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const prices = cold<number>('---|');
      expectObservable(inject(quotes(prices), mockRequest({ url: '/quote' })).pipe(summary)).toBe('---(x|)', {
        x: '503 The feed has ended.\n',
      });
    });
  });

  it('answers /quote with a bare 500 when the feed fails, and reports the failure', () => {
    const reported: Error[] = [];
    scheduler().run(({ cold, expectObservable }) => {
      const prices = cold<number>('--#', undefined, new Error('the feed is down'));
      const req = mockRequest({ url: '/quote' });
      expectObservable(inject(quotes(prices), req, { onError: (error) => reported.push(error) }).pipe(summary)).toBe(
        '--(x|)',
        { x: '500 Internal Server Error' },
      );
    });
    expect(reported.map((error) => [error.name, (error.cause as Error).message])).to.deep.equal([
      ['HandlerError', 'the feed is down'],
    ]);
  });

  it('streams /quotes?n=3 as the prices come, and ends the response with the third', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const prices = cold('-a-b-c-d', { a: 1, b: 2, c: 3, d: 4 });
      expectObservable(inject(quotes(prices), mockRequest({ url: '/quotes?n=3' })).pipe(summary)).toBe('-----(x|)', {
        x: '200 1.00\n2.00\n3.00\n',
      });
      expectSubscriptions(prices.subscriptions).toBe('^----!');
    });
  });

  it('unsubscribes from the feed when the client goes away before the answer', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const prices = cold<number>('-');
      // Unsubscribing from inject at frame 3 is the client disconnecting.
      expectObservable(inject(quotes(prices), mockRequest({ url: '/quotes?n=3' })), '^--!').toBe('---');
      expectSubscriptions(prices.subscriptions).toBe('^--!');
    });
  });

  it('refuses bad input at once, without touching the feed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const prices = cold<number>('-a', { a: 1 });
      expectObservable(inject(quotes(prices), mockRequest({ url: '/quotes?n=0' })).pipe(summary)).toBe('(x|)', {
        x: '400 n must be an integer from 1 to 100.',
      });
      expectObservable(inject(quotes(prices), mockRequest({ method: 'POST', url: '/quote' })).pipe(summary)).toBe(
        '(x|)',
        { x: '405 Method Not Allowed' },
      );
      expectSubscriptions(prices.subscriptions).toBe([]);
    });
  });
});
