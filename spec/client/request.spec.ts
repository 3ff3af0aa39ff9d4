import { expect } from 'chai';
import { once } from 'node:events';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, of, take, toArray } from 'rxjs';
import { Agent } from 'undici';
import { createClient, del, get, head, post, put, request, retrying, type Client } from '../../src/client/index.js';
import { settled, stalledPort, until, within } from '../helpers.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A plain node:http server on 127.0.0.1, port 0, counting requests. */
async function plainServer(handler: Handler): Promise<{ url: string; server: http.Server; requests: () => number }> {
  let count = 0;
  const server = http.createServer((req, res) => {
    count++;
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests: () => count };
}

/** Echoes the request: method, url, headers and body as JSON. */
const echo: Handler = (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-method', req.method!);
    res.end(
      JSON.stringify({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      }),
    );
  });
};

interface Echoed {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

describe('HTTP client', function () {
  this.timeout(30_000);
  let client: Client;
  const servers: http.Server[] = [];
  const serve = async (handler: Handler) => {
    const s = await plainServer(handler);
    servers.push(s.server);
    return s;
  };

  beforeEach(() => {
    client = createClient();
  });
  afterEach(async () => {
    await client.close();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  describe('requests', () => {
    it('is cold: sends nothing before subscribe, and again for each subscription', async () => {
      const { url, requests } = await serve(echo);
      const response$ = get(client, url, { as: 'text' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(requests()).to.equal(0);
      await firstValueFrom(response$);
      await firstValueFrom(response$);
      expect(requests()).to.equal(2);
    });

    it('closes once: close() called again gives the same Promise, and a closed client refuses requests', async () => {
      const { url } = await serve(echo);
      const own = createClient();
      await firstValueFrom(get(own, url, { as: 'text' }));
      const first = own.close();
      expect(own.close()).to.equal(first);
      await first;
      await own.close();
      const refused = await firstValueFrom(get(own, url)).catch((e: unknown) => e);
      expect(refused).to.include({ code: 'RXJET_ERR_NETWORK' });
    });

    it('emits non-2xx statuses as responses', async () => {
      const { url } = await serve((_, res) => res.writeHead(503, { 'retry-after': '1' }).end('busy'));
      const res = await firstValueFrom(get(client, url, { as: 'text' }));
      expect([res.status, res.headers['retry-after'], res.body]).to.deep.equal([503, '1', 'busy']);
    });

    it('merges query parameters, headers and credentials into the request', async () => {
      const { url } = await serve(echo);
      const res = await firstValueFrom(
        get(client, `${url}/a?x=1`, {
          query: { y: 2, tag: ['a', 'b'] },
          headers: { 'X-Custom': 'yes' },
          basicAuth: ['user', 'pa:ss'],
          as: 'json',
        }),
      );
      const seen = res.body as Echoed;
      expect(seen.url).to.equal('/a?x=1&y=2&tag=a&tag=b');
      expect(seen.headers['x-custom']).to.equal('yes');
      expect(seen.headers.authorization).to.equal(`Basic ${Buffer.from('user:pa:ss').toString('base64')}`);
      const bearer = await firstValueFrom(get(client, url, { bearer: 't0k', as: 'json' }));
      expect((bearer.body as Echoed).headers.authorization).to.equal('Bearer t0k');
    });

    it('resolves relative URLs against baseUrl and sends default headers', async () => {
      const { url } = await serve(echo);
      const based = createClient({ baseUrl: `${url}/api/`, headers: { 'User-Agent': 'rxjet-test' } });
      try {
        const res = await firstValueFrom(get(based, 'items', { as: 'json' }));
        expect((res.body as Echoed).url).to.equal('/api/items');
        expect((res.body as Echoed).headers['user-agent']).to.equal('rxjet-test');
      } finally {
        await based.close();
      }
    });

    it('sends form params on POST and PUT (Jet 18, 19)', async () => {
      const { url } = await serve(echo);
      for (const method of [post, put]) {
        const res = await firstValueFrom(method(client, url, { formParams: { foo: 'bar', n: [1, 2] }, as: 'json' }));
        const seen = res.body as Echoed;
        expect(seen.body).to.equal('foo=bar&n=1&n=2');
        expect(seen.headers['content-type']).to.equal('application/x-www-form-urlencoded');
      }
    });

    it('streams an Observable request body (Jet 20)', async () => {
      const { url } = await serve(echo);
      const res = await firstValueFrom(post(client, url, { body: of('bar', 'baz'), as: 'json' }));
      expect((res.body as Echoed).body).to.equal('barbaz');
      expect((res.body as Echoed).headers['transfer-encoding']).to.equal('chunked');
    });

    it('sends multipart fields and files with a random boundary', async () => {
      const { url } = await serve(echo);
      const send = () =>
        firstValueFrom(
          post(client, url, {
            multipart: {
              title: 'hello',
              tag: ['a', 'b'],
              file: { value: Buffer.from('file body'), filename: 'notes.txt', contentType: 'text/plain' },
            },
            as: 'json',
          }),
        );
      const first = (await send()).body as Echoed;
      const boundary = /boundary=(.+)$/.exec(first.headers['content-type']!)![1]!;
      expect(first.headers['content-type']).to.match(/^multipart\/form-data; boundary=/);
      expect(first.body).to.include(`--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nhello\r\n`);
      expect(first.body.match(/name="tag"/g)).to.have.length(2);
      expect(first.body).to.include('name="file"; filename="notes.txt"\r\nContent-Type: text/plain\r\n\r\nfile body');
      const second = (await send()).body as Echoed;
      expect(second.headers['content-type']).not.to.equal(first.headers['content-type']);
    });

    it('sends JSON with its content type', async () => {
      const { url } = await serve(echo);
      const res = await firstValueFrom(post(client, url, { json: { a: [1, 'b'] }, as: 'json' }));
      expect((res.body as Echoed).body).to.equal('{"a":[1,"b"]}');
      expect((res.body as Echoed).headers['content-type']).to.equal('application/json');
    });

    it('sends HEAD, DELETE and TRACE (Jet 21-23)', async () => {
      const { url } = await serve(echo);
      const heads = await firstValueFrom(head(client, url, { as: 'text' }));
      expect([heads.headers['x-method'], heads.body]).to.deep.equal(['HEAD', '']);
      expect((await firstValueFrom(del(client, url, { as: 'json' }))).headers['x-method']).to.equal('DELETE');
      expect(
        (await firstValueFrom(request(client, { method: 'TRACE', url, as: 'json' }))).headers['x-method'],
      ).to.equal('TRACE');
    });

    it('decodes JSON (Jet 24, 25) and bytes', async () => {
      const { url } = await serve((_, res) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"foo": 1}'),
      );
      expect((await firstValueFrom(get(client, url, { as: 'json' }))).body).to.deep.equal({ foo: 1 });
      const bytes = (await firstValueFrom(get(client, url, { as: 'bytes' }))).body;
      expect(bytes).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(bytes).toString()).to.equal('{"foo": 1}');
    });
  });

  describe('streaming bodies', () => {
    const chunked: Handler = (_, res) => {
      res.writeHead(201, { 'content-type': 'foo' });
      let i = 0;
      const tick = setInterval(() => {
        res.write(String(i++));
        if (i === 2048) {
          clearInterval(tick);
          res.end();
        }
      }, 5);
      res.on('close', () => clearInterval(tick));
    };

    it('emits each chunk as it arrives, in order (Jet 14)', async () => {
      const { url } = await serve(chunked);
      const res = await firstValueFrom(get(client, url));
      expect(res.status).to.equal(201);
      const chunks = await lastValueFrom(res.body.pipe(toArray()));
      expect(chunks.map((c) => Buffer.from(c).toString())).to.deep.equal(
        Array.from({ length: 2048 }, (_, i) => String(i)),
      );
    });

    it('folds the same stream whole with as: "text" (Jet 15)', async () => {
      const { url } = await serve(chunked);
      const res = await firstValueFrom(get(client, url, { as: 'text' }));
      expect(res.body).to.equal(Array.from({ length: 2048 }, (_, i) => String(i)).join(''));
    });

    it('lets a slow consumer that pulls with for await hold the server back', async () => {
      let written = 0;
      const { url } = await serve((_, res) => {
        const chunk = Buffer.alloc(64 * 1024);
        const pump = (): void => {
          while (written < 1024) {
            written++;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
      const res = await firstValueFrom(get(client, url));
      const iterator = res.body[Symbol.asyncIterator]();
      await iterator.next();
      const stalledAt = await settled(() => written);
      expect(stalledAt).to.be.lessThan(512, 'the server waited for the client');
      let received = 0;
      for (let step = await iterator.next(); step.done !== true; step = await iterator.next()) received++;
      expect(written).to.equal(1024);
      expect(received).to.be.greaterThan(0);
    });

    it('aborts the response and frees the connection when the body is unsubscribed', async () => {
      let closed = false;
      const { url } = await serve((req, res) => {
        res.writeHead(200);
        res.write('first');
        res.on('close', () => (closed = true));
      });
      const res = await firstValueFrom(get(client, url));
      // take(1) unsubscribes from the body after its first chunk, even one delivered during subscribe
      const first = Buffer.from(await firstValueFrom(res.body.pipe(take(1)))).toString();
      expect(first).to.equal('first');
      await until(() => closed, 'the server to see the connection close');
    });

    it('releases bodies nobody reads, so a small pool never starves (2000 requests)', async () => {
      const small = createClient({ connections: 2 });
      const { url } = await serve((_, res) => res.end('unread body'));
      try {
        for (let i = 0; i < 2000; i++) await firstValueFrom(get(small, url));
      } finally {
        await small.close();
      }
    });

    it('errors a second read of a body with BodyConsumedError', async () => {
      const { url } = await serve((_, res) => res.end('once'));
      const res = await firstValueFrom(get(client, url));
      await lastValueFrom(res.body);
      const error = await lastValueFrom(res.body).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_BODY_CONSUMED' });
    });
  });

  describe('progress', () => {
    it('reports upload and download progress with totals when known', async () => {
      const { url } = await serve((req, res) => {
        let size = 0;
        req.on('data', (c: Buffer) => (size += c.length));
        req.on('end', () => res.end(Buffer.alloc(200 * 1024, String(size % 10))));
      });
      const steps: { direction: string; bytes: number; total: number | undefined }[] = [];
      const res = await firstValueFrom(
        post(client, url, { body: Buffer.alloc(150 * 1024), progress: (p) => steps.push(p), as: 'bytes' }),
      );
      expect(res.body.byteLength).to.equal(200 * 1024);
      const uploads = steps.filter((s) => s.direction === 'upload');
      const downloads = steps.filter((s) => s.direction === 'download');
      expect(uploads.map((s) => s.bytes)).to.deep.equal([64 * 1024, 128 * 1024, 150 * 1024]);
      expect(uploads.every((s) => s.total === 150 * 1024)).to.equal(true);
      expect(downloads.at(-1)).to.deep.equal({ direction: 'download', bytes: 200 * 1024, total: 200 * 1024 });
      expect(downloads.map((s) => s.bytes)).to.deep.equal([...downloads.map((s) => s.bytes)].sort((a, b) => a - b));
    });
  });

  describe('retries', () => {
    it('sends a GET again after 503s and gives the success; never sends a POST twice', async () => {
      let n = 0;
      const { url, requests } = await serve((_, res) =>
        ++n % 3 === 0 ? res.end('finally') : res.writeHead(503).end('busy'),
      );
      const res = await firstValueFrom(get(client, url, { retry: { count: 3, initial: 5 }, as: 'text' }));
      expect([res.status, res.body, requests()]).to.deep.equal([200, 'finally', 3]);
      const posted = await firstValueFrom(post(client, url, { retry: 3, as: 'text' }));
      expect([posted.status, requests()]).to.deep.equal([503, 4]);
      // the same as an operator: the 5th request is a 503, the 6th succeeds
      const piped = await firstValueFrom(get(client, url, { as: 'text' }).pipe(retrying({ count: 3, initial: 5 })));
      expect([piped.status, piped.body, requests()]).to.deep.equal([200, 'finally', 6]);
      const postedPiped = await firstValueFrom(post(client, url).pipe(retrying(3)));
      expect([postedPiped.status, requests()]).to.deep.equal([503, 7]);
    });

    it('sends a GET again after a refused connection, then fails with the NetworkError', async () => {
      const { url, server } = await serve(echo);
      server.close();
      await once(server, 'close');
      const started = Date.now();
      const error = await firstValueFrom(get(client, url, { retry: { count: 2, initial: 20, jitter: 0 } })).catch(
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'RXJET_ERR_NETWORK' });
      expect(Date.now() - started).to.be.at.least(55); // waited 20 + 40 ms between the three attempts
    });
  });

  describe('failures', () => {
    it('aborts the request when unsubscribed before the response, and the server sees it', async () => {
      let serverSawClose = false;
      let arrived = false;
      const { url } = await serve((req) => {
        arrived = true;
        req.on('close', () => (serverSawClose = true));
      });
      const subscription = get(client, url).subscribe();
      await until(() => arrived, 'the request to arrive');
      subscription.unsubscribe();
      await until(() => serverSawClose, 'the server to see the abort');
    });

    it('fails with a NetworkError when the connection is refused', async () => {
      const { url, server } = await serve(echo);
      server.close();
      await once(server, 'close');
      const error = await firstValueFrom(get(client, url)).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url: `${url}/` });
      expect((error as Error).cause).to.include({ code: 'ECONNREFUSED' });
    });

    it("fails with a TimeoutError naming the connect phase: the client's, and a shorter one per request", async () => {
      const stalled = await stalledPort();
      const url = `http://127.0.0.1:${stalled.port}/`;
      const quick = createClient({ timeout: { connect: 200 } });
      try {
        const error = await firstValueFrom(get(quick, url)).catch((e: unknown) => e);
        expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'connect', timeout: 200, url });
        const own = await firstValueFrom(get(client, url, { timeout: { connect: 150 } })).catch((e: unknown) => e);
        expect(own).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'connect', timeout: 150, url });
      } finally {
        stalled.close();
        await quick.close();
      }
    });

    it("counts the wait for a free connection of the pool in a request's connect timeout", async () => {
      const one = createClient({ connections: 1 });
      let arrived = 0;
      const { url } = await serve(() => {
        arrived++;
      }); // never answers: the one connection stays busy
      try {
        const busy = get(one, url).subscribe({ error: () => undefined });
        await until(() => arrived === 1, 'the first request to arrive');
        const error = await firstValueFrom(get(one, url, { timeout: { connect: 150 } })).catch((e: unknown) => e);
        expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'connect', timeout: 150 });
        expect(arrived).to.equal(1);
        busy.unsubscribe();
      } finally {
        await one.close();
      }
    });

    it('fails with a TimeoutError naming the headers phase', async () => {
      const { url } = await serve(() => undefined);
      const error = await firstValueFrom(get(client, url, { timeout: { headers: 200 } })).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'headers', timeout: 200 });
    });

    it('errors the body with a TimeoutError naming the body phase', async () => {
      const { url } = await serve((_, res) => {
        res.writeHead(200);
        res.write('start');
      });
      const res = await firstValueFrom(get(client, url, { timeout: { body: 200 } }));
      const error = await lastValueFrom(res.body).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'body' });
    });

    it('fails with a TimeoutError for the total when timeout is a number', async () => {
      const { url } = await serve(() => undefined);
      const error = await firstValueFrom(get(client, url, { timeout: 150 })).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'total', timeout: 150 });
    });

    it('fails with an AbortError when the signal aborts', async () => {
      const { url } = await serve(() => undefined);
      const controller = new AbortController();
      const pending = firstValueFrom(get(client, url, { signal: controller.signal })).catch((e: unknown) => e);
      setTimeout(() => controller.abort(), 20);
      expect(await within(5000, pending, 'the abort')).to.include({ code: 'RXJET_ERR_ABORTED' });
    });

    it('fails with a DecodeError for invalid JSON', async () => {
      const { url } = await serve((_, res) => res.end('{nope'));
      const error = await firstValueFrom(get(client, url, { as: 'json' })).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_DECODE' });
    });

    it('fails with a ResponseTooLargeError past maxResponseSize, declared or streamed', async () => {
      const small = createClient({ maxResponseSize: 1024 });
      const declared = await serve((_, res) => res.end('x'.repeat(2048)));
      const streamed = await serve((_, res) => {
        res.write('x'.repeat(1000));
        res.end('x'.repeat(1000));
      });
      try {
        for (const { url } of [declared, streamed]) {
          const error = await firstValueFrom(get(small, url, { as: 'text' })).catch((e: unknown) => e);
          expect(error).to.include({ code: 'RXJET_ERR_RESPONSE_TOO_LARGE', limit: 1024 });
        }
      } finally {
        await small.close();
      }
    });

    it('checks its options at call time', () => {
      expect(() => get(client, 'ftp://example.com')).to.throw('Invalid option "url"');
      expect(() => get(client, '/relative')).to.throw('Invalid option "url"');
      expect(() => get(client, 'http://127.0.0.1:1', { as: 'xml' as never })).to.throw('Invalid option "as"');
      expect(() => get(client, 'http://127.0.0.1:1', { json: 1, body: 'x' })).to.throw('Invalid option "body"');
      expect(() => get(client, 'http://127.0.0.1:1', { json: 1, multipart: { a: 'b' } })).to.throw(
        'Invalid option "body"',
      );
      expect(() => get(client, 'http://127.0.0.1:1', { timeout: { connect: 60_000 } })).to.throw(
        'Invalid option "timeout.connect"',
      );
      expect(() => createClient({ dispatcher: {} as never })).to.throw('Invalid option "dispatcher"');
      expect(() => createClient({ dispatcher: new Agent(), connections: 2 })).to.throw('Invalid option "connections"');
      expect(() => get(client, 'http://127.0.0.1:1', { headers: { 'x-bad': 'a\r\nb' } })).to.throw(
        'Invalid option "headers.x-bad"',
      );
      expect(() => createClient({ timeout: { headers: -1 } })).to.throw('Invalid option "headers"');
      expect(() => createClient({ bogus: 1 } as never)).to.throw('Invalid option "bogus"');
    });
  });
});
