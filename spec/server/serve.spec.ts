import { expect } from 'chai';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { defer, EMPTY, NEVER, Observable, of, throwError, timer, map } from 'rxjs';
import { HttpError, json, text, type JetRequest } from '../../src/server/index.js';
import { closeAll, fetchText, rawExchange, start, until, within } from '../helpers.js';

const run = promisify(execFile);

describe('serve', () => {
  afterEach(closeAll);

  describe('Jet server scenarios', () => {
    it('answers hello world (Jet 1)', async () => {
      const server = await start(() => ({
        status: 200,
        headers: { 'Content-Type': 'text/plain' },
        body: 'Hello World',
      }));
      const res = await fetchText(server.url);
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.match(/^text\/plain/);
      expect(res.body).to.equal('Hello World');
    });

    it('sends an empty body for a null body (Jet 2)', async () => {
      const server = await start(() => ({ status: 200, body: null }));
      const res = await fetchText(server.url);
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('');
      expect(res.headers['content-length']).to.equal('0');
    });

    it('keeps a bare text/plain content type without adding a charset (Jet 11)', async () => {
      const server = await start(() => ({ headers: { 'Content-Type': 'text/plain' }, body: '' }));
      const res = await fetchText(server.url);
      expect(res.headers['content-type']).to.equal('text/plain');
    });

    it('sends a custom content type verbatim (Jet 12)', async () => {
      const server = await start(() => ({ headers: { 'Content-Type': 'text/plain;charset=UTF-16;version=1' } }));
      const res = await fetchText(server.url);
      expect(res.headers['content-type']).to.equal('text/plain;charset=UTF-16;version=1');
    });

    it('translates the request into the request map (Jet 13)', async () => {
      let seen: JetRequest | undefined;
      const server = await start((req) => {
        seen = req;
        return text(req).pipe(map((body) => ({ body })));
      });
      const res = await fetchText(`${server.url}/foo/bar/baz?surname=jones&age=123`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        body: 'hello',
      });
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('hello');
      const { method, url, path, query, remoteAddress, scheme, protocol } = seen!;
      expect({ method, url, path, query, remoteAddress, scheme, protocol }).to.deep.equal({
        method: 'POST',
        url: '/foo/bar/baz?surname=jones&age=123',
        path: '/foo/bar/baz',
        query: 'surname=jones&age=123',
        remoteAddress: '127.0.0.1',
        scheme: 'http',
        protocol: 'HTTP/1.1',
      });
      expect(seen!.headers['content-length']).to.equal('5');
      expect(seen!.headers['content-type']).to.equal('text/plain;charset=UTF-8');
      expect(seen!.headers.host).to.equal(`127.0.0.1:${server.port}`);
      expect(seen!.raw).to.be.instanceOf(http.IncomingMessage);
    });

    for (const method of ['HEAD', 'DELETE', 'TRACE']) {
      it(`sees the ${method} method (Jet ${method === 'HEAD' ? 21 : method === 'DELETE' ? 22 : 23})`, async () => {
        const server = await start((req) => ({ headers: { 'x-method': req.method }, body: 'method seen' }));
        const res = await fetchText(server.url, { method });
        expect(res.status).to.equal(200);
        expect(res.headers['x-method']).to.equal(method);
        expect(res.body).to.equal(method === 'HEAD' ? '' : 'method seen');
      });
    }
  });

  describe('handlers', () => {
    it('answers a Promise handler when it resolves', async () => {
      const server = await start(async () => ({ status: 201, body: 'made' }));
      const res = await fetchText(server.url);
      expect([res.status, res.body]).to.deep.equal([201, 'made']);
    });

    it('answers the first emission of an Observable handler and then unsubscribes it', async () => {
      let unsubscribed = false;
      const server = await start(
        () =>
          new Observable((subscriber) => {
            subscriber.next({ status: 202, body: 'first' });
            subscriber.next({ status: 500, body: 'second' });
            return () => (unsubscribed = true);
          }),
      );
      const res = await fetchText(server.url);
      expect([res.status, res.body]).to.deep.equal([202, 'first']);
      expect(unsubscribed).to.equal(true);
    });

    it('subscribes to an Observable handler exactly once per request', async () => {
      let subscriptions = 0;
      const server = await start(() => defer(() => (subscriptions++, timer(5).pipe(map(() => ({ body: 'ok' }))))));
      await fetchText(server.url);
      await fetchText(server.url);
      expect(subscriptions).to.equal(2);
    });

    const notFound: [string, () => unknown][] = [
      ['null', () => null],
      ['undefined', () => undefined],
      ['a Promise of null', async () => null],
      ['an Observable that completes empty', () => EMPTY],
      ['an Observable of null', () => of(null)],
    ];
    for (const [what, handler] of notFound) {
      it(`answers 404 when the handler returns ${what}`, async () => {
        const server = await start(handler as never);
        const res = await fetchText(server.url);
        expect(res.status).to.equal(404);
        expect(res.body).to.equal('Not Found');
        expect(server.errors).to.have.length(0);
      });
    }

    const failures: [string, () => unknown][] = [
      [
        'throws',
        () => {
          throw new Error('secret detail');
        },
      ],
      ['rejects', () => Promise.reject(new Error('secret detail'))],
      ['errors', () => throwError(() => new Error('secret detail'))],
    ];
    for (const [what, handler] of failures) {
      it(`answers 500 with a generic body when the handler ${what}, reports it once and keeps serving`, async () => {
        let calls = 0;
        const server = await start((req) =>
          calls++ === 0 ? (handler() as never) : { body: `still here ${req.path}` },
        );
        const res = await fetchText(server.url);
        expect(res.status).to.equal(500);
        expect(res.body).to.equal('Internal Server Error');
        expect(res.body).not.to.include('secret');
        expect(server.errors).to.have.length(1);
        expect(server.errors[0]).to.include({ code: 'RXJET_ERR_HANDLER', name: 'HandlerError' });
        expect((server.errors[0]!.cause as Error).message).to.equal('secret detail');
        expect((await fetchText(`${server.url}/next`)).body).to.equal('still here /next');
      });
    }

    it('answers an HttpError with its status, message and headers, without reporting it', async () => {
      const server = await start(() => {
        throw new HttpError(405, 'use GET', { headers: { allow: 'GET' } });
      });
      const res = await fetchText(server.url, { method: 'POST' });
      expect(res.status).to.equal(405);
      expect(res.body).to.equal('use GET');
      expect(res.headers.allow).to.equal('GET');
      expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(server.errors).to.have.length(0);
    });

    it('answers an HttpError emitted by an Observable handler', async () => {
      const server = await start(() => throwError(() => new HttpError(409, 'taken')));
      const res = await fetchText(server.url);
      expect([res.status, res.body]).to.deep.equal([409, 'taken']);
    });

    it('answers 500 and reports an invalid response', async () => {
      const server = await start(() => 42 as never);
      const res = await fetchText(server.url);
      expect(res.status).to.equal(500);
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_INVALID_RESPONSE' });
      expect(server.errors[0]!.message).to.equal(
        'Invalid response for GET /: expected a response object, got the number 42.',
      );
    });

    it('answers 500 for an out-of-range status', async () => {
      const server = await start(() => ({ status: 1000 }));
      expect((await fetchText(server.url)).status).to.equal(500);
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_INVALID_RESPONSE' });
    });

    it('answers 500 naming a key that is not part of a response (a typo)', async () => {
      const server = await start(() => ({ stauts: 201, body: 'x' }) as never);
      const res = await fetchText(server.url);
      expect([res.status, res.body]).to.deep.equal([500, 'Internal Server Error']);
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_INVALID_RESPONSE' });
      expect(server.errors[0]!.message).to.equal(
        'Invalid response for GET /: "stauts" is not part of a response (status, headers, body, or websocket); did you forget to map a value to a response?.',
      );
    });

    it('answers 500 to a parsed body answered without map, naming its key', async () => {
      const server = await start((req) => json(req) as never);
      const res = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"a":1}',
      });
      expect(res.status).to.equal(500);
      expect(server.errors[0]!.message).to.include('"a" is not part of a response');
    });

    it('answers 500 for a body of the wrong type', async () => {
      const server = await start(() => ({ body: 12 as never }));
      expect((await fetchText(server.url)).status).to.equal(500);
      expect(server.errors[0]!.message).to.match(/body must be a string, Uint8Array, Observable/);
    });
  });

  describe('response headers', () => {
    it('sends header values exactly as given and arrays as repeated headers', async () => {
      const server = await start(() => ({
        headers: { 'X-Case': 'MiXeD  spaces', 'set-cookie': ['a=1', 'b=2'], 'x-number': 7 },
        body: 'h',
      }));
      const res = await fetchText(server.url);
      expect(res.headers['x-case']).to.equal('MiXeD  spaces');
      expect(res.headers['set-cookie']).to.deep.equal(['a=1', 'b=2']);
      expect(res.headers['x-number']).to.equal('7');
      expect(res.rawHeaders.filter((h) => h.toLowerCase() === 'set-cookie')).to.have.length(2);
      expect(res.rawHeaders).to.include('X-Case');
    });

    for (const value of ['a\r\nInjected: yes', 'a\nb', 'a\rb', 'nul\0']) {
      it(`never sends a header value holding ${JSON.stringify(value.replace(/[^\r\n\0]/g, ''))}: 500 and a typed error`, async () => {
        const server = await start(() => ({ headers: { 'x-bad': value }, body: 'no' }));
        const res = await fetchText(server.url);
        expect(res.status).to.equal(500);
        expect(res.headers).not.to.have.property('injected');
        expect(res.headers).not.to.have.property('x-bad');
        expect(server.errors[0]).to.include({ code: 'RXJET_ERR_INVALID_HEADER', header: 'x-bad' });
      });
    }

    it('rejects a header name that is not a token', async () => {
      const server = await start(() => ({ headers: { 'bad name': 'x' } }));
      expect((await fetchText(server.url)).status).to.equal(500);
      expect(server.errors[0]!.message).to.include('the name is not an HTTP token');
    });

    it('adds content-length for whole bodies, counting UTF-8 bytes', async () => {
      const server = await start(() => ({ body: 'héllo ✓' }));
      const res = await fetchText(server.url);
      expect(res.headers['content-length']).to.equal(String(Buffer.byteLength('héllo ✓')));
      expect(res.headers).not.to.have.property('transfer-encoding');
    });

    it('sends bytes bodies as they are', async () => {
      const server = await start(() => ({ body: new Uint8Array([104, 105]) }));
      expect((await fetchText(server.url)).body).to.equal('hi');
    });

    it('answers 500 when a whole body does not match the content-length the handler set', async () => {
      const server = await start(() => ({ headers: { 'content-length': '10' }, body: 'short' }));
      expect((await fetchText(server.url)).status).to.equal(500);
      expect(server.errors[0]).to.include({ code: 'RXJET_ERR_CONTENT_LENGTH_MISMATCH' });
    });

    it('sends no body and no content-length on a 204', async () => {
      const server = await start(() => ({ status: 204, body: 'ignored' }));
      const res = await fetchText(server.url);
      expect(res.status).to.equal(204);
      expect(res.body).to.equal('');
      expect(res.headers).not.to.have.property('content-length');
    });

    it('answers HEAD with the GET headers and no body, without subscribing a streaming body', async () => {
      let subscribed = false;
      const server = await start(() => ({
        headers: { 'content-type': 'text/plain' },
        body: defer(() => ((subscribed = true), of('x'))),
      }));
      const res = await fetchText(server.url, { method: 'HEAD' });
      expect(res.status).to.equal(200);
      expect(res.body).to.equal('');
      expect(subscribed).to.equal(false);
    });
  });

  describe('the request map', () => {
    it('lower-cases header names and joins repeated values with ", "', async () => {
      let headers: JetRequest['headers'] = {};
      const server = await start((req) => ((headers = req.headers), { body: 'ok' }));
      const { received } = await rawExchange(
        server.port,
        'GET / HTTP/1.1\r\nHost: x\r\nX-Multi: a\r\nx-multi: b\r\nCookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n',
      );
      expect(received).to.match(/^HTTP\/1.1 200/);
      expect(headers['x-multi']).to.equal('a, b');
      expect(headers.cookie).to.equal('a=1; b=2');
      expect(Object.keys(headers)).to.include.members(['host', 'x-multi', 'cookie', 'connection']);
    });

    it('shares its lazy fields with a request derived by Object.create', async () => {
      const server = await start((req) => {
        const derived: JetRequest = Object.create(req, { path: { value: '/rewritten' } }) as JetRequest;
        expect(derived.body).to.equal(req.body);
        return text(derived).pipe(map((body) => ({ body: `${derived.path} ${derived.headers['x-a']} ${body}` })));
      });
      const res = await fetchText(server.url, { method: 'POST', headers: { 'x-a': '1' }, body: 'b' });
      expect(res.body).to.equal('/rewritten 1 b');
    });

    it('aborts req.signal with a ClientAbortedError when the client goes away', async () => {
      let signal: AbortSignal | undefined;
      const server = await start((req) => ((signal = req.signal), NEVER));
      const client = http.get(server.url, { agent: false });
      client.on('error', () => undefined);
      await until(() => signal !== undefined, 'the handler to run');
      expect(signal!.aborted).to.equal(false);
      client.destroy();
      await within(2000, new Promise((resolve) => signal!.addEventListener('abort', resolve)), 'the signal to abort');
      expect(signal!.reason).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED', name: 'ClientAbortedError' });
    });

    it('serves curl as a real peer', async () => {
      const server = await start((req) => ({
        headers: { 'content-type': 'text/plain' },
        body: `curl saw ${req.path}`,
      }));
      const { stdout } = await run('curl', ['-sS', `${server.url}/peer`]);
      expect(stdout).to.equal('curl saw /peer');
    });
  });
});
