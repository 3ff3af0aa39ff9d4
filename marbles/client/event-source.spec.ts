import { expect } from 'chai';
import { asyncScheduler, catchError, map, type Observable, of, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { type Dispatcher, errors } from 'undici';
import { createClient, eventSource, type EventSourceOptions, type ServerSentEvent } from '../../src/client/index.js';
import { EventSourceResponseError, InvalidOptionError } from '../../src/internal/errors.js';
import { scheduler } from '../helpers.js';

/** What one scripted exchange does, at which virtual millisecond after it was sent. */
type Step =
  | { at: number; status: number; type?: string }
  | { at: number; data: string }
  | { at: number; complete: true }
  | { at: number; fail: Error };

/**
 * An undici Dispatcher that answers the n-th request it is given with the n-th script, in virtual
 * time, and records when each request was sent (with its headers) and when one was aborted.
 */
class ScriptedServer {
  readonly sent: { at: number; headers: Record<string, string> }[] = [];
  readonly aborts: number[] = [];

  constructor(
    private readonly testScheduler: TestScheduler,
    private readonly scripts: readonly (readonly Step[])[],
  ) {}

  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const script = this.scripts[this.sent.length] ?? [];
    this.sent.push({ at: this.testScheduler.now(), headers: options.headers as Record<string, string> });
    const legacy = handler as unknown as {
      onConnect(abort: (reason: Error) => void): void;
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
    legacy.onConnect((reason) => {
      if (over) return;
      end();
      this.aborts.push(this.testScheduler.now());
      legacy.onError(reason);
    });
    for (const step of script) {
      steps.push(
        asyncScheduler.schedule(() => {
          if (over) return;
          if ('status' in step) {
            const type = step.type ?? 'text/event-stream';
            legacy.onHeaders(step.status, [Buffer.from('content-type'), Buffer.from(type)], () => undefined, '');
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

const url = 'http://origin.test/events';

function setUp(testScheduler: TestScheduler, scripts: readonly (readonly Step[])[]) {
  const server = new ScriptedServer(testScheduler, scripts);
  const client = createClient({ dispatcher: server as unknown as Dispatcher, cookies: false, decompress: false });
  return { server, client };
}

/** Events as `id:data` strings, and an error as one last value: its class name. */
function compact(events$: Observable<ServerSentEvent>): Observable<string> {
  return events$.pipe(
    map((e) => (e.event === 'message' ? `${e.id}:${e.data}` : `${e.id}:${e.event}:${e.data}`)),
    catchError((error: Error) => of(error.constructor.name)),
  );
}

const opened = (at = 10): Step => ({ at, status: 200 });
const reset = (at: number): Step => ({ at, fail: new errors.SocketError('other side closed') });

describe('eventSource in virtual time (a scripted server)', () => {
  it('sends nothing before subscribe, then GETs with accept: text/event-stream and emits the events', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'data: a\n\n' }, { at: 30, data: 'event: b\ndata: 2\n\n' }],
      ]);
      const events$ = eventSource(client, url, { headers: { 'x-token': 't' } });
      expect(server.sent).to.deep.equal([]);
      expectObservable(compact(events$), '^ 50ms !').toBe('20ms a 9ms b', { a: ':a', b: ':b:2' });
      flush();
      expect(server.sent).to.have.length(1);
      expect(server.sent[0]!.headers).to.include({
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        'x-token': 't',
      });
      expect(server.sent[0]!.headers).not.to.have.property('last-event-id');
    });
  });

  it('reconnects after the retry delay when the stream ends, sending the last event id', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'id: 1\ndata: a\n\nid: 2\n\n' }, { at: 30, complete: true }],
        [opened(), { at: 20, data: 'data: b\n\n' }],
      ]);
      expectObservable(compact(eventSource(client, url, { retry: 100 })), '^ 200ms !').toBe('20ms a 129ms b', {
        a: '1:a',
        b: '2:b',
      });
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 130]);
      expect(server.sent[1]!.headers).to.include({ 'last-event-id': '2' });
    });
  });

  it('waits as long as the last retry field says before reconnecting', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'retry: 40\n\n' }, { at: 30, complete: true }],
        [opened(), { at: 20, complete: true }],
        [opened(), { at: 20, data: 'retry: 5\n' }, { at: 30, complete: true }],
        [opened()],
      ]);
      eventSource(client, url, { retry: 1000 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 70, 130, 165]);
    });
  });

  it('reconnects after a network failure or a timeout, before or after the response', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [
        [reset(5)],
        [{ at: 5, fail: new errors.HeadersTimeoutError() }],
        [opened(), { at: 20, data: 'id: 7\ndata: a\n\n' }, reset(30)],
        [opened(), { at: 20, data: 'data: b\n\n' }],
      ]);
      expectObservable(compact(eventSource(client, url, { retry: 50 })), '^ 300ms !').toBe('130ms a 79ms b', {
        a: '7:a',
        b: '7:b',
      });
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 55, 110, 190]);
      expect(server.sent[3]!.headers).to.include({ 'last-event-id': '7' });
    });
  });

  it('gives up after maxReconnects reconnections in a row that do not open, with the last error', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [[reset(5)], [reset(5)], [reset(5)], [reset(5)]]);
      expectObservable(compact(eventSource(client, url, { retry: 10, maxReconnects: 2 }))).toBe('35ms (e|)', {
        e: 'NetworkError',
      });
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 15, 30]);
    });
  });

  it('counts the reconnections in a row again from each stream that opens', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [
        [reset(5)],
        [opened(), { at: 20, data: 'data: a\n\n' }, { at: 30, complete: true }],
        [reset(5)],
      ]);
      expectObservable(compact(eventSource(client, url, { retry: 10, maxReconnects: 1 }))).toBe('35ms a 24ms (e|)', {
        a: ':a',
        e: 'NetworkError',
      });
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 15, 55]);
    });
  });

  it('completes when the stream ends and maxReconnects is 0', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const { client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'data: a\n\ndata: half' }, { at: 30, complete: true }],
      ]);
      expectObservable(compact(eventSource(client, url, { maxReconnects: 0 }))).toBe('20ms a 9ms |', { a: ':a' });
    });
  });

  it('completes on a 204, without reconnecting', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'data: a\n\n' }, { at: 30, complete: true }],
        [
          { at: 10, status: 204 },
          { at: 11, complete: true },
        ],
      ]);
      expectObservable(compact(eventSource(client, url, { retry: 10 }))).toBe('20ms a 29ms |', { a: ':a' });
      flush();
      expect(server.sent).to.have.length(2);
    });
  });

  it('errors with EventSourceResponseError on another status or content type, without reconnecting', () => {
    for (const [status, type] of [
      [500, 'text/event-stream'],
      [404, 'text/html'],
      [200, 'text/plain'],
      [200, 'text/event-streams'],
    ] as const) {
      const testScheduler = scheduler();
      testScheduler.run(({ expectObservable, flush }) => {
        const { server, client } = setUp(testScheduler, [
          [
            { at: 10, status, type },
            { at: 11, complete: true },
          ],
        ]);
        const seen = eventSource(client, url, { retry: 10 }).pipe(
          map(() => 'event'),
          catchError((error: unknown) => {
            expect(error).to.be.instanceOf(EventSourceResponseError);
            expect(error).to.include({ code: 'RXJET_ERR_SSE_RESPONSE', method: 'GET', url, status, contentType: type });
            return of('failed');
          }),
        );
        expectObservable(seen).toBe('10ms (f|)', { f: 'failed' });
        flush();
        expect(server.sent).to.have.length(1);
      });
    }
  });

  it('accepts text/event-stream with parameters and in any case', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable }) => {
      const { client } = setUp(testScheduler, [
        [
          { at: 10, status: 200, type: 'Text/Event-Stream ; charset=utf-8' },
          { at: 20, data: 'data: a\n\n' },
        ],
      ]);
      expectObservable(compact(eventSource(client, url)), '^ 30ms !').toBe('20ms a', { a: ':a' });
    });
  });

  it('aborts the stream when unsubscribed, and sends nothing more when unsubscribed while waiting', () => {
    const open = scheduler();
    open.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(open, [[opened(), { at: 20, data: 'data: a\n\n' }]]);
      expectObservable(compact(eventSource(client, url)), '^ 40ms !').toBe('20ms a', { a: ':a' });
      flush();
      expect(server.aborts).to.deep.equal([41]);
    });
    const waiting = scheduler();
    waiting.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(waiting, [[opened(), { at: 20, complete: true }], [opened()]]);
      expectObservable(compact(eventSource(client, url, { retry: 100 })), '^ 60ms !').toBe('');
      flush();
      expect(server.sent).to.have.length(1);
    });
  });

  it('sends lastEventId on the first request and carries it on events until the server sets another', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(testScheduler, [[opened(), { at: 20, data: 'data: a\n\nid: 43\ndata: b\n\n' }]]);
      expectObservable(compact(eventSource(client, url, { lastEventId: '42' })), '^ 30ms !').toBe('20ms (ab)', {
        a: '42:a',
        b: '43:b',
      });
      flush();
      expect(server.sent[0]!.headers).to.include({ 'last-event-id': '42' });
    });
  });

  it('sends Last-Event-ID in UTF-8, as browsers do, and leaves it out for an id no header can carry', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'id: é🚀\ndata: a\n\n' }, { at: 30, complete: true }],
        [opened(), { at: 20, data: 'id: bell\u0007\ndata: b\n\n' }, { at: 30, complete: true }],
        [opened()],
      ]);
      eventSource(client, url, { retry: 10 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.headers['last-event-id'])).to.deep.equal([
        undefined,
        Buffer.from('é🚀', 'utf8').toString('latin1'),
        undefined,
      ]);
    });
  });

  it('runs each subscription on its own, with its own requests and last event id', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const { server, client } = setUp(testScheduler, [
        [opened(), { at: 20, data: 'id: 1\nretry: 5\ndata: a\n\n' }, { at: 30, complete: true }],
        [opened()],
        [opened()],
      ]);
      const events$ = eventSource(client, url, { retry: 100 });
      events$.subscribe();
      flush();
      events$.subscribe();
      flush();
      expect(server.sent.map((s) => s.headers['last-event-id'])).to.deep.equal([undefined, '1', undefined]);
      expect(server.sent[1]!.at).to.equal(35);
    });
  });

  /** A stream that sets `retry: 0` and ends at once, without an event. */
  const empty = (): Step[] => [opened(), { at: 11, data: 'retry: 0\n: nothing\n\n' }, { at: 12, complete: true }];

  it('backs off exponentially from 1 s after three reconnections without an event', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const { server, client } = setUp(testScheduler, [...Array.from({ length: 9 }, empty), [opened()]]);
      eventSource(client, url).subscribe();
      flush();
      // three at the server's pace (retry: 0), then waits of 1, 2, 4, 8, 16 and 32 s
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 12, 24, 36, 1048, 3060, 7072, 15084, 31096, 63108]);
    });
  });

  it('caps the backoff at maxBackoff, keeps a longer retry delay, and starts again at each event', () => {
    const capped = scheduler();
    capped.run(({ flush }) => {
      const { server, client } = setUp(capped, [...Array.from({ length: 7 }, empty), [opened()]]);
      eventSource(client, url, { maxBackoff: 3000 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 12, 24, 36, 1048, 3060, 6072, 9084]);
    });
    const longer = scheduler();
    longer.run(({ flush }) => {
      const slow = (): Step[] => [opened(), { at: 12, complete: true }];
      const { server, client } = setUp(longer, [...Array.from({ length: 5 }, slow), [opened()]]);
      eventSource(client, url, { retry: 1500 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 1512, 3024, 4536, 6048, 8060]);
    });
    const reset = scheduler();
    reset.run(({ flush }) => {
      const { server, client } = setUp(reset, [
        ...Array.from({ length: 5 }, empty),
        [opened(), { at: 20, data: 'data: at last\n\n' }, { at: 30, complete: true }],
        ...Array.from({ length: 4 }, empty),
        [opened()],
      ]);
      eventSource(client, url).subscribe();
      flush();
      const at = server.sent.map((s) => s.at);
      expect(at.slice(0, 7)).to.deep.equal([0, 12, 24, 36, 1048, 3060, 3090]);
      // the event resets the count: three reconnections at the server's pace again, then 1 s, 2 s
      expect(at.slice(6).map((t, i, all) => (i === 0 ? 0 : t - all[i - 1]!))).to.deep.equal([0, 12, 12, 1012, 2012]);
    });
  });

  it('reconnects at the retry delay with maxBackoff: 0, as the HTML standard alone asks', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const { server, client } = setUp(testScheduler, [...Array.from({ length: 6 }, empty), [opened()]]);
      eventSource(client, url, { maxBackoff: 0 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 12, 24, 36, 48, 60, 72]);
    });
  });

  it('backs off after network failures too, and counts streams without an event toward maxReconnects', () => {
    const failing = scheduler();
    failing.run(({ flush }) => {
      const { server, client } = setUp(failing, [...Array.from({ length: 6 }, () => [reset(5)]), [opened()]]);
      eventSource(client, url, { retry: 10 }).subscribe();
      flush();
      expect(server.sent.map((s) => s.at)).to.deep.equal([0, 15, 30, 45, 1050, 3055, 7060]);
    });
    const giving = scheduler();
    giving.run(({ expectObservable, flush }) => {
      const { server, client } = setUp(giving, [...Array.from({ length: 3 }, empty), [opened()]]);
      expectObservable(compact(eventSource(client, url, { maxReconnects: 2 }))).toBe('36ms |');
      flush();
      expect(server.sent).to.have.length(3);
    });
  });

  it('throws an InvalidOptionError naming the option at call time', () => {
    const client = createClient({ dispatcher: new ScriptedServer(scheduler(), []) as unknown as Dispatcher });
    const cases: [() => unknown, string][] = [
      [() => eventSource(client, url, { retry: -1 }), 'retry'],
      [() => eventSource(client, url, { maxReconnects: -1 }), 'maxReconnects'],
      [() => eventSource(client, url, { maxBackoff: -1 }), 'maxBackoff'],
      [() => eventSource(client, url, { maxBackoff: 1.5 }), 'maxBackoff'],
      [() => eventSource(client, url, { lastEventId: 'a\nb' }), 'lastEventId'],
      [() => eventSource(client, url, { maxEventSize: 0 }), 'maxEventSize'],
      [() => eventSource(client, url, { scheduler: {} as EventSourceOptions['scheduler'] }), 'scheduler'],
      [() => eventSource(client, url, { as: 'text' } as EventSourceOptions), 'as'],
      [() => eventSource(client, 'ftp://x/'), 'url'],
      [() => eventSource(client, url, { headers: { 'x-bad': 'a\nb' } }), 'headers.x-bad'],
      [() => eventSource(undefined as unknown as typeof client, url), 'client'],
    ];
    for (const [call, option] of cases) {
      expect(call, option).to.throw(InvalidOptionError).with.property('option', option);
    }
  });
});
