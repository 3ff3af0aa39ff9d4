import { expect } from 'chai';
import { catchError, map, of, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { requestLog, type RequestLogEntry } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import type { JetResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

/** What was logged, at which frame, at which level: `'info@3 200 2'`, `'error@3 200 1'`. */
function logged(clock: TestScheduler) {
  const lines: string[] = [];
  const line = (level: string, entry: RequestLogEntry) =>
    lines.push(`${level}@${clock.now()} ${entry.status} ${entry.bytes}${entry.aborted === true ? ' aborted' : ''}`);
  return {
    lines,
    logger: {
      info: (entry: RequestLogEntry) => line('info', entry),
      error: (entry: RequestLogEntry) => line('error', entry),
    },
  };
}

function app(log: ReturnType<typeof logged>, handler: () => Observable<JetResponse>, ...more: Middleware[]) {
  return router()
    .use(requestLog({ logger: log.logger }), ...more)
    .get('/', handler);
}

const quiet = { onError: () => undefined };

describe('requestLog in virtual time', () => {
  it('values: a whole body is logged when it is answered', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('---a', { a: { body: 'hi' } });
      expectObservable(
        summary(
          inject(
            app(log, () => handler$),
            mockRequest(),
          ),
        ),
      ).toBe('---(a|)', { a: '200 hi' });
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
    expect(log.lines).to.deep.equal(['info@3 200 2']);
  });

  it('values: a streaming body is logged when it completes, with its bytes', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-b--c|', { a: 'é', b: 'xy', c: '🚀' });
      expectObservable(
        summary(
          inject(
            app(log, () => cold('r', { r: { body: body$ } })),
            mockRequest(),
          ),
        ),
      ).toBe('-------(a|)', { a: '200 éxy🚀' });
      expectSubscriptions(body$.subscriptions).toBe('^------!');
    });
    expect(log.lines).to.deep.equal(['info@7 200 8']);
  });

  it('empty: a handler that answers nothing is logged as the 404 it becomes', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable }) => {
      expectObservable(
        summary(
          inject(
            app(log, () => cold('--|')),
            mockRequest(),
          ),
        ),
      ).toBe('--(a|)', {
        a: '404 Not Found',
      });
    });
    expect(log.lines).to.deep.equal(['info@2 404 9']);
  });

  it('error: an error below is logged with the status the server answers, and passed on as an error', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable }) => {
      const failing$ = cold<JetResponse>('--#', undefined, new Error('secret'));
      expectObservable(
        summary(
          inject(
            app(log, () => failing$),
            mockRequest(),
            quiet,
          ),
        ),
      ).toBe('--(a|)', {
        a: '500 Internal Server Error',
      });
    });
    expect(log.lines).to.deep.equal(['info@2 500 21']);
  });

  it('error: a body failing mid-stream is logged once, with logger.error, when it fails', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-#', { a: 'x' }, new Error('upstream'));
      const response$ = inject(
        app(log, () => cold('r', { r: { body: body$ } })),
        mockRequest(),
        quiet,
      );
      const ending$ = response$.pipe(
        map(() => 'completed'),
        catchError((error: { code: string }) => of(error.code)),
      );
      expectObservable(ending$).toBe('---(e|)', { e: 'RXJET_ERR_RESPONSE_STREAM' });
      expectSubscriptions(body$.subscriptions).toBe('^--!');
    });
    expect(log.lines).to.deep.equal(['error@3 200 1']);
  });

  it('never-ending with early unsubscribe: the client leaving before any answer is logged aborted, 499', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      expectObservable(
        summary(
          inject(
            app(log, () => handler$),
            mockRequest(),
          ),
        ),
        '^--!',
      ).toBe('---');
      expectSubscriptions(handler$.subscriptions).toBe('^--!');
    });
    expect(log.lines).to.deep.equal(['info@3 499 0 aborted']);
  });

  it('never-ending body with early unsubscribe: logged aborted with the bytes so far, and the body unsubscribed', () => {
    const clock = scheduler();
    const log = logged(clock);
    clock.run(({ cold, expectObservable, expectSubscriptions }) => {
      const body$ = cold('-a-a-a-a-a-a', { a: 'ab' });
      const response$ = inject(
        app(log, () => cold('r', { r: { body: body$ } })),
        mockRequest(),
      );
      expectObservable(summary(response$), '^----!').toBe('-');
      expectSubscriptions(body$.subscriptions).toBe('^----!');
    });
    expect(log.lines).to.deep.equal(['info@5 200 4 aborted']);
  });

  it('order: the entry is for what requestLog passes on, after the middleware inside it', () => {
    const clock = scheduler();
    const log = logged(clock);
    const teapot: Middleware = (req, next) => next().pipe(map((res) => ({ ...res, status: 418 })));
    clock.run(({ cold, expectObservable }) => {
      expectObservable(
        summary(
          inject(
            app(log, () => cold('-a', { a: { body: 'x' } }), teapot),
            mockRequest(),
          ),
        ),
      ).toBe('-(a|)', { a: '418 x' });
    });
    expect(log.lines).to.deep.equal(['info@1 418 1']);
  });

  it('throwing user code: a logger that throws changes nothing for the response, and is told of on stderr', () => {
    const clock = scheduler();
    const printed: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(args);
    try {
      clock.run(({ cold, expectObservable }) => {
        const throwing = router()
          .use(
            requestLog({
              logger: {
                info: () => {
                  throw new Error('log sink down');
                },
              },
            }),
          )
          .get('/', () => cold('-a', { a: { body: 'x' } }));
        expectObservable(summary(inject(throwing, mockRequest()))).toBe('-(a|)', { a: '200 x' });
      });
    } finally {
      console.error = original;
    }
    expect(printed).to.have.length(1);
    expect(printed[0]![0]).to.equal("rxjet: requestLog's logger threw");
  });
});
