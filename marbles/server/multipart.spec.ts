import { expect } from 'chai';
import { catchError, endWith, map, mergeMap, type Observable, of, timer, toArray } from 'rxjs';
import { multipart, type JetRequest, type MultipartPart } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

const b = 'marble';
const contentType = `multipart/form-data; boundary=${b}`;
/** Chunks of a body: a field `x=1`, a file `f` of "ABCD" in two chunks, then the closing delimiter. */
const chunks = {
  a: `--${b}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1`,
  b: `\r\n--${b}\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n\r\nAB`,
  c: 'CD',
  d: `\r\n--${b}--\r\n`,
};
/** A form with a file `s` sent in two chunks, then a file `r` and a field `n`. */
const twoFiles = {
  a: `--${b}\r\nContent-Disposition: form-data; name="s"; filename="s.bin"\r\n\r\nxx`,
  b: 'yy',
  c: `\r\n--${b}\r\nContent-Disposition: form-data; name="r"; filename="r.bin"\r\n\r\nzz`,
  d: `\r\n--${b}\r\nContent-Disposition: form-data; name="n"\r\n\r\n2\r\n--${b}--\r\n`,
};

const post = (body: Observable<string>): JetRequest =>
  mockRequest({ method: 'POST', headers: { 'content-type': contentType }, body });

/** Each part as a line: a field's `name=value`, a file's chunks as `name:chunk` and its end as `name end`. */
function lines(parts: Observable<MultipartPart>): Observable<string> {
  return parts.pipe(
    mergeMap((part) =>
      part.kind === 'field'
        ? of(`${part.name}=${part.value}`)
        : part.body.pipe(
            map((chunk) => `${part.name}:${Buffer.from(chunk).toString()}`),
            endWith(`${part.name} end`),
          ),
    ),
  );
}

/** The outcome of an Observable as one value: `done`, or the code or status it failed with. */
function outcome(source: Observable<unknown>): Observable<string> {
  return source.pipe(
    toArray(),
    map(() => 'done'),
    catchError((error: { code?: string; status?: number; message: string }) =>
      of(error.status === undefined ? (error.code ?? error.message) : `${error.status} ${error.message}`),
    ),
  );
}

describe('multipart in virtual time', () => {
  it('values: delivers each part as its bytes arrive, in order, a file chunk by chunk', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body = cold('-a---b---c---d|', chunks);
      expectObservable(lines(multipart(post(body)))).toBe('-----(xy)z---(e|)', {
        x: 'x=1',
        y: 'f:AB',
        z: 'f:CD',
        e: 'f end',
      });
      // The closing delimiter ends the parts: the rest of the body is not waited for.
      expectSubscriptions(body.subscriptions).toBe('^------------!');
    });
  });

  it('values: inject answers once the last part is read', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body = cold('-a---b---c---d|', chunks);
      const handler = (req: JetRequest) =>
        lines(multipart(req)).pipe(
          toArray(),
          map((seen) => ({ body: seen.join(' | ') })),
        );
      expectObservable(summary(inject(handler, post(body)))).toBe('-------------(r|)', {
        r: '200 x=1 | f:AB | f:CD | f end',
      });
    });
  });

  it('skips a file body nobody subscribed in the next call that delivered it; a later read errors', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body = cold('-a--b--c--d|', twoFiles);
      const parts = multipart(post(body)).pipe(
        mergeMap((part) => {
          if (part.kind === 'field') return of(`${part.name}=${part.value}`);
          if (part.name === 's') return timer(2).pipe(mergeMap(() => outcome(part.body)));
          return part.body.pipe(map((chunk) => `${part.name}:${Buffer.from(chunk).toString()}`));
        }),
      );
      // s's bytes are dropped; two frames on, reading it errors; r and n follow as their bytes arrive.
      expectObservable(parts).toBe('---s---r--(n|)', { s: 'RXJET_ERR_PART_SKIPPED', r: 'r:zz', n: 'n=2' });
    });
  });

  it('never: a body that never comes gives no part and never ends', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(multipart(post(cold('-')))).toBe('-');
    });
  });

  it('empty: an empty body is a 400, the boundary never appearing', () => {
    scheduler().run(({ cold, expectObservable }) => {
      expectObservable(outcome(multipart(post(cold('|'))))).toBe('(e|)', {
        e: '400 The multipart boundary never appears in the body.',
      });
    });
  });

  it('error: a body that fails fails the parts, and the file body being read', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body = cold('-a---b---#', chunks, new Error('the network broke'));
      const fileOutcome = multipart(post(body)).pipe(
        mergeMap((part) => (part.kind === 'file' ? outcome(part.body) : of())),
        catchError(() => of('the parts failed')),
      );
      expectObservable(fileOutcome).toBe('---------(ep|)', { e: 'the network broke', p: 'the parts failed' });
    });
  });

  it('never-ending, unsubscribed early: the body is unsubscribed and a file body read apart sees it', () => {
    const seen: string[] = [];
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body = cold('-a---b---c-c-c-c-c-c-c-c-c-c', chunks);
      const parts = multipart(post(body)).pipe(
        map((part) => {
          if (part.kind === 'file') outcome(part.body).subscribe((end) => seen.push(end));
          return part.name;
        }),
      );
      expectObservable(parts, '^-----------!').toBe('-----(xf)', { x: 'x', f: 'f' });
      expectSubscriptions(body.subscriptions).toBe('^-----------!');
    });
    expect(seen).to.deep.equal(['RXJET_ERR_PART_ABORTED']);
  });

  it('throwing user code: a callback that throws fails the stream and stops the body', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body = cold('-a---b---c---d|', chunks);
      const parts = multipart(post(body)).pipe(
        map((part) => {
          if (part.kind === 'file') throw new Error('no files here');
          return part.name;
        }),
      );
      expectObservable(outcome(parts)).toBe('-----(e|)', { e: 'no files here' });
      expectSubscriptions(body.subscriptions).toBe('^----!');
    });
  });
});
