import { expect } from 'chai';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { map, NEVER, timer, type Observable } from 'rxjs';
import { z } from 'zod';
import { validate } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import type { JetResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { scheduler, summary } from '../helpers.js';

const named = z.object({ name: z.string() });

/**
 * A schema that takes `frames` of virtual time to decide: its result comes through a thenable
 * driven by the TestScheduler, as an async schema's Promise would, but in virtual time.
 */
function slowSchema(frames: number, calls: { count: number }): StandardSchemaV1<unknown, { name: string }> {
  return {
    '~standard': {
      version: 1,
      vendor: 'spec',
      validate: (value) => {
        calls.count++;
        const name = (value as { name?: unknown }).name;
        const result: StandardSchemaV1.Result<{ name: string }> =
          typeof name === 'string'
            ? { value: { name } }
            : { issues: [{ message: 'no name', path: [{ key: 'name' }] }] };
        const thenable = {
          then: (resolve: (r: typeof result) => void) => timer(frames).subscribe(() => resolve(result)),
        };
        return thenable as unknown as Promise<typeof result>;
      },
    },
  };
}

/** A JSON POST to `/u` whose body arrives as `body$` emits. */
const post = (body: string | Observable<string>) =>
  mockRequest({ method: 'POST', url: '/u', headers: { 'content-type': 'application/json' }, body });

describe('validate in virtual time', () => {
  it('values: passes the parsed body on once the last chunk has arrived, and the handler answers then', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const body = cold('--a--b|', { a: '{"name":', b: '"ada"}' });
      const app = router().post('/u', (req) => ({ body: `hi ${req.valid.body.name}` }), {
        use: [validate({ body: named })],
      });
      expectObservable(summary(inject(app, post(body)))).toBe('------(a|)', { a: '200 hi ada' });
    });
  });

  it('values: waits for a slow async schema, then runs the handler', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const calls = { count: 0 };
      const answer = cold<JetResponse>('--r|', { r: { status: 201, body: 'made' } });
      const app = router().post('/u', () => answer, { use: [validate({ body: slowSchema(5, calls) })] });
      expectObservable(summary(inject(app, post('{"name":"ada"}')))).toBe('-------(a|)', { a: '201 made' });
      expectSubscriptions(answer.subscriptions).toBe('-----^-!');
    });
  });

  it('failure: answers 400 once the slow schema says no, and the handler is never subscribed', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const answer = cold<JetResponse>('r|', { r: { body: 'should not run' } });
      let called = 0;
      const app = router().post(
        '/u',
        () => {
          called++;
          return answer;
        },
        { use: [validate({ body: slowSchema(3, { count: 0 }) })] },
      );
      const issues = JSON.stringify({ issues: [{ message: 'no name', path: ['name'], in: 'body' }] });
      expectObservable(summary(inject(app, post('{}')))).toBe('---(a|)', { a: `400 ${issues}` });
      expectSubscriptions(answer.subscriptions).toBe([]);
      flush();
      expect(called).to.equal(0);
    });
  });

  it('never-ending with early unsubscribe: unsubscribing reaches the handler and its teardown runs', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const handler$ = cold<JetResponse>('-');
      const app = router().post('/u', () => handler$, { use: [validate({ body: slowSchema(2, { count: 0 }) })] });
      expectObservable(summary(inject(app, post('{"name":"ada"}'))), '^-----!').toBe('-');
      expectSubscriptions(handler$.subscriptions).toBe('--^---!');
    });
  });

  it('unsubscribing while the schema decides: the handler never runs, even once the schema has answered', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const handler$ = cold<JetResponse>('r|', { r: { body: 'late' } });
      let called = 0;
      const calls = { count: 0 };
      const app = router().post(
        '/u',
        () => {
          called++;
          return handler$;
        },
        { use: [validate({ body: slowSchema(10, calls) })] },
      );
      expectObservable(summary(inject(app, post('{"name":"ada"}'))), '^--!').toBe('-');
      flush();
      expect(calls.count).to.equal(1);
      expect(called).to.equal(0);
      expectSubscriptions(handler$.subscriptions).toBe([]);
    });
  });

  it('unsubscribing while the body is read unsubscribes the body; the schema never runs', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const body = cold('--a-----', { a: '{"name":' });
      const calls = { count: 0 };
      const app = router().post('/u', () => ({ body: 'never' }), { use: [validate({ body: slowSchema(1, calls) })] });
      expectObservable(summary(inject(app, post(body))), '^---!').toBe('-');
      expectSubscriptions(body.subscriptions).toBe('^---!');
      flush();
      expect(calls.count).to.equal(0);
    });
  });

  it('order: an outer validate that fails answers before the inner one reads the body', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const body = cold('--a|', { a: '{"name":"ada"}' });
      const app = router()
        .use(validate({ query: z.object({ v: z.literal('2') }) }))
        .post('/u', () => ({ body: 'ok' }), { use: [validate({ body: named })] });
      const res = inject(
        app,
        mockRequest({ method: 'POST', url: '/u?v=1', headers: { 'content-type': 'application/json' }, body }),
      );
      expectObservable(res.pipe(map((r) => r.status))).toBe('(s|)', { s: 400 });
      expectSubscriptions(body.subscriptions).toBe([]);
    });
  });

  it('order: middleware above sees the 400 as a response it may change', () => {
    scheduler().run(({ expectObservable }) => {
      const tag: Middleware = (req, next) =>
        next().pipe(map((res) => ({ ...res, headers: { ...res.headers, 'x-seen': String(res.status) } })));
      const app = router()
        .use(tag)
        .post('/u', () => ({ body: 'ok' }), { use: [validate({ body: named })] });
      expectObservable(inject(app, post('{"name":1}')).pipe(map((r) => r.headers['x-seen']))).toBe('(a|)', {
        a: '400',
      });
    });
  });

  it('empty: a body that completes with no bytes is the 400 json() gives for an empty body', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const app = router().post('/u', () => ({ body: 'ok' }), { use: [validate({ body: named })] });
      expectObservable(summary(inject(app, post(cold('---|'))))).toBe('---(a|)', { a: '400 The JSON body is empty.' });
    });
  });

  it('never: a body that never ends keeps the request waiting, with no answer', () => {
    scheduler().run(({ expectObservable }) => {
      const app = router().post('/u', () => ({ body: 'ok' }), { use: [validate({ body: named })] });
      expectObservable(summary(inject(app, post(NEVER as Observable<string>))), '^------!').toBe('-');
    });
  });

  it('error: a body that fails, a schema that throws and one that rejects are server errors (500)', () => {
    scheduler().run(({ cold, expectObservable }) => {
      const errors: Error[] = [];
      const onError = (error: Error) => errors.push(error);
      const app = router().post('/u', () => ({ body: 'ok' }), { use: [validate({ body: named })] });
      expectObservable(inject(app, post(cold('--#')), { onError }).pipe(map((r) => r.status))).toBe('--(s|)', {
        s: 500,
      });
      const throwing: StandardSchemaV1 = {
        '~standard': {
          version: 1,
          vendor: 'spec',
          validate: () => {
            throw new Error('schema bug');
          },
        },
      };
      const rejecting: StandardSchemaV1 = {
        '~standard': {
          version: 1,
          vendor: 'spec',
          validate: () =>
            ({
              then: (_: unknown, reject: (e: Error) => void) =>
                timer(2).subscribe(() => reject(new Error('async bug'))),
            }) as unknown as Promise<StandardSchemaV1.Result<unknown>>,
        },
      };
      for (const [schema, marble] of [
        [throwing, '(s|)'],
        [rejecting, '--(s|)'],
      ] as const) {
        const broken = router().post('/u', () => ({ body: 'ok' }), { use: [validate({ body: schema })] });
        expectObservable(inject(broken, post('{}'), { onError }).pipe(map((r) => r.status))).toBe(marble, { s: 500 });
      }
    });
  });
});
