import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http, { type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { lastValueFrom, map, Observable, Subject } from 'rxjs';
import WebSocket from 'ws';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { compress, compressible, type CompressOptions } from '../../src/middleware/index.js';
import { router } from '../../src/router/index.js';
import { HttpError, sse, type Handler, type JetResponse } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, settled, start, until, within } from '../helpers.js';

/** About 3 KB of text: over the default threshold, and it compresses well. */
const text = 'rxjet compresses this line, and the next one too.\n'.repeat(60);
const plain = { 'content-type': 'text/plain; charset=utf-8' };

/** A response as one client saw it, its body decoded by its content-encoding. */
interface Seen {
  status: number;
  encoding: string | undefined;
  vary: string | undefined;
  etag: string | undefined;
  length: string | undefined;
  acceptRanges: string | undefined;
  body: string;
}

function decode(raw: Buffer, encoding: string | undefined): Buffer {
  if (encoding === 'gzip') return zlib.gunzipSync(raw);
  if (encoding === 'deflate') return zlib.inflateSync(raw);
  if (encoding === 'br') return zlib.brotliDecompressSync(raw);
  return raw;
}

function seen(status: number, headers: IncomingHttpHeaders | Record<string, string | string[]>, raw: Buffer): Seen {
  const one = (name: string): string | undefined => {
    const value = headers[name];
    // node:http joins a repeated header with ', '; inject gives an array: the same to compare.
    return Array.isArray(value) ? value.join(', ') : value;
  };
  return {
    status,
    encoding: one('content-encoding'),
    vary: one('vary'),
    etag: one('etag'),
    length: one('content-length'),
    acceptRanges: one('accept-ranges'),
    body: decode(raw, one('content-encoding')).toString('utf8'),
  };
}

interface Ask {
  method?: string;
  headers?: Record<string, string>;
}

/** One request with node:http, read whole, raw. */
async function viaHttp(url: string, ask: Ask): Promise<Seen> {
  const req = http.request(url, { method: ask.method ?? 'GET', headers: ask.headers, agent: false });
  req.end();
  const [res] = (await within(5000, once(req, 'response'), 'the response head')) as [http.IncomingMessage];
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  await within(5000, once(res, 'end'), 'the response body');
  return seen(res.statusCode!, res.headers, Buffer.concat(chunks));
}

/** The same request through inject. */
async function viaInject(handler: Handler, ask: Ask): Promise<Seen> {
  const res = await lastValueFrom(
    inject(handler, mockRequest({ method: ask.method ?? 'GET', url: '/x', headers: ask.headers ?? {} })),
  );
  return seen(res.status, res.headers, Buffer.from(res.rawBody));
}

/**
 * What `/x` answers with compress in the router's `use` and in the route's own `use`, each
 * served to node:http and injected: all four must agree, and that answer is returned.
 */
async function answer(handler: Handler, ask: Ask = {}, options?: CompressOptions): Promise<Seen> {
  const apps = [
    router().use(compress(options)).get('/x', handler),
    router().get('/x', handler, { use: [compress(options)] }),
  ];
  const answers: Seen[] = [];
  for (const app of apps) {
    const server = await start(app);
    answers.push(await viaHttp(`${server.url}/x`, ask), await viaInject(app, ask));
  }
  for (const other of answers.slice(1)) expect(other).to.deep.equal(answers[0]);
  return answers[0]!;
}

const accepting = (ask: string): Ask => ({ headers: { 'accept-encoding': ask } });

/** curl against `url`: its status, headers (lower-case names) and body as written. */
async function curl(
  url: string,
  args: string[],
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-compress-'));
  try {
    const head = path.join(dir, 'head');
    const body = path.join(dir, 'body');
    await promisify(execFile)('curl', ['-sS', '-D', head, '-o', body, ...args, url]);
    const lines = (await readFile(head, 'latin1')).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    return { status: Number(lines[0]!.split(' ')[1]), headers, body: await readFile(body) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('compress', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  describe('negotiation', () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      it(`compresses a whole body with ${encoding} when asked, decoded to the same bytes`, async () => {
        const got = await answer(() => ({ headers: plain, body: text }), accepting(encoding));
        expect(got.encoding).to.equal(encoding);
        expect(got.body).to.equal(text);
        expect(Number(got.length)).to.be.within(1, text.length / 4);
        expect(got.vary).to.equal('Accept-Encoding');
      });
    }

    it('answers curl --compressed with br, which curl decodes to the same bytes', async () => {
      const bytes = randomText(50_000);
      const server = await start(
        router()
          .use(compress())
          .get('/x', () => ({ headers: plain, body: bytes })),
      );
      const got = await curl(`${server.url}/x`, ['--compressed']);
      expect(got.status).to.equal(200);
      expect(got.headers['content-encoding']).to.equal('br');
      expect(got.headers.vary).to.equal('Accept-Encoding');
      expect(got.body.toString('utf8')).to.equal(bytes);
    });

    // Accept-Encoding as curl sends it, and the coding it must get.
    const cases: [string, string | undefined][] = [
      ['gzip;q=0', undefined],
      ['gzip;q=0, deflate', 'deflate'],
      ['br;q=0.5, gzip;q=1', 'gzip'],
      ['br;q=0.5,gzip;q=1', 'gzip'],
      ['identity', undefined],
      ['identity;q=0, gzip;q=0.1', 'gzip'],
      ['gzip;q=0.5, identity;q=0.8', undefined],
      ['*', 'br'],
      ['*;q=0', undefined],
      ['*, br;q=0', 'gzip'],
      ['gzip, deflate, br', 'br'],
      ['deflate, gzip', 'gzip'],
      ['x-compress, gzip;q=0.2, deflate;q=0.3', 'deflate'],
      ['GZIP', 'gzip'],
    ];
    for (const [asked, expected] of cases) {
      it(`answers "Accept-Encoding: ${asked}" ${expected === undefined ? 'uncompressed' : `with ${expected}`}, as curl sees it`, async () => {
        const server = await start(
          router()
            .use(compress())
            .get('/x', () => ({ headers: plain, body: text })),
        );
        const got = await curl(`${server.url}/x`, ['-H', `Accept-Encoding: ${asked}`]);
        expect(got.headers['content-encoding']).to.equal(expected);
        expect(got.headers.vary).to.equal('Accept-Encoding');
        expect(decode(got.body, expected).toString('utf8')).to.equal(text);
        const injected = await viaInject(
          router()
            .use(compress())
            .get('/x', () => ({ headers: plain, body: text })),
          {
            headers: { 'accept-encoding': asked },
          },
        );
        expect(injected.encoding).to.equal(expected);
      });
    }

    it('sends the body as it is, with Vary, to a request without Accept-Encoding', async () => {
      const got = await answer(() => ({ headers: plain, body: text }));
      expect(got).to.include({ encoding: undefined, vary: 'Accept-Encoding', length: String(text.length), body: text });
    });

    it('offers only the listed encodings, preferring them in the order given at equal q', async () => {
      const mine = { encodings: ['gzip', 'br'] } as const;
      expect(
        (await answer(() => ({ headers: plain, body: text }), accepting('br, gzip, deflate'), mine)).encoding,
      ).to.equal('gzip');
      expect((await answer(() => ({ headers: plain, body: text }), accepting('deflate'), mine)).encoding).to.equal(
        undefined,
      );
    });

    it('compresses at the level and quality given: gzip level 0 stores, brotli quality 11 is no larger than 0', async () => {
      const handler: Handler = () => ({ headers: plain, body: text });
      const stored = await answer(handler, accepting('gzip'), { level: 0 });
      expect(Number(stored.length)).to.be.greaterThan(text.length);
      const fast = await answer(handler, accepting('br'), { brotliQuality: 0 });
      const best = await answer(handler, accepting('br'), { brotliQuality: 11 });
      expect(Number(best.length)).to.be.at.most(Number(fast.length));
      expect(best.body).to.equal(text);
    });
  });

  describe('threshold', () => {
    it('sends a 1023-byte body as it is and compresses a 1025-byte one (default 1024)', async () => {
      const small = await answer(() => ({ headers: plain, body: 'a'.repeat(1023) }), accepting('gzip'));
      expect(small).to.include({ encoding: undefined, vary: undefined, length: '1023' });
      const large = await answer(() => ({ headers: plain, body: 'a'.repeat(1025) }), accepting('gzip'));
      expect(large).to.include({ encoding: 'gzip', vary: 'Accept-Encoding', body: 'a'.repeat(1025) });
      const exact = await answer(() => ({ headers: plain, body: Buffer.alloc(1024, 'b') }), accepting('gzip'));
      expect(exact.encoding).to.equal('gzip');
    });

    it('takes its own threshold, and leaves streams declaring a content-length below it alone', async () => {
      const tiny = await answer(() => ({ headers: plain, body: 'tiny' }), accepting('gzip'), { threshold: 0 });
      expect(tiny).to.include({ encoding: 'gzip', body: 'tiny' });
      const declared = await answer(
        () => ({ headers: { ...plain, 'content-length': '5' }, body: Readable.from(['short']) }),
        accepting('gzip'),
      );
      expect(declared).to.include({ encoding: undefined, length: '5', body: 'short' });
    });
  });

  describe('streaming bodies', () => {
    for (const encoding of ['gzip', 'br']) {
      it(`delivers an sse() stream event by event through ${encoding}, each decoded before the next is sent`, async () => {
        const events = new Subject<string>();
        const server = await start(
          router()
            .use(compress())
            .get('/events', () => sse(events)),
        );
        const req = http.get(`${server.url}/events`, { headers: { 'accept-encoding': encoding }, agent: false });
        const [res] = (await within(5000, once(req, 'response'), 'the head')) as [http.IncomingMessage];
        expect(res.headers['content-encoding']).to.equal(encoding);
        expect(res.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
        const decoder = encoding === 'gzip' ? zlib.createGunzip() : zlib.createBrotliDecompress();
        decoder.on('error', () => undefined); // the stream is cut at the end: no trailer to check
        req.on('error', () => undefined);
        let decoded = '';
        decoder.on('data', (chunk: Buffer) => (decoded += chunk.toString('utf8')));
        res.pipe(decoder);
        for (const name of ['one', 'two', 'three']) {
          events.next(name);
          await until(() => decoded.endsWith(`data: ${name}\n\n`), `event ${name} decoded by the client`);
        }
        expect(decoded).to.equal('data: one\n\ndata: two\n\ndata: three\n\n');
        req.destroy();
      });
    }

    it('ends a compressed sse() stream at once when the server closes, as an uncompressed one ends', async () => {
      const events = new Subject<string>();
      const server = await start(
        router()
          .use(compress())
          .get('/events', () => sse(events)),
      );
      const req = http.get(`${server.url}/events`, { headers: { 'accept-encoding': 'gzip' }, agent: false });
      req.on('error', () => undefined);
      const [res] = (await within(5000, once(req, 'response'), 'the head')) as [http.IncomingMessage];
      const decoder = zlib.createGunzip();
      decoder.on('error', () => undefined); // cut short by the close: the gzip trailer never comes
      let decoded = '';
      decoder.on('data', (chunk: Buffer) => (decoded += chunk.toString('utf8')));
      res.pipe(decoder);
      events.next('one');
      await until(() => decoded === 'data: one\n\n', 'the first event decoded');
      const ended = once(res, 'end');
      const closing = server.close({ timeout: 10_000 });
      await within(5000, ended, 'the response to end before close() times out');
      await within(5000, closing, 'close() to finish');
      expect(res.complete).to.equal(true);
      expect(events.observed).to.equal(false);
    });

    it('compresses Observable, async iterable and Readable bodies, as node:http and inject both decode them', async () => {
      const lines = Array.from({ length: 50 }, (_, i) => `line ${i} `.repeat(20) + '\n');
      const bodies: [string, () => JetResponse['body']][] = [
        [
          'an Observable',
          () =>
            new Observable<string>((subscriber) => {
              for (const line of lines) subscriber.next(line);
              subscriber.complete();
            }),
        ],
        [
          'an async iterable',
          () =>
            (async function* () {
              yield* lines;
            })(),
        ],
        ['a Readable', () => Readable.from(lines.map((l) => Buffer.from(l)))],
      ];
      for (const [, body] of bodies) {
        for (const encoding of ['gzip', 'deflate', 'br']) {
          const got = await answer(() => ({ headers: plain, body: body() }), accepting(encoding));
          expect(got).to.include({ encoding, length: undefined, body: lines.join('') });
        }
      }
    });

    it('pulls a compressed pull body only as fast as a paused client reads, then delivers it all', async () => {
      const chunkSize = 64 * 1024;
      const total = 512; // 32 MiB that gzip cannot shrink
      const pool = randomBytes(1024 * 1024);
      const chunkAt = (i: number): Buffer =>
        pool.subarray((i * chunkSize) % pool.length, ((i * chunkSize) % pool.length) + chunkSize);
      const expected = createHash('sha256');
      for (let i = 0; i < total; i++) expected.update(chunkAt(i));
      let produced = 0;
      const server = await start(
        router()
          .use(compress())
          .get('/random', () => ({
            headers: { 'content-type': 'application/json' },
            body: (async function* () {
              for (let i = 0; i < total; i++) {
                produced++;
                yield chunkAt(i);
              }
            })(),
          })),
      );
      const req = http.get(`${server.url}/random`, { headers: { 'accept-encoding': 'gzip' }, agent: false });
      const [res] = (await within(5000, once(req, 'response'), 'the head')) as [http.IncomingMessage];
      expect(res.headers['content-encoding']).to.equal('gzip');
      // The client reads nothing: the generator must stop short of half its 32 MiB, as it does uncompressed.
      const stalledAt = await settled(() => produced);
      expect(stalledAt).to.be.lessThan(total / 2, 'chunks produced while the client did not read');
      const hash = createHash('sha256');
      await within(
        20_000,
        pipeline(
          res,
          zlib.createGunzip(),
          new Writable({
            write(chunk: Buffer, _, done) {
              hash.update(chunk);
              done();
            },
          }),
        ),
        'the whole body',
      );
      expect(produced).to.equal(total);
      expect(hash.digest('hex')).to.equal(expected.digest('hex'));
    });

    it('unsubscribes an Observable body when the client disconnects mid-stream', async () => {
      let tornDown = false;
      const body = new Observable<string>((subscriber) => {
        subscriber.next(text);
        return () => (tornDown = true);
      });
      const server = await start(
        router()
          .use(compress())
          .get('/x', () => ({ headers: plain, body })),
      );
      await readThenLeave(`${server.url}/x`);
      await until(() => tornDown, 'the body teardown');
    });

    it('returns an async iterable body and destroys a Readable body when the client disconnects mid-stream', async () => {
      let returned = false;
      const readable = new Readable({ read: () => undefined });
      readable.push(text);
      const server = await start(
        router()
          .use(compress())
          .get('/iterable', () => ({
            headers: plain,
            body: (async function* () {
              try {
                for (;;) yield text;
              } finally {
                returned = true;
              }
            })(),
          }))
          .get('/readable', () => ({ headers: plain, body: readable })),
      );
      await readThenLeave(`${server.url}/iterable`);
      await until(() => returned, 'the generator to be returned');
      await readThenLeave(`${server.url}/readable`);
      await until(() => readable.destroyed, 'the Readable to be destroyed');
    });
  });

  describe('responses left as they are', () => {
    it('answers HEAD as GET would be without compression: no content-encoding, the plain length', async () => {
      const got = await answer(() => ({ headers: plain, body: text }), {
        method: 'HEAD',
        headers: { 'accept-encoding': 'gzip' },
      });
      expect(got).to.include({
        status: 200,
        encoding: undefined,
        vary: undefined,
        length: String(text.length),
        body: '',
      });
    });

    it('leaves 204, 304 and 206 answers alone', async () => {
      for (const status of [204, 304]) {
        const got = await answer(() => ({ status, headers: { ...plain, etag: '"v1"' } }), accepting('gzip'));
        expect(got).to.include({ status, encoding: undefined, vary: undefined, etag: '"v1"' });
      }
      const partial = text.slice(0, 2000);
      const got = await answer(
        () => ({ status: 206, headers: { ...plain, 'content-range': `bytes 0-1999/${text.length}` }, body: partial }),
        accepting('gzip'),
      );
      expect(got).to.include({ status: 206, encoding: undefined, vary: undefined, length: '2000', body: partial });
    });

    it('leaves a body that already has a content-encoding as it is', async () => {
      const gzipped = zlib.gzipSync(text);
      const got = await answer(
        () => ({ headers: { ...plain, 'Content-Encoding': 'gzip' }, body: gzipped }),
        accepting('br, deflate'),
      );
      expect(got).to.include({ encoding: 'gzip', vary: undefined, length: String(gzipped.length), body: text });
    });

    it('leaves images, archives and cache-control: no-transform responses alone', async () => {
      const bytes = Buffer.alloc(4096, 1);
      for (const type of ['image/png', 'video/mp4', 'application/zip', 'font/woff2', 'application/octet-stream']) {
        const got = await answer(() => ({ headers: { 'content-type': type }, body: bytes }), accepting('gzip'));
        expect(got, type).to.include({ encoding: undefined, vary: undefined, length: '4096' });
      }
      const got = await answer(
        () => ({ headers: { ...plain, 'Cache-Control': 'public, No-Transform' }, body: text }),
        accepting('gzip'),
      );
      expect(got).to.include({ encoding: undefined, vary: undefined, body: text });
    });

    it('compresses text, JSON, JavaScript, SVG, +json, +xml and WebAssembly, and a string without a type', async () => {
      for (const type of [
        'text/html; charset=utf-8',
        'text/css',
        'application/json',
        'application/javascript',
        'image/svg+xml',
        'application/problem+json',
        'application/atom+xml',
        'application/wasm',
      ]) {
        const got = await answer(() => ({ headers: { 'Content-Type': type }, body: text }), accepting('gzip'));
        expect(got.encoding, type).to.equal('gzip');
      }
      expect((await answer(() => ({ body: text }), accepting('gzip'))).encoding).to.equal('gzip');
      expect((await answer(() => ({ body: Buffer.from(text) }), accepting('gzip'))).encoding).to.equal(undefined);
    });

    it('lets a filter decide, with the default at hand as compressible()', async () => {
      const filter = (res: JetResponse): boolean =>
        compressible(res) || res.headers?.['content-type'] === 'application/x-trace';
      const trace = await answer(
        () => ({ headers: { 'content-type': 'application/x-trace' }, body: Buffer.from(text) }),
        accepting('gzip'),
        { filter },
      );
      expect(trace).to.include({ encoding: 'gzip', body: text });
      const never = await answer(() => ({ headers: plain, body: text }), accepting('gzip'), { filter: () => false });
      expect(never).to.include({ encoding: undefined, vary: undefined });
    });

    it('answers a throwing filter as a throwing handler: 500, reported', async () => {
      const server = await start(
        router()
          .use(
            compress({
              filter: () => {
                throw new Error('filter broke');
              },
            }),
          )
          .get('/x', () => ({ headers: plain, body: text })),
      );
      const got = await viaHttp(`${server.url}/x`, accepting('gzip'));
      expect(got.status).to.equal(500);
      expect(server.errors.map((e) => (e.cause instanceof Error ? e.cause : e).message)).to.deep.equal([
        'filter broke',
      ]);
    });

    it('passes errors from below through: an HttpError keeps its status and message', async () => {
      const got = await answer(() => {
        throw new HttpError(418, 'I am a teapot');
      }, accepting('gzip'));
      expect(got).to.include({ status: 418, encoding: undefined, body: 'I am a teapot' });
    });

    it('lets a { websocket } answer through: the upgrade still succeeds', async () => {
      const server = await start(
        router()
          .use(compress())
          .get('/chat', () => ({ websocket: (conn) => conn.in$.pipe(map((m) => `echo ${String(m)}`)) })),
      );
      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/chat`, { headers: { 'accept-encoding': 'gzip' } });
      await within(5000, once(ws, 'open'), 'the WebSocket to open');
      ws.send('hi');
      const [message] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
      expect(String(message)).to.equal('echo hi');
      ws.close();
    });
  });

  describe('headers', () => {
    it('merges Accept-Encoding into a Vary already there, whatever its case, once', async () => {
      const merged = await answer(() => ({ headers: { ...plain, Vary: 'Origin' }, body: text }), accepting('gzip'));
      expect(merged.vary).to.equal('Origin, Accept-Encoding');
      const listed = await answer(
        () => ({ headers: { ...plain, vary: ['Origin', 'accept-encoding'] }, body: text }),
        accepting('gzip'),
      );
      expect(listed.vary).to.equal('Origin, accept-encoding');
      const star = await answer(() => ({ headers: { ...plain, vary: '*' }, body: text }), accepting('identity'));
      expect(star.vary).to.equal('*');
    });

    it('makes a strong ETag weak when compressing, and keeps it strong when not', async () => {
      const handler: Handler = () => ({ headers: { ...plain, ETag: '"abc"' }, body: text });
      expect((await answer(handler, accepting('gzip'))).etag).to.equal('W/"abc"');
      expect((await answer(handler, accepting('identity'))).etag).to.equal('"abc"');
      const weak: Handler = () => ({ headers: { ...plain, etag: 'W/"abc"' }, body: text });
      expect((await answer(weak, accepting('br'))).etag).to.equal('W/"abc"');
    });

    it("replaces the handler's content-length with the compressed one and drops accept-ranges", async () => {
      const got = await answer(
        () => ({
          headers: { ...plain, 'Content-Length': String(text.length), 'accept-ranges': 'bytes' },
          body: text,
        }),
        accepting('gzip'),
      );
      expect(got.encoding).to.equal('gzip');
      expect(Number(got.length)).to.be.lessThan(text.length);
      expect(got.acceptRanges).to.equal(undefined);
      expect(got.body).to.equal(text);
    });
  });

  describe('options', () => {
    const bad: [string, unknown][] = [
      ['threshold', -1],
      ['threshold', 1.5],
      ['encodings', []],
      ['encodings', ['zstd']],
      ['encodings', ['gzip', 'gzip']],
      ['encodings', 'gzip'],
      ['level', 10],
      ['brotliQuality', 12],
      ['filter', 'text/*'],
      ['thresold', 10],
    ];
    for (const [name, value] of bad) {
      it(`throws InvalidOptionError for ${name}: ${JSON.stringify(value)}, at once`, () => {
        expect(() => compress({ [name]: value }))
          .to.throw(InvalidOptionError)
          .with.property('option', name);
      });
    }
  });
});

/** Text that compresses, but not to nothing. */
function randomText(size: number): string {
  return randomBytes(size / 2).toString('hex');
}

/** Requests `url` with gzip, waits for the first decoded bytes, then goes away. */
async function readThenLeave(url: string): Promise<void> {
  const req = http.get(url, { headers: { 'accept-encoding': 'gzip' }, agent: false });
  req.on('error', () => undefined);
  const [res] = (await within(5000, once(req, 'response'), 'the head')) as [http.IncomingMessage];
  expect(res.headers['content-encoding']).to.equal('gzip');
  const decoder = zlib.createGunzip();
  decoder.on('error', () => undefined);
  res.on('error', () => undefined);
  res.pipe(decoder);
  await within(5000, once(decoder, 'data'), 'the first decoded bytes');
  req.destroy();
}
