import { expect } from 'chai';
import { catchError, map, of } from 'rxjs';
import { parseEventStream, type ParseEventStreamOptions, type ServerSentEvent } from '../../src/client/index.js';
import { EventTooLargeError, InvalidOptionError } from '../../src/internal/errors.js';
import { scheduler } from '../helpers.js';

const utf8 = new TextEncoder();
const bytes = (text: string): Uint8Array => utf8.encode(text);
const bom = [0xef, 0xbb, 0xbf];

/** A message event with `data` and the id given (`''` by default). */
const message = (data: string, id = ''): ServerSentEvent => ({ data, event: 'message', id });

/**
 * The events a stream of byte chunks gives, one chunk per frame, collected into one value at the
 * end (so the cases read as input and output); an error becomes the last value, its class name.
 */
function parse(chunks: readonly (string | Uint8Array)[], options?: ParseEventStreamOptions): unknown[] {
  let result: unknown[] = [];
  scheduler().run(({ cold, flush }) => {
    const values = Object.fromEntries(chunks.map((chunk, i) => [String.fromCharCode(97 + i), chunk]));
    const marbles = Object.keys(values).join('') + '|';
    const seen: unknown[] = [];
    cold<string | Uint8Array>(marbles, values)
      .pipe(
        map((chunk) => (typeof chunk === 'string' ? bytes(chunk) : chunk)),
        parseEventStream(options),
        catchError((error: Error) => of(error.constructor.name)),
      )
      .subscribe((event) => seen.push(event));
    flush();
    result = seen;
  });
  return result;
}

describe('parseEventStream in virtual time', () => {
  describe('the RxJS checklist', () => {
    it('never: emits nothing', () => {
      scheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold<Uint8Array>('-').pipe(parseEventStream())).toBe('-');
      });
    });

    it('empty: completes with no events', () => {
      scheduler().run(({ cold, expectObservable }) => {
        expectObservable(cold<Uint8Array>('--|').pipe(parseEventStream())).toBe('--|');
      });
    });

    it('values: emits each event when the blank line ending it arrives, then completes with the source', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const chunks$ = cold('-a-b-c-|', {
          a: bytes('data: first\n'),
          b: bytes('\nevent: update\nid: 1\ndata: sec'),
          c: bytes('ond\n\n'),
        });
        expectObservable(chunks$.pipe(parseEventStream())).toBe('---a-b-|', {
          a: message('first'),
          b: { data: 'second', event: 'update', id: '1' },
        });
        expectSubscriptions(chunks$.subscriptions).toBe('^------!');
      });
    });

    it('error: passes the error of the source on and drops the unfinished event', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const failure = new Error('reset');
        const chunks$ = cold('-a-b-#', { a: bytes('data: x\n\n'), b: bytes('data: half\n') }, failure);
        expectObservable(chunks$.pipe(parseEventStream())).toBe('-a---#', { a: message('x') }, failure);
      });
    });

    it('never-ending with early unsubscribe: unsubscribes the source', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const chunks$ = cold('-a-a-a-a-a-a', { a: bytes('data: tick\n\n') });
        expectObservable(chunks$.pipe(parseEventStream()), '^----!').toBe('-a-a-', { a: message('tick') });
        expectSubscriptions(chunks$.subscriptions).toBe('^----!');
      });
    });

    it('throwing user code: an onRetry that throws errors the stream and unsubscribes the source', () => {
      scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
        const failure = new Error('bad callback');
        const chunks$ = cold('-a-b-c', { a: bytes('data: x\n\n'), b: bytes('retry: 10\n'), c: bytes('data: y\n\n') });
        const onRetry = (): void => {
          throw failure;
        };
        expectObservable(chunks$.pipe(parseEventStream({ onRetry }))).toBe('-a-#', { a: message('x') }, failure);
        expectSubscriptions(chunks$.subscriptions).toBe('^--!');
      });
    });

    it('stops between two events of one chunk when the subscriber leaves after the first', () => {
      const seen: ServerSentEvent[] = [];
      scheduler().run(({ cold, flush }) => {
        const chunks$ = cold('a|', { a: bytes('data: 1\n\ndata: 2\n\n') });
        const subscription = chunks$.pipe(parseEventStream()).subscribe((event) => {
          seen.push(event);
          subscription.unsubscribe();
        });
        flush();
      });
      expect(seen).to.deep.equal([message('1')]);
    });

    it('parses each subscription afresh', () => {
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('ab|', { a: bytes('id: 1\ndata: x\n\n'), b: bytes('data: y') }).pipe(parseEventStream());
        expectObservable(events$).toBe('a-|', { a: message('x', '1') });
        expectObservable(events$).toBe('a-|', { a: message('x', '1') });
      });
    });
  });

  describe('the WHATWG rules', () => {
    it('strips one UTF-8 BOM at the start, even split between chunks, and no second one', () => {
      expect(parse([new Uint8Array([...bom, ...bytes('data: a\n\n')])])).to.deep.equal([message('a')]);
      expect(
        parse([new Uint8Array(bom.slice(0, 1)), new Uint8Array([...bom.slice(1), ...bytes('data: b\n\n')])]),
      ).to.deep.equal([message('b')]);
      // A second BOM is part of the first line's field name, which is then unknown.
      expect(parse([new Uint8Array([...bom, ...bom, ...bytes('data: c\n\ndata: d\n\n')])])).to.deep.equal([
        message('d'),
      ]);
      // A BOM anywhere else is data.
      expect(parse(['data: \uFEFFe\n\n'])).to.deep.equal([message('\uFEFFe')]);
    });

    it('decodes UTF-8 split between chunks, and replaces invalid bytes with U+FFFD', () => {
      const text = bytes('data: héllo 🚀\n\n');
      expect(parse([text.subarray(0, 8), text.subarray(8, 15), text.subarray(15)])).to.deep.equal([
        message('héllo 🚀'),
      ]);
      expect(parse([new Uint8Array([...bytes('data: a'), 0xff, ...bytes('b\n\n')])])).to.deep.equal([
        message('a\uFFFDb'),
      ]);
    });

    it('ends lines with CRLF, LF or CR alike', () => {
      expect(parse(['data: a\r\ndata: b\ndata: c\rdata: d\r\n\r\n'])).to.deep.equal([message('a\nb\nc\nd')]);
      expect(parse(['data: a\r\rdata: b\n\ndata: c\r\n\r\n'])).to.deep.equal([
        message('a'),
        message('b'),
        message('c'),
      ]);
    });

    it('takes a CR at the end of a chunk and an LF at the start of the next as one line end', () => {
      expect(parse(['data: a\r', '\ndata: b\r', '\n\r', '\n'])).to.deep.equal([message('a\nb')]);
      // ...but a CR followed by anything else in the next chunk ends the line by itself.
      expect(parse(['data: a\r', 'data: b\r', '\r'])).to.deep.equal([message('a\nb')]);
      expect(parse(['data: a\r', '', '\n\n'])).to.deep.equal([message('a')]);
    });

    it('joins a line split between any chunks', () => {
      expect(parse(['da', 'ta', ':', ' ', 'spl', 'it', '\n', '\n'])).to.deep.equal([message('split')]);
    });

    it('drops one leading space of a value and keeps the rest, and splits at the first colon only', () => {
      expect(parse(['data:none\n\ndata:  two\n\ndata: a: b:c\n\n'])).to.deep.equal([
        message('none'),
        message(' two'),
        message('a: b:c'),
      ]);
    });

    it('takes a line without a colon as a field with an empty value', () => {
      expect(parse(['data\n\n'])).to.deep.equal([message('')]);
      expect(parse(['data\ndata\ndata: x\n\n'])).to.deep.equal([message('\n\nx')]);
      expect(parse(['event: custom\nevent\ndata: x\n\n'])).to.deep.equal([message('x')]);
    });

    it('ignores comments, unknown fields, and field names in another case', () => {
      expect(parse([':\n\n: heartbeat\ndata: x\n: inside\nfoo: bar\nData: no\nDATA: no\n\n'])).to.deep.equal([
        message('x'),
      ]);
    });

    it('removes only the last newline of the data, keeping empty lines', () => {
      expect(parse(['data: a\ndata:\n\n'])).to.deep.equal([message('a\n')]);
      expect(parse(['data:\ndata:\n\n'])).to.deep.equal([message('\n')]);
      expect(parse(['data:\n\n'])).to.deep.equal([message('')]);
    });

    it('does not dispatch an event without data, and forgets its type', () => {
      expect(parse(['event: lonely\n\nid: 3\n\ndata: x\n\n'])).to.deep.equal([message('x', '3')]);
    });

    it('gives the event type of the event field, or message when it is missing or empty', () => {
      expect(parse(['event: add\ndata: 1\n\nevent:\ndata: 2\n\ndata: 3\n\n'])).to.deep.equal([
        { data: '1', event: 'add', id: '' },
        message('2'),
        message('3'),
      ]);
    });

    it('keeps the last event id across events until another id field, which an empty one clears', () => {
      expect(parse(['id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: 2\n\ndata: d\n\n'])).to.deep.equal([
        message('a', '1'),
        message('b', '1'),
        message('c', ''),
        message('d', '2'),
      ]);
    });

    it('ignores an id field holding NUL', () => {
      expect(parse(['id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n'])).to.deep.equal([message('a', '1'), message('b', '1')]);
    });

    it('sets the id only when the event is dispatched, so an unfinished event does not change it', () => {
      expect(parse(['id: 1\ndata: a\n\nid: 2\ndata: b\n'])).to.deep.equal([message('a', '1')]);
    });

    it('starts from the lastEventId given', () => {
      expect(parse(['data: a\n\nid: 8\ndata: b\n\n'], { lastEventId: '7' })).to.deep.equal([
        message('a', '7'),
        message('b', '8'),
      ]);
    });

    it('reports retry fields of ASCII digits only', () => {
      const retries: number[] = [];
      const onRetry = (ms: number): number => retries.push(ms);
      parse(['retry: 1500\nretry: 007\nretry: 1.5\nretry: -1\nretry: 1e3\nretry: \nretry\nretry:  20\nretry: 0\n\n'], {
        onRetry,
      });
      expect(retries).to.deep.equal([1500, 7, 0]);
    });

    it('drops an event not ended by a blank line when the stream ends', () => {
      expect(parse(['data: a\n\ndata: b\n'])).to.deep.equal([message('a')]);
      expect(parse(['data: a\n\ndata: b'])).to.deep.equal([message('a')]);
      expect(parse(['data: a\n\ndata: b\r'])).to.deep.equal([message('a')]);
    });

    it('takes text chunks as well as bytes', () => {
      const seen: ServerSentEvent[] = [];
      scheduler().run(({ cold, flush }) => {
        cold('ab|', { a: 'data: x\r', b: '\n\n' })
          .pipe(parseEventStream())
          .subscribe((event) => seen.push(event));
        flush();
      });
      expect(seen).to.deep.equal([message('x')]);
    });
  });

  describe('limits and options', () => {
    it('errors with EventTooLargeError when one event grows past maxEventSize, in data or in one line', () => {
      expect(parse(['data: 12345\n', 'data: 6789\n\n'], { maxEventSize: 10 })).to.deep.equal(['EventTooLargeError']);
      expect(parse(['data: 123', '456789'], { maxEventSize: 10 })).to.deep.equal(['EventTooLargeError']);
      expect(parse(['data: 1234\n\n', 'data: 1234\n\n'], { maxEventSize: 10 })).to.deep.equal([
        message('1234'),
        message('1234'),
      ]);
      scheduler().run(({ cold, expectObservable }) => {
        const events$ = cold('a', { a: bytes('data: too long\n') }).pipe(parseEventStream({ maxEventSize: 4 }));
        expectObservable(events$.pipe(catchError((error: EventTooLargeError) => of(error.message)))).toBe('(e|)', {
          e: 'An event of an event stream is larger than 4 characters.',
        });
      });
    });

    it('throws an InvalidOptionError naming the option at call time', () => {
      const cases: [ParseEventStreamOptions, string][] = [
        [{ lastEventId: 'a\nb' }, 'lastEventId'],
        [{ lastEventId: 5 as unknown as string }, 'lastEventId'],
        [{ maxEventSize: 0 }, 'maxEventSize'],
        [{ onRetry: 'no' as unknown as () => void }, 'onRetry'],
        [{ retry: 5 } as ParseEventStreamOptions, 'retry'],
      ];
      for (const [options, option] of cases) {
        expect(() => parseEventStream(options))
          .to.throw(InvalidOptionError)
          .with.property('option', option);
      }
    });
  });
});
