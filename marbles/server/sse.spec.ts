import { expect } from 'chai';
import { catchError, map, NEVER, type Observable, of } from 'rxjs';
import { InvalidEventError, InvalidOptionError, ResponseStreamError } from '../../src/internal/errors.js';
import { lastEventId, sse, type SseEvent, type SseOptions } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler } from '../helpers.js';

/** The body of `sse(events$, options)`, the Observable the server writes. */
function bodyOf(events$: Observable<SseEvent>, options?: SseOptions): Observable<string> {
  return sse(events$, options).body as Observable<string>;
}

/** A body's chunks, and its error as one last value: the error's class and message. */
function described(body$: Observable<string>): Observable<string> {
  return body$.pipe(catchError((error: Error) => of(`${error.constructor.name}: ${error.message}`)));
}

const beat = ':\n\n';

describe('sse in virtual time', () => {
  describe('the response', () => {
    it('is a 200 text/event-stream that is not cached or buffered, with no connection header', () => {
      const res = sse(NEVER);
      expect(res.status).to.equal(200);
      expect(res.headers).to.deep.equal({
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
      });
    });

    it('adds the headers given, which replace a default whatever their case', () => {
      const res = sse(NEVER, { headers: { 'Cache-Control': 'no-store', 'access-control-allow-origin': '*' } });
      expect(res.headers).to.deep.equal({
        'content-type': 'text/event-stream; charset=utf-8',
        'x-accel-buffering': 'no',
        'Cache-Control': 'no-store',
        'access-control-allow-origin': '*',
      });
    });

    it('runs through the whole response pipeline: the events are the body', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('-a-b|', { a: 'one', b: { event: 'two', data: 2 } });
        const seen = inject(() => sse(events$), mockRequest()).pipe(
          map((r) => `${r.status} ${String(r.headers['content-type'])} ${JSON.stringify(r.body)}`),
        );
        expectObservable(seen).toBe('----(r|)', {
          r: '200 text/event-stream; charset=utf-8 "data: one\\n\\nevent: two\\ndata: 2\\n\\n"',
        });
      });
    });

    it('breaks the response with an InvalidEventError as the cause when an event cannot be written', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const events$ = cold('-a-b-c', { a: 'fine', b: { id: 'x\ny', data: 'bad' }, c: 'never sent' });
        const seen = inject(() => sse(events$), mockRequest(), { onError: () => undefined }).pipe(
          map(() => 'completed'),
          catchError((error: unknown) => {
            expect(error).to.be.instanceOf(ResponseStreamError);
            expect((error as Error).cause).to.be.instanceOf(InvalidEventError);
            return of((error as ResponseStreamError).code);
          }),
        );
        expectObservable(seen).toBe('---(e|)', { e: 'RXJET_ERR_RESPONSE_STREAM' });
        expectSubscriptions(events$.subscriptions).toBe('^--!');
      });
    });
  });

  describe('the RxJS checklist', () => {
    it('never: sends nothing but heartbeats', () => {
      scheduler().run(({ expectObservable }) => {
        expectObservable(bodyOf(NEVER, { heartbeat: 0 }), '^ 100ms !').toBe('');
        expectObservable(bodyOf(NEVER, { heartbeat: 30 }), '^ 100ms !').toBe('30ms h 29ms h 29ms h', { h: beat });
      });
    });

    it('empty: ends the response at once, after the initial retry if one is set', () => {
      scheduler().run(({ cold, expectObservable }) => {
        expectObservable(bodyOf(cold('|'))).toBe('|');
        expectObservable(bodyOf(cold('--|'), { retry: 2500 })).toBe('r-|', { r: 'retry: 2500\n\n' });
      });
    });

    it('values: writes each event as one chunk the moment it is emitted', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const events$ = cold('-a--b-c|', {
          a: 'hello',
          b: { data: 'hi', event: 'greeting', id: '7', retry: 1000 },
          c: { data: { n: 1, list: [true, null] } },
        });
        expectObservable(bodyOf(events$)).toBe('-a--b-c|', {
          a: 'data: hello\n\n',
          b: 'id: 7\nevent: greeting\nretry: 1000\ndata: hi\n\n',
          c: 'data: {"n":1,"list":[true,null]}\n\n',
        });
        expectSubscriptions(events$.subscriptions).toBe('^------!');
      });
    });

    it('error: breaks the stream with the error of events$', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('feed down');
        expectObservable(bodyOf(cold('-a-#', { a: 'x' }, failure))).toBe('-a-#', { a: 'data: x\n\n' }, failure);
      });
    });

    it('never-ending with early unsubscribe: unsubscribes events$ and stops the heartbeat', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const events$ = cold('-a 20ms a 20ms a', { a: 'tick' });
        expectObservable(bodyOf(events$, { heartbeat: 15 }), '^ 39ms !').toBe('-a 14ms h 5ms a 14ms h', {
          a: 'data: tick\n\n',
          h: beat,
        });
        expectSubscriptions(events$.subscriptions).toBe('^ 39ms !');
      });
    });

    it('throwing user code: data whose toJSON throws breaks the stream with an InvalidEventError', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const cause = new Error('no JSON for you');
        const events$ = cold('-a-b-c', {
          a: { data: 1 },
          b: {
            data: {
              toJSON() {
                throw cause;
              },
            },
          },
          c: 'after',
        });
        const seen = bodyOf(events$).pipe(
          catchError((error: unknown) => {
            expect(error).to.be.instanceOf(InvalidEventError);
            expect(error).to.include({ code: 'RXJET_ERR_SSE_INVALID_EVENT', cause });
            return of('failed');
          }),
        );
        expectObservable(seen).toBe('-a-(f|)', { a: 'data: 1\n\n', f: 'failed' });
        expectSubscriptions(events$.subscriptions).toBe('^--!');
      });
    });
  });

  describe('the event format', () => {
    it('splits data on CRLF, CR and LF into one data line each, keeping empty and trailing lines', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('abcd|', { a: 'one\r\ntwo\rthree\nfour', b: '', c: 'end\n', d: { data: ' spaced' } });
        expectObservable(bodyOf(events$)).toBe('abcd|', {
          a: 'data: one\ndata: two\ndata: three\ndata: four\n\n',
          b: 'data: \n\n',
          c: 'data: end\ndata: \n\n',
          d: 'data:  spaced\n\n',
        });
      });
    });

    it('takes numeric ids, sends an empty id (which clears the client’s), and leaves out an empty event type', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('abc|', {
          a: { id: 42, data: 'x' },
          b: { id: '', event: '', data: 'y' },
          c: { id: 0, data: 0 },
        });
        expectObservable(bodyOf(events$)).toBe('abc|', {
          a: 'id: 42\ndata: x\n\n',
          b: 'id: \ndata: y\n\n',
          c: 'id: 0\ndata: 0\n\n',
        });
      });
    });

    it('sends an event without data as its id or retry alone, and nothing for an event with no field', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('abc|', {
          a: { data: undefined, id: '9' },
          b: { data: undefined, retry: 0 },
          c: { data: undefined },
        });
        expectObservable(bodyOf(events$)).toBe('ab-|', { a: 'id: 9\n\n', b: 'retry: 0\n\n' });
      });
    });

    it('refuses event types with CR or LF, ids with CR, LF or NUL, bad retries and data with no JSON', () => {
      const cases: [unknown, string][] = [
        [{ event: 'a\nb', data: 'x' }, 'the event type must be a string without CR or LF, got the string "a\\nb"'],
        [{ event: 'a\rb', data: 'x' }, 'the event type must be a string without CR or LF, got the string "a\\rb"'],
        [
          { id: 'a\rb', data: 'x' },
          'the id must be a finite number or a string without CR, LF or NUL, got the string "a\\rb"',
        ],
        [
          { id: 'a\0b', data: 'x' },
          'the id must be a finite number or a string without CR, LF or NUL, got the string "a\\u0000b"',
        ],
        [
          { id: NaN, data: 'x' },
          'the id must be a finite number or a string without CR, LF or NUL, got the number NaN',
        ],
        [{ retry: -1, data: 'x' }, 'retry must be a non-negative integer, got the number -1'],
        [{ retry: 1.5, data: 'x' }, 'retry must be a non-negative integer, got the number 1.5'],
        [{ data: () => 1 }, 'the data has no JSON form (a function)'],
        [{ data: 1n }, 'the data could not be turned into JSON'],
        [42, 'expected a string or { data, event?, id?, retry? }, got the number 42'],
        [null, 'expected a string or { data, event?, id?, retry? }, got null'],
      ];
      for (const [event, problem] of cases) {
        scheduler().run(({ cold, expectObservable }) => {
          const events$ = cold('-e', { e: event as SseEvent });
          expectObservable(described(bodyOf(events$))).toBe('-(x|)', {
            x: `InvalidEventError: Invalid server-sent event: ${problem}.`,
          });
        });
      }
    });
  });

  describe('heartbeats', () => {
    it('are sent only after a whole period without events, the period starting again at each event', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('5ms a 2ms b 30ms c', { a: 'a', b: 'b', c: 'c' });
        expectObservable(bodyOf(events$, { heartbeat: 10 }), '^ 60ms !').toBe(
          '5ms a 2ms b 9ms h 9ms h 9ms h c 9ms h 9ms h',
          {
            a: 'data: a\n\n',
            b: 'data: b\n\n',
            c: 'data: c\n\n',
            h: beat,
          },
        );
      });
    });

    it('default to one every 15 seconds, on the scheduler given', () => {
      const testScheduler = scheduler();
      testScheduler.run(({ expectObservable }) => {
        expectObservable(bodyOf(NEVER, { scheduler: testScheduler }), '^ 40s !').toBe('15s h 14999ms h', { h: beat });
      });
    });

    it('stop when events$ ends or fails', () => {
      scheduler().run(({ cold, expectObservable }) => {
        expectObservable(bodyOf(cold('25ms |'), { heartbeat: 10 })).toBe('10ms h 9ms h 4ms |', { h: beat });
        const failure = new Error('x');
        expectObservable(bodyOf(cold('15ms #', undefined, failure), { heartbeat: 10 })).toBe(
          '10ms h 4ms #',
          { h: beat },
          failure,
        );
      });
    });
  });

  describe('options', () => {
    it('throws an InvalidOptionError naming the option at call time', () => {
      const cases: [() => unknown, string][] = [
        [() => sse('x' as unknown as Observable<string>), 'events$'],
        [() => sse(NEVER, { heartbeat: -1 }), 'heartbeat'],
        [() => sse(NEVER, { heartbeat: 1.5 }), 'heartbeat'],
        [() => sse(NEVER, { retry: -5 }), 'retry'],
        [() => sse(NEVER, { scheduler: {} as SseOptions['scheduler'] }), 'scheduler'],
        [() => sse(NEVER, { heartbeats: 5 } as SseOptions), 'heartbeats'],
      ];
      for (const [call, option] of cases) {
        expect(call).to.throw(InvalidOptionError).with.property('option', option);
      }
    });
  });

  describe('lastEventId', () => {
    it('reads the Last-Event-ID header, and is undefined when it is absent or empty', () => {
      expect(lastEventId(mockRequest({ headers: { 'Last-Event-ID': '42' } }))).to.equal('42');
      expect(lastEventId(mockRequest())).to.equal(undefined);
      expect(lastEventId(mockRequest({ headers: { 'last-event-id': '' } }))).to.equal(undefined);
    });

    it('decodes the UTF-8 that clients send the id in', () => {
      const sent = Buffer.from('é🚀 7', 'utf8').toString('latin1'); // how node reads the header's bytes
      expect(lastEventId(mockRequest({ headers: { 'last-event-id': sent } }))).to.equal('é🚀 7');
      expect(lastEventId(mockRequest({ headers: { 'last-event-id': 'é🚀 already text' } }))).to.equal(
        'é🚀 already text',
      );
    });
  });
});
