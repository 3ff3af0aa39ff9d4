import { expect } from 'chai';
import { catchError, concatMap, defer, from, map, of, toArray } from 'rxjs';
import { form, HttpError, json, text, type JetRequest } from '../../src/server/index.js';
import { closeAll, fetchText, rawExchange, settled, start, until } from '../helpers.js';

const echoJson = (req: JetRequest) => json(req).pipe(map((value) => ({ body: JSON.stringify(value) })));

describe('serve: request bodies', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  describe('req.body', () => {
    it('emits the body as byte chunks, lazily', async () => {
      let chunks: Uint8Array[] = [];
      const server = await start((req) =>
        req.body.pipe(
          toArray(),
          map((all) => {
            chunks = all;
            return { body: Buffer.concat(all).toString() };
          }),
        ),
      );
      const res = await fetchText(server.url, { method: 'POST', body: 'x'.repeat(100_000) });
      expect(res.body).to.equal('x'.repeat(100_000));
      expect(chunks.every((c) => c instanceof Uint8Array)).to.equal(true);
    });

    it('errors with BodyConsumedError on a second subscription', async () => {
      let second: unknown;
      const server = await start((req) =>
        req.body.pipe(
          toArray(),
          concatMap(() => req.body.pipe(catchError((error: unknown) => ((second = error), of(null))))),
          map(() => ({ body: 'done' })),
        ),
      );
      await fetchText(server.url, { method: 'POST', body: 'abc' });
      expect(second).to.include({ code: 'RXJET_ERR_BODY_CONSUMED', name: 'BodyConsumedError' });
    });

    it('can be pulled with for await, and a slow consumer holds the upload back', async () => {
      let pulled = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let socket: { bytesRead: number } | undefined;
      const server = await start(async (req) => {
        socket = req.raw!.socket;
        let size = 0;
        for await (const chunk of req.body) {
          pulled++;
          size += chunk.byteLength;
          if (pulled === 1) await gate;
        }
        return { body: String(size) };
      });
      const total = 32 * 1024 * 1024;
      const client = fetchText(server.url, { method: 'POST', body: Buffer.alloc(total) });
      await until(() => pulled === 1, 'the first chunk to be pulled');
      const readWhilePaused = await settled(() => socket!.bytesRead);
      expect(readWhilePaused).to.be.lessThan(total / 2, 'the server stopped reading the upload');
      release();
      expect((await client).body).to.equal(String(total));
    });

    it('errors with a 413 HttpError past maxRequestBodySize', async () => {
      const server = await start(
        (req) =>
          req.body.pipe(
            toArray(),
            map(() => ({ body: 'read' })),
          ),
        {
          maxRequestBodySize: 10,
        },
      );
      const res = await fetchText(server.url, { method: 'POST', body: 'x'.repeat(11) });
      expect(res.status).to.equal(413);
      const { received } = await rawExchange(
        server.port,
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n',
      );
      expect(received).to.match(/^HTTP\/1.1 413/);
    });
  });

  describe('text', () => {
    it('decodes the body in its charset', async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body: `[${body}]` }))));
      const latin1 = Buffer.from('café', 'latin1');
      const res = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=ISO-8859-1' },
        body: latin1,
      });
      expect(res.body).to.equal('[café]');
    });

    it('answers 413 past the limit, at once when content-length says so', async () => {
      const server = await start((req) => text(req, { limit: 5 }).pipe(map((body) => ({ body }))));
      expect((await fetchText(server.url, { method: 'POST', body: '123456' })).status).to.equal(413);
      expect((await fetchText(server.url, { method: 'POST', body: '12345' })).body).to.equal('12345');
    });

    it('answers 413 past the server maxBodySize for a chunked body', async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body }))), { maxBodySize: 8 });
      const { received } = await rawExchange(
        server.port,
        'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nabcde\r\n5\r\nfghij\r\n0\r\n\r\n',
      );
      expect(received).to.match(/^HTTP\/1.1 413 Payload Too Large/);
      expect(received).to.include('The request body is larger than 8 bytes.');
    });

    it('answers 415 for a content-encoding', async () => {
      const server = await start((req) => text(req).pipe(map((body) => ({ body }))));
      const res = await fetchText(server.url, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: 'x' });
      expect([res.status, res.body]).to.deep.equal([415, 'Unsupported content encoding: gzip.']);
    });
  });

  describe('json', () => {
    const post = (url: string, body: string, type = 'application/json') =>
      fetchText(url, { method: 'POST', headers: { 'content-type': type }, body });

    it('parses a JSON body', async () => {
      const server = await start(echoJson);
      const res = await post(server.url, '{"a":[1,2,{"b":null}]}');
      expect(res.body).to.equal('{"a":[1,2,{"b":null}]}');
    });

    it('accepts +json media types', async () => {
      const server = await start(echoJson);
      expect((await post(server.url, '{"a":1}', 'application/merge-patch+json')).status).to.equal(200);
    });

    const bad: [string, string, string, number, string][] = [
      ['invalid JSON', '{"a":', 'application/json', 400, 'The body is not valid JSON'],
      ['an empty body', '', 'application/json', 400, 'The JSON body is empty.'],
      ['a __proto__ key', '{"a":{"__proto__":{"x":1}}}', 'application/json', 400, 'forbidden key: __proto__'],
      ['an escaped __proto__ key', '{"\\u005f_proto__":1}', 'application/json', 400, 'forbidden key: __proto__'],
      ['a constructor key', '{"constructor":{"prototype":{}}}', 'application/json', 400, 'forbidden key'],
      ['another content type', '{}', 'text/plain', 415, 'Unsupported content type: text/plain.'],
      ['no content type', '{}', '', 415, 'Unsupported content type: none given.'],
      ['another charset', '{}', 'application/json; charset=utf-16', 415, 'Unsupported charset for JSON: utf-16.'],
    ];
    for (const [what, body, type, status, message] of bad) {
      it(`answers ${status} for ${what}`, async () => {
        const server = await start(echoJson);
        const res = await fetchText(server.url, {
          method: 'POST',
          headers: type === '' ? {} : { 'content-type': type },
          body,
        });
        expect(res.status).to.equal(status);
        expect(res.body).to.include(message);
        expect(server.errors).to.have.length(0);
      });
    }

    it('answers 400 for invalid UTF-8', async () => {
      const server = await start(echoJson);
      const res = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from([0x22, 0xff, 0xfe, 0x22]),
      });
      expect([res.status, res.body]).to.deep.equal([400, 'The request body is not valid utf-8.']);
    });

    it('lets a handler turn its errors into other answers', async () => {
      const server = await start((req) =>
        json(req).pipe(
          map(() => ({ body: 'parsed' })),
          catchError((error: unknown) => of({ status: 422, body: (error as HttpError).message })),
        ),
      );
      const res = await post(server.url, 'nope');
      expect(res.status).to.equal(422);
    });
  });

  describe('form', () => {
    it('parses urlencoded fields, repeated names into arrays (Jet 18, 19)', async () => {
      const server = await start((req) => form(req).pipe(map((fields) => ({ body: JSON.stringify(fields) }))));
      for (const method of ['POST', 'PUT']) {
        const res = await fetchText(server.url, {
          method,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'foo=bar&tag=a&tag=b&sp=a+b%21',
        });
        expect(JSON.parse(res.body)).to.deep.equal({ foo: 'bar', tag: ['a', 'b'], sp: 'a b!' });
      }
    });

    it('answers 400 for a __proto__ field and 415 for another content type', async () => {
      const server = await start((req) => form(req).pipe(map(() => ({ body: 'ok' }))));
      const poisoned = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '__proto__=x',
      });
      expect(poisoned.status).to.equal(400);
      const wrong = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'a=b',
      });
      expect(wrong.status).to.equal(415);
    });

    it('reads each body once even when several helpers are tried', async () => {
      const server = await start((req) =>
        defer(() => from(text(req))).pipe(
          concatMap(() => form(req)),
          map(() => ({ body: 'twice' })),
          catchError((error: unknown) => of({ status: 409, body: (error as Error).name })),
        ),
      );
      const res = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'a=b',
      });
      expect([res.status, res.body]).to.deep.equal([409, 'BodyConsumedError']);
    });
  });
});
