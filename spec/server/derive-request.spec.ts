import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { lastValueFrom, reduce } from 'rxjs';
import { WebSocket } from 'ws';
import { deriveRequest, json, type JetRequest } from '../../src/server/index.js';
import { contextOf } from '../../src/internal/request-context.js';
import { mockRequest } from '../../src/testing/index.js';
import { closeAll, start, within } from '../helpers.js';

/*
 * deriveRequest on the three kinds of request (served, WebSocket upgrade, mockRequest): the same
 * checks on each, so that a middleware's tests on a mock mean what they say about production.
 */

/** Every check, run on `req` where the client sent `x-test: yes` and the body `hello` (none on an upgrade). */
async function checks(req: JetRequest, body: string): Promise<Record<string, unknown>> {
  const derived = deriveRequest(req, { path: '/inner', params: { id: '7' } });
  const byUrl = deriveRequest(req, { url: '/other?x=1' });
  const spread = { ...req } as Partial<JetRequest>;
  const read = await lastValueFrom(
    derived.body.pipe(reduce((text, chunk) => text + Buffer.from(chunk).toString(), '')),
  );
  const again = await lastValueFrom(req.body).then(
    () => 'read twice',
    (error: unknown) => (error as { code?: string }).code,
  );
  return {
    headers: derived.headers['x-test'],
    signalShared: derived.signal === req.signal,
    rawShared: derived.raw === req.raw,
    target: [derived.path, derived.query, derived.url],
    params: derived.params,
    byUrl: [byUrl.path, byUrl.query, byUrl.url],
    bodyRead: read === body,
    bodyReadOnceBetweenThem: body === '' ? 'no body' : again,
    originalUntouched: [req.path, (req as { params?: unknown }).params],
    spreadKeeps: ['headers', 'body', 'signal'].filter(
      (name) => (spread as Record<string, unknown>)[name] !== undefined,
    ),
    spreadKeepsTarget: spread.path === req.path,
    peerShared:
      [derived.remoteAddress, derived.scheme, derived.protocol].join(' ') ===
      [req.remoteAddress, req.scheme, req.protocol].join(' '),
    twiceDerived: (() => {
      const twice = deriveRequest(derived, { query: 'a=1&a=2', id: 'r1' });
      const searchParams = (twice as unknown as { searchParams: URLSearchParams }).searchParams;
      return [twice.params, twice.id, twice.url, searchParams.getAll('a'), twice.headers['x-test']];
    })(),
  };
}

const expected = (body: string) => ({
  headers: 'yes',
  signalShared: true,
  rawShared: true,
  target: ['/inner', 'q=1', '/inner?q=1'],
  params: { id: '7' },
  byUrl: ['/other', 'x=1', '/other?x=1'],
  bodyRead: true,
  bodyReadOnceBetweenThem: body === '' ? 'no body' : 'RXJET_ERR_BODY_CONSUMED',
  originalUntouched: ['/outer', undefined],
  spreadKeeps: [],
  spreadKeepsTarget: true,
  peerShared: true,
  twiceDerived: [{ id: '7' }, 'r1', '/inner?a=1&a=2', ['1', '2'], 'yes'],
});

describe('deriveRequest', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  it('derives a served request', async () => {
    let result: Promise<Record<string, unknown>> | undefined;
    const server = await start((req) => {
      result = checks(req, 'hello');
      return result.then((r) => ({ body: JSON.stringify(r) }));
    });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${server.url}/outer?q=1`, { method: 'POST', headers: { 'x-test': 'yes' } }, resolve);
      req.on('error', reject);
      req.end('hello');
    });
    res.resume();
    await once(res, 'end');
    expect(await result).to.deep.equal(expected('hello'));
  });

  it('derives a WebSocket upgrade request', async () => {
    let result: Promise<Record<string, unknown>> | undefined;
    const server = await start(() => null, {
      websocketHandler: (conn) => {
        result = checks(conn.request, '');
        return undefined;
      },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/outer?q=1`, { headers: { 'x-test': 'yes' } });
    await within(5000, once(ws, 'open'), 'the WebSocket to open');
    const checked = await within(
      5000,
      (async () => {
        while (result === undefined) await new Promise((resolve) => setImmediate(resolve));
        return result;
      })(),
      'the checks',
    );
    ws.close();
    // An upgrade has no raw request after its handler call; the derived one shares that too.
    expect(checked).to.deep.equal(expected(''));
  });

  it('derives a mockRequest request', async () => {
    const req = mockRequest({ method: 'POST', url: '/outer?q=1', headers: { 'x-test': 'yes' }, body: 'hello' });
    expect(await checks(req, 'hello')).to.deep.equal(expected('hello'));
  });

  it('refuses changes to what a derived request shares, and non-string targets', () => {
    const req = mockRequest();
    for (const name of ['headers', 'body', 'signal', 'raw', 'remoteAddress', 'scheme', 'protocol']) {
      expect(() => deriveRequest(req, { [name]: 'x' }), name)
        .to.throw()
        .with.property('code', 'RXJET_ERR_INVALID_OPTION');
    }
    expect(() => deriveRequest(req, { path: 1 as unknown as string })).to.throw(/changes\.path/);
    expect(() => deriveRequest(null as unknown as JetRequest, {})).to.throw(/req/);
  });

  it('keeps the derived signal aborting with the original', () => {
    const req = mockRequest();
    const derived = deriveRequest(req, { path: '/x' });
    const reason = new Error('gone');
    (req as unknown as { abort(reason: Error): void }).abort(reason);
    expect(derived.signal.aborted).to.equal(true);
    expect(derived.signal.reason).to.equal(reason);
  });

  it('lets a derivation give the body helpers another limit, and the server abort the original through it', async () => {
    const req = mockRequest({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    const tight = deriveRequest(req, { maxBodySize: 3 });
    const failure = await lastValueFrom(json(tight)).then(
      () => 'read',
      (error: unknown) => (error as { status?: number }).status,
    );
    expect(failure).to.equal(413);
    const derived = deriveRequest(deriveRequest(mockRequest(), { path: '/a' }), { path: '/b' });
    contextOf(derived)!.abort(new Error('the server gave up'));
    expect(derived.signal.aborted).to.equal(true);
  });
});
