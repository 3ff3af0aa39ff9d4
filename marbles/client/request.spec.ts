import { expect } from 'chai';
import { asyncScheduler, catchError, map, mergeMap, type Observable, of, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { type Dispatcher, errors } from 'undici';
import { createClient, get, type ClientResponse } from '../../src/client/index.js';
import { TimeoutError } from '../../src/internal/errors.js';
import { scheduler } from '../helpers.js';

/** What a scripted exchange does, at which virtual millisecond. */
type Step =
  | { at: number; connect: true }
  | { at: number; sent: true }
  | { at: number; headers: number; fields?: Record<string, string> }
  | { at: number; data: string }
  | { at: number; complete: true }
  | { at: number; fail: Error };

/**
 * An undici Dispatcher that plays a script through the handler it is given, in virtual time, and
 * records when it was aborted and why: the transport a client is given with `dispatcher`.
 */
class ScriptedDispatcher {
  readonly aborts: { at: number; reason: unknown }[] = [];
  readonly sent: Dispatcher.DispatchOptions[] = [];

  constructor(
    private readonly testScheduler: TestScheduler,
    private readonly script: readonly Step[],
  ) {}

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.sent.push(options);
    const legacy = handler as unknown as {
      onConnect(abort: (reason: Error) => void): void;
      onRequestSent(): void;
      onHeaders(status: number, raw: Buffer[], resume: () => void, text: string): boolean;
      onData(chunk: Buffer): boolean;
      onComplete(trailers: Buffer[]): void;
      onError(error: Error): void;
    };
    let over = false;
    const steps: Subscription[] = [];
    const end = (): void => {
      over = true;
      for (const step of steps) step.unsubscribe();
    };
    const abort = (reason: Error): void => {
      if (over) return;
      end();
      this.aborts.push({ at: this.testScheduler.now(), reason });
      legacy.onError(reason);
    };
    for (const step of this.script) {
      steps.push(
        asyncScheduler.schedule(() => {
          if (over) return;
          if ('connect' in step) legacy.onConnect(abort);
          else if ('sent' in step) legacy.onRequestSent();
          else if ('headers' in step) {
            const raw = Object.entries(step.fields ?? {}).flatMap(([name, value]) => [
              Buffer.from(name),
              Buffer.from(value),
            ]);
            legacy.onHeaders(step.headers, raw, () => undefined, '');
          } else if ('data' in step) legacy.onData(Buffer.from(step.data));
          else if ('complete' in step) {
            end();
            legacy.onComplete([]);
          } else {
            end();
            legacy.onError(step.fail);
          }
        }, step.at),
      );
    }
    return true;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): Promise<void> {
    return Promise.resolve();
  }
}

const url = 'http://origin.test/resource';
const ok = (at: number, fields?: Record<string, string>): Step[] => [
  { at: 0, connect: true },
  { at, headers: 200, fields },
];

function clientFor(testScheduler: TestScheduler, script: readonly Step[], connect?: number) {
  const dispatcher = new ScriptedDispatcher(testScheduler, script);
  const client = createClient({
    dispatcher: dispatcher as unknown as Dispatcher,
    cookies: false,
    decompress: false,
    ...(connect === undefined ? {} : { timeout: { connect } }),
  });
  return { dispatcher, client };
}

/** The error's class name and the phase of a timeout, for compact marble values. */
function described(error: unknown): string {
  if (error instanceof TimeoutError) return `TimeoutError ${error.phase}`;
  return (error as Error).constructor.name;
}

/** Statuses as values, and an error as one last value describing it (checking it names the request). */
function outcome(response$: Observable<ClientResponse<unknown>>): Observable<number | string> {
  return response$.pipe(
    map((r) => r.status),
    catchError((error: unknown) => {
      expect(error).to.include({ method: 'GET', url });
      return of(described(error));
    }),
  );
}

/** A body's chunks as text, and its error as one last value. */
function chunksOf(response$: Observable<ClientResponse>): Observable<string> {
  return response$.pipe(
    mergeMap((r) => r.body),
    map((chunk) => Buffer.from(chunk).toString()),
    catchError((error: unknown) => of(described(error))),
  );
}

describe('client requests in virtual time (a scripted dispatcher)', () => {
  it('sends nothing before subscribe, and emits the response when its headers arrive', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(testScheduler, [...ok(30), { at: 40, complete: true }]);
      const response$ = get(client, url);
      expect(dispatcher.sent).to.have.length(0);
      expectObservable(outcome(response$)).toBe('30ms (a|)', { a: 200 });
      flush();
      expect(dispatcher.sent).to.have.length(1);
      expect(dispatcher.sent[0]).to.include({ origin: 'http://origin.test', path: '/resource', method: 'GET' });
    });
  });

  it("maps undici's failures to typed errors carrying the cause: timeouts by phase, network, abort", () => {
    const cases: [Error, string][] = [
      [new errors.ConnectTimeoutError(), 'TimeoutError connect'],
      [new errors.HeadersTimeoutError(), 'TimeoutError headers'],
      [new errors.SocketError('other side closed'), 'NetworkError'],
      [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'NetworkError'],
      [new errors.RequestAbortedError(), 'AbortError'],
    ];
    for (const [failure, expected] of cases) {
      const testScheduler = scheduler();
      testScheduler.run(({ expectObservable }) => {
        const { client } = clientFor(testScheduler, [
          { at: 0, connect: true },
          { at: 25, fail: failure },
        ]);
        const seen = get(client, url).pipe(
          map((r) => r.status as unknown),
          catchError((error: unknown) => {
            expect(error).to.include({ method: 'GET', url });
            expect((error as { cause?: unknown }).cause).to.equal(failure);
            return of(described(error));
          }),
        );
        expectObservable(seen).toBe('25ms (a|)', { a: expected });
      });
    }
  });

  it('errors the body, not the response, with a body timeout mid-stream', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const { client } = clientFor(testScheduler, [
        ...ok(10),
        { at: 20, data: 'a' },
        { at: 30, data: 'b' },
        { at: 60, fail: new errors.BodyTimeoutError() },
      ]);
      expectObservable(chunksOf(get(client, url))).toBe('20ms a 9ms b 29ms (t|)', {
        a: 'a',
        b: 'b',
        t: 'TimeoutError body',
      });
    });
  });

  it('aborts the exchange when unsubscribed before the response, and not after it', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(testScheduler, [...ok(50), { at: 60, complete: true }]);
      expectObservable(outcome(get(client, url)), '^ 20ms !').toBe('');
      flush();
      expect(dispatcher.aborts.map((a) => a.at)).to.deep.equal([21]);
    });
    const after = scheduler();
    after.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(after, [...ok(10), { at: 20, data: 'x' }, { at: 30, complete: true }]);
      expectObservable(chunksOf(get(client, url))).toBe('20ms x 9ms |', { x: 'x' });
      flush();
      expect(dispatcher.aborts).to.deep.equal([]);
    });
  });

  it('aborts the exchange when the body is unsubscribed mid-stream', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(testScheduler, [
        ...ok(10),
        { at: 20, data: 'a' },
        { at: 40, data: 'b' },
        { at: 50, complete: true },
      ]);
      expectObservable(chunksOf(get(client, url)), '^ 29ms !').toBe('20ms a', { a: 'a' });
      flush();
      expect(dispatcher.aborts.map((a) => a.at)).to.deep.equal([30]);
    });
  });

  it('times the whole exchange with a total timeout, body included, and aborts it', () => {
    const before = scheduler();
    before.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(before, [...ok(80), { at: 90, complete: true }]);
      expectObservable(outcome(get(client, url, { timeout: 50 }))).toBe('50ms (t|)', { t: 'TimeoutError total' });
      flush();
      expect(dispatcher.aborts.map((a) => [a.at, described(a.reason)])).to.deep.equal([[50, 'TimeoutError total']]);
    });
    const during = scheduler();
    during.run(({ expectObservable }) => {
      const { client } = clientFor(during, [...ok(10), { at: 20, data: 'a' }, { at: 90, complete: true }]);
      expectObservable(chunksOf(get(client, url, { timeout: 50 }))).toBe('20ms a 29ms (t|)', {
        a: 'a',
        t: 'TimeoutError total',
      });
    });
  });

  it('times the wait for a connection with a connect timeout', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      // the dispatcher never hands over a connection
      const { dispatcher, client } = clientFor(testScheduler, [], 30);
      expectObservable(outcome(get(client, url))).toBe('30ms (t|)', { t: 'TimeoutError connect' });
      flush();
      expect(dispatcher.aborts).to.deep.equal([]); // never connected: nothing to abort yet
    });
    const connected = scheduler();
    connected.run(({ expectObservable }) => {
      const { client } = clientFor(
        connected,
        [
          { at: 20, connect: true },
          { at: 60, headers: 204 },
        ],
        30,
      );
      expectObservable(outcome(get(client, url))).toBe('60ms (a|)', { a: 204 });
    });
  });

  it('fails with an AbortError when the signal aborts', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, cold, flush }) => {
      const { dispatcher, client } = clientFor(testScheduler, [...ok(40), { at: 50, complete: true }]);
      const controller = new AbortController();
      cold('15ms a').subscribe(() => controller.abort());
      expectObservable(outcome(get(client, url, { signal: controller.signal }))).toBe('15ms (e|)', {
        e: 'AbortError',
      });
      flush();
      expect(dispatcher.aborts.map((a) => a.at)).to.deep.equal([15]);
    });
  });

  it('bounds the time from the request to its final head with timeout.headers, whatever 1xx answers arrive', () => {
    const interim = (from: number, to: number): Step[] =>
      Array.from({ length: (to - from) / 10 + 1 }, (_, i) => ({ at: from + i * 10, headers: 102 }));
    const sent = scheduler();
    sent.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(sent, [
        { at: 0, connect: true },
        { at: 5, sent: true },
        ...interim(10, 200),
        { at: 210, headers: 200 },
      ]);
      expectObservable(outcome(get(client, url, { timeout: { headers: 30 } }))).toBe('35ms (t|)', {
        t: 'TimeoutError headers',
      });
      flush();
      expect(dispatcher.aborts.map((a) => [a.at, described(a.reason)])).to.deep.equal([[35, 'TimeoutError headers']]);
    });
    // A dispatcher that does not say when the request was written: counted from the first 1xx.
    const unsent = scheduler();
    unsent.run(({ expectObservable }) => {
      const { client } = clientFor(unsent, [{ at: 0, connect: true }, ...interim(10, 200)]);
      expectObservable(outcome(get(client, url, { timeout: { headers: 30 } }))).toBe('40ms (t|)', {
        t: 'TimeoutError headers',
      });
    });
    const answered = scheduler();
    answered.run(({ expectObservable }) => {
      const { client } = clientFor(answered, [
        { at: 0, connect: true },
        { at: 5, sent: true },
        ...interim(10, 20),
        { at: 30, headers: 200 },
        { at: 100, complete: true },
      ]);
      expectObservable(outcome(get(client, url, { timeout: { headers: 30 } }))).toBe('30ms (a|)', { a: 200 });
    });
  });

  /** A response whose body trickles a byte a second for two minutes. */
  const trickle = (): Step[] => [
    ...ok(10),
    ...Array.from({ length: 120 }, (_, i): Step => ({ at: 20 + i * 1000, data: 'x' })),
  ];

  it('gives a body read whole a total deadline of 60 s by default, and leaves a streamed one to its reader', () => {
    const whole = scheduler();
    whole.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(whole, trickle());
      expectObservable(outcome(get(client, url, { as: 'text' }))).toBe('60000ms (t|)', { t: 'TimeoutError total' });
      flush();
      expect(dispatcher.aborts.map((a) => [a.at, described(a.reason)])).to.deep.equal([[60_000, 'TimeoutError total']]);
    });
    const streamed = scheduler();
    streamed.run(({ expectObservable, flush }) => {
      const { dispatcher, client } = clientFor(streamed, trickle());
      expectObservable(chunksOf(get(client, url)), '^ 90000ms !').toBe(`20ms x${' 999ms x'.repeat(89)}`, {
        x: 'x',
      });
      flush();
      expect(dispatcher.aborts.map((a) => a.at)).to.deep.equal([90_001]);
    });
  });

  it('replaces the default deadline of a body read whole with a total given, 0 (off) included', () => {
    for (const [timeout, expected] of [
      [{ total: 0 }, ''],
      [2000, '2000ms (t|)'],
      [{ total: 70_000 }, '70000ms (t|)'],
    ] as const) {
      const testScheduler = scheduler();
      testScheduler.run(({ expectObservable }) => {
        const { client } = clientFor(testScheduler, trickle());
        expectObservable(outcome(get(client, url, { as: 'text', timeout })), '^ 100000ms !').toBe(expected, {
          t: 'TimeoutError total',
        });
      });
    }
    const fromClient = scheduler();
    fromClient.run(({ expectObservable }) => {
      const client = createClient({
        dispatcher: new ScriptedDispatcher(fromClient, trickle()) as unknown as Dispatcher,
        cookies: false,
        timeout: { total: 0 },
      });
      expectObservable(outcome(get(client, url, { as: 'bytes' })), '^ 100000ms !').toBe('');
    });
  });

  it('reads the body whole with as: "json" and emits once, at its end', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const { client } = clientFor(testScheduler, [
        ...ok(10, { 'content-type': 'application/json' }),
        { at: 20, data: '{"a":' },
        { at: 30, data: '1}' },
        { at: 40, complete: true },
      ]);
      const body$ = get(client, url, { as: 'json' }).pipe(map((r) => r.body));
      expectObservable(body$).toBe('40ms (a|)', { a: { a: 1 } });
    });
  });
});
