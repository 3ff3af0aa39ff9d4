import { expect } from 'chai';
import { firstValueFrom, from, interval, map, NEVER, finalize, Observable, take, throwError, timer } from 'rxjs';
import { HttpError, json, text, type Handler } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, start } from '../helpers.js';

/** Handlers that must behave the same with and without a socket. */
const cases: [string, Handler, { method?: string; headers?: Record<string, string>; body?: string }][] = [
  [
    'a plain response',
    () => ({ status: 201, headers: { 'content-type': 'text/plain', 'x-a': ['1', '2'] }, body: 'made' }),
    {},
  ],
  ['a Promise', async () => ({ body: 'promised' }), {}],
  ['an Observable', () => timer(5).pipe(map(() => ({ status: 202, body: 'later' }))), {}],
  [
    'a streaming body',
    () => ({
      body: interval(2).pipe(
        take(5),
        map((i) => String(i)),
      ),
    }),
    {},
  ],
  [
    'an async iterable body',
    () => ({
      body: (async function* () {
        yield 'a';
        yield 'b';
      })(),
    }),
    {},
  ],
  ['null', () => null, {}],
  [
    'a thrown error',
    () => {
      throw new Error('x');
    },
    {},
  ],
  ['an HttpError', () => throwError(() => new HttpError(418, 'short and stout')), {}],
  ['a CRLF header', () => ({ headers: { 'x-bad': 'a\r\nb' } }), {}],
  ['a HEAD request', () => ({ body: 'not sent' }), { method: 'HEAD' }],
  ['a 204', () => ({ status: 204, body: 'not sent' }), {}],
  [
    'a JSON body',
    (req) => json<{ n: number }>(req).pipe(map(({ n }) => ({ body: String(n * 2) }))),
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":21}' },
  ],
  [
    'a poisoned JSON body',
    (req) => json(req).pipe(map(() => ({ body: 'no' }))),
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"__proto__":{}}' },
  ],
  ['a text body', (req) => text(req).pipe(map((t) => ({ body: t.toUpperCase() }))), { method: 'POST', body: 'shout' }],
];

describe('inject', () => {
  afterEach(closeAll);

  describe('agrees with serve', () => {
    for (const [what, handler, request] of cases) {
      it(`for ${what}`, async () => {
        const server = await start(handler);
        const overNetwork = await fetchText(server.url, request);
        const injected = await firstValueFrom(
          inject(handler, mockRequest({ ...request, headers: request.headers }), { onError: () => undefined }),
        );
        expect(injected.status).to.equal(overNetwork.status);
        expect(injected.body).to.equal(overNetwork.body);
        for (const name of ['content-type', 'content-length', 'x-a']) {
          const value = injected.headers[name];
          expect(Array.isArray(value) ? value.join(', ') : value, name).to.equal(overNetwork.headers[name]);
        }
      });
    }
  });

  it('uses a server’s handler and settings', async () => {
    const errors: Error[] = [];
    const server = await start(() => ({ body: from(['a', 1] as unknown[]) as Observable<string> }), {
      onError: (e) => errors.push(e),
    });
    const outcome = await firstValueFrom(inject(server, mockRequest())).then(
      () => 'completed',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(outcome).to.equal('RXJET_ERR_INVALID_CHUNK');
    expect(errors).to.have.length(1);
  });

  it('errors when the body fails after the head', async () => {
    const handler = () => ({ body: new Observable<string>((s) => (s.next('x'), s.error(new Error('gone')))) });
    const error = await firstValueFrom(inject(handler, mockRequest(), { onError: () => undefined })).catch(
      (e: unknown) => e,
    );
    expect(error).to.include({ code: 'RXJET_ERR_RESPONSE_STREAM' });
  });

  it('acts as a client going away when unsubscribed: teardown runs and the signal aborts', async () => {
    let tornDown = false;
    const req = mockRequest();
    const subscription = inject(() => NEVER.pipe(finalize(() => (tornDown = true))), req).subscribe();
    subscription.unsubscribe();
    expect(tornDown).to.equal(true);
    expect(req.signal.aborted).to.equal(true);
    expect(req.signal.reason).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED' });
  });

  it('is cold: nothing runs before subscribe', () => {
    let calls = 0;
    const injected = inject(() => ((calls += 1), { body: 'x' }), mockRequest());
    expect(calls).to.equal(0);
    injected.subscribe();
    expect(calls).to.equal(1);
  });

  it('throws at call time for a bad target', () => {
    expect(() => inject('nope' as never, mockRequest())).to.throw('Invalid option "target"');
  });

  it('builds mock requests like real ones', async () => {
    const req = mockRequest({ method: 'post', url: '/a/b?x=1', headers: { 'X-Multi': ['a', 'b'] }, body: 'hey' });
    expect([req.method, req.path, req.query, req.headers['x-multi'], req.headers['content-length']]).to.deep.equal([
      'POST',
      '/a/b',
      'x=1',
      'a, b',
      '3',
    ]);
    const chunks: string[] = [];
    for await (const chunk of req.body) chunks.push(Buffer.from(chunk).toString());
    expect(chunks).to.deep.equal(['hey']);
  });
});
