import { expect } from 'chai';
import { asyncScheduler, map, mergeMap, type Observable, type Subscription } from 'rxjs';
import { compressWith } from '../../src/middleware/compress.js';
import type { Codec, Encoded } from '../../src/middleware/compressed-body.js';
import { compress, type CompressOptions } from '../../src/middleware/index.js';
import { withMiddleware } from '../../src/router/index.js';
import { HttpError, toResponse, type Handler, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest, type InjectedResponse } from '../../src/testing/index.js';
import { scheduler } from '../helpers.js';

/**
 * An encoder in virtual time: each call answers `delay` frames later with a readable stand-in
 * for compressed bytes (`<chunk>` per flushed chunk, `[gzip:body]` for a whole body, `.` for the
 * end of a stream). `stopped` counts the calls a destroy cut short.
 */
function virtualCodec(delay: number): { codec: Codec; stopped: () => number } {
  let stopped = 0;
  const codec: Codec = (encoding) => {
    const pending = new Set<Subscription>();
    const later = (output: string, done: Encoded): void => {
      const action = asyncScheduler.schedule(() => {
        pending.delete(action);
        done(null, Buffer.from(output));
      }, delay);
      pending.add(action);
    };
    return {
      write: (chunk, done) => later(`<${Buffer.from(chunk).toString()}>`, done),
      end: (chunk, done) => later(chunk === undefined ? '.' : `[${encoding}:${Buffer.from(chunk).toString()}]`, done),
      destroy: () => {
        stopped += pending.size;
        for (const action of pending) action.unsubscribe();
        pending.clear();
      },
    };
  };
  return { codec, stopped: () => stopped };
}

const gzipRequest = mockRequest({ url: '/x', headers: { 'accept-encoding': 'gzip' } });
const text = 'compressible text'.repeat(100);
const plain = { 'content-type': 'text/plain' };
const anything = { threshold: 0 } satisfies CompressOptions;

/** Status, content-encoding and body of each response, for compact marble values. */
function brief(response$: Observable<InjectedResponse>): Observable<string> {
  return response$.pipe(map((r) => `${r.status} ${String(r.headers['content-encoding'])} ${r.body}`));
}

describe('compress in virtual time', () => {
  it('values: emits the response once its whole body is encoded, not before', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const { codec } = virtualCodec(3);
      const answer = cold('-r', { r: { headers: plain, body: 'hello' } });
      const app = withMiddleware(() => answer, compressWith(anything, codec));
      expectObservable(brief(inject(app, gzipRequest))).toBe('----(a|)', { a: '200 gzip [gzip:hello]' });
      expectSubscriptions(answer.subscriptions).toBe('^!');
    });
  });

  it('values: a streaming body is encoded and emitted chunk by chunk, each as soon as it is flushed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const { codec } = virtualCodec(1);
      const body = cold('-a--b|');
      const app = withMiddleware(() => ({ headers: plain, body }), compressWith(anything, codec));
      const chunks = toResponse(app(gzipRequest)).pipe(
        mergeMap((res) => res.body as Observable<Uint8Array>),
        map((chunk) => Buffer.from(chunk).toString()),
      );
      expectObservable(chunks).toBe('--a--b(c|)', { a: '<a>', b: '<b>', c: '.' });
      expectSubscriptions(body.subscriptions).toBe('^----!');
    });
  });

  it('values: inject sees the whole encoded stream when it ends', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const { codec } = virtualCodec(1);
      const app = withMiddleware(() => ({ headers: plain, body: cold('-a-b|') }), compressWith(anything, codec));
      expectObservable(brief(inject(app, gzipRequest))).toBe('-----(a|)', { a: '200 gzip <a><b>.' });
    });
  });

  it('empty: a handler answering nothing gets its 404 through as it is', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const app = withMiddleware(() => cold<JetResponse>('--|'), compress());
      expectObservable(brief(inject(app, gzipRequest))).toBe('--(a|)', { a: '404 undefined Not Found' });
    });
  });

  it('values: a response left as it is (below the threshold, or a HEAD) is emitted at the frame it came', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const small = withMiddleware(() => cold('--r', { r: { headers: plain, body: 'small' } }), compress());
      expectObservable(brief(inject(small, gzipRequest))).toBe('--(a|)', { a: '200 undefined small' });
      const head = withMiddleware(() => cold('--r', { r: { headers: plain, body: text } }), compress());
      const headRequest = mockRequest({ method: 'HEAD', headers: { 'accept-encoding': 'gzip' } });
      expectObservable(brief(inject(head, headRequest))).toBe('--(a|)', { a: '200 undefined ' });
    });
  });

  it('never: unsubscribing before the handler answers unsubscribes the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const answer = cold<JetResponse>('-');
      const app = withMiddleware(() => answer, compress());
      expectObservable(inject(app, gzipRequest), '^---!').toBe('-');
      expectSubscriptions(answer.subscriptions).toBe('^---!');
    });
  });

  it('unsubscribing while a whole body is being encoded stops the encoder; nothing is emitted', () => {
    const { codec, stopped } = virtualCodec(5);
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const answer = cold('-r', { r: { headers: plain, body: text } });
      const app = withMiddleware(() => answer, compressWith({}, codec));
      expectObservable(inject(app, gzipRequest), '^--!').toBe('-');
      expectSubscriptions(answer.subscriptions).toBe('^!');
    });
    expect(stopped()).to.equal(1);
  });

  it('never-ending body with early unsubscribe: the body source is unsubscribed and the encoder stopped', () => {
    const { codec, stopped } = virtualCodec(2);
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body = cold('-a-b-c-');
      const app = withMiddleware(() => ({ headers: plain, body }), compressWith(anything, codec));
      expectObservable(inject(app, gzipRequest), '^----!').toBe('-');
      expectSubscriptions(body.subscriptions).toBe('^----!');
    });
    expect(stopped()).to.equal(1); // 'c' was still being encoded
  });

  it('error: an error from next() passes through untouched, as the same error at the same frame', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const taken = new HttpError(409, 'taken');
      const app = withMiddleware(() => cold<JetResponse>('--#', undefined, taken), compress());
      expectObservable(toResponse(app(gzipRequest))).toBe('--#', undefined, taken);
      expectObservable(brief(inject(app, gzipRequest))).toBe('--(a|)', { a: '409 undefined taken' });
    });
  });

  it("error: a body's error mid-stream passes on untouched after what was encoded before it", () => {
    scheduler().run(({ cold, expectObservable }) => {
      const { codec } = virtualCodec(1);
      const broken = new Error('source broke');
      const app = withMiddleware(
        () => ({ headers: plain, body: cold('-a-#', undefined, broken) }),
        compressWith(anything, codec),
      );
      const chunks = toResponse(app(gzipRequest)).pipe(
        mergeMap((res) => res.body as Observable<Uint8Array>),
        map((chunk) => Buffer.from(chunk).toString()),
      );
      expectObservable(chunks).toBe('--a#', { a: '<a>' }, broken);
    });
  });

  it('throwing user callback: a throwing filter is an error notification', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const broke = new Error('filter broke');
      const filter = (): boolean => {
        throw broke;
      };
      const handler: Handler = () => cold('-r', { r: { headers: plain, body: text } });
      const app = withMiddleware(handler, compress({ filter }));
      expectObservable(toResponse(app(gzipRequest))).toBe('-#', undefined, broke);
    });
  });

  it('cold: nothing below runs until the response is subscribed', () => {
    let runs = 0;
    const app = withMiddleware(() => {
      runs++;
      return { headers: plain, body: 'x' };
    }, compress());
    const response$ = toResponse(app(gzipRequest));
    expect(runs).to.equal(0);
    response$.subscribe();
    response$.subscribe();
    expect(runs).to.equal(2);
  });
});
