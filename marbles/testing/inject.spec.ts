import { expect } from 'chai';
import { map, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { inject, mockRequest } from '../../src/testing/index.js';

describe('inject in virtual time', () => {
  it('runs the README example as written', () => {
    const handler = () => timer(5).pipe(map(() => ({ status: 202, body: 'queued' })));
    new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    }).run(({ expectObservable }) => {
      expectObservable(inject(handler, mockRequest({ url: '/jobs' })).pipe(map((r) => r.status))).toBe('5ms (a|)', {
        a: 202,
      });
    });
  });

  it('gives headers with lower-case names and repeated ones as arrays', () => {
    new TestScheduler((a, b) => {
      expect(a).to.deep.equal(b);
    }).run(({ expectObservable }) => {
      const handler = () => ({ headers: { 'Content-Type': 'text/plain', 'Set-Cookie': ['a=1', 'b=2'] }, body: 'hi' });
      expectObservable(inject(handler, mockRequest()).pipe(map((r) => r.headers))).toBe('(a|)', {
        a: { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], 'content-length': '2' },
      });
    });
  });
});
