import { expect } from 'chai';
import { once } from 'node:events';
import { utimes, writeFile } from 'node:fs/promises';
import type http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { lastValueFrom, map } from 'rxjs';
import { request } from 'undici';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { serveStatic } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, settled, start, until } from '../helpers.js';
import { bigSize, bytesRead, curl, get, openHandles, staticTree, type StaticTree } from './static-files.js';

// Paths that try to leave the root: serve-static-paths.spec.ts.
describe('serveStatic', function () {
  this.timeout(30_000);
  let tree: StaticTree;
  let root: string;
  let big: Buffer;
  let routed: number;
  let plain: number;

  before(async () => {
    tree = await staticTree();
    ({ root, big } = tree);
  });

  after(() => tree.remove());

  beforeEach(async () => {
    routed = (await start(router().get('/assets/*', serveStatic(root)))).port;
    plain = (await start(serveStatic(root))).port;
  });

  afterEach(closeAll);

  describe('serving files', () => {
    it('serves a file under the root with its type, length and validators, routed and plain alike', async () => {
      for (const [port, target] of [
        [routed, '/assets/hello.txt'],
        [plain, '/hello.txt'],
      ] as const) {
        const res = await get(port, target);
        expect(res.status).to.equal(200);
        expect(res.body.toString()).to.equal('hello, world\n');
        expect(res.headers).to.include({
          'content-type': 'text/plain; charset=utf-8',
          'content-length': '13',
          'accept-ranges': 'bytes',
          'cache-control': 'public, max-age=0',
        });
        expect(res.headers.etag).to.match(/^W\/"d-[0-9a-f]+"$/);
        expect(Date.parse(res.headers['last-modified']!)).to.be.a('number').and.not.NaN;
      }
    });

    it('gives each extension its content type, with a charset for text', async () => {
      const types: Record<string, string> = {
        'page.html': 'text/html; charset=utf-8',
        'style.css': 'text/css; charset=utf-8',
        'app.js': 'text/javascript; charset=utf-8',
        'data.json': 'application/json; charset=utf-8',
        'pixel.png': 'image/png',
        LICENSE: 'application/octet-stream',
        'big.bin': 'application/octet-stream',
      };
      for (const [name, type] of Object.entries(types)) {
        const { statusCode, headers, body } = await request(`http://127.0.0.1:${routed}/assets/${name}`);
        await body.dump();
        expect([name, statusCode, headers['content-type']]).to.deep.equal([name, 200, type]);
      }
    });

    it('answers the same through inject as over a socket', async () => {
      const app = router().get('/assets/*', serveStatic(root));
      for (const [target, headers] of [
        ['/assets/hello.txt', {}],
        ['/assets/hello.txt', { 'if-none-match': '*' }],
        ['/assets/digits.txt', { range: 'bytes=2-5' }],
        ['/assets/digits.txt', { range: 'bytes=20-' }],
        ['/assets/sub', {}],
        ['/assets/sub/', {}],
        ['/assets/missing.txt', {}],
        ['/assets/.env', {}],
        ['/assets/%2e%2e/secret.txt', {}],
      ] as const) {
        const served = await get(routed, target, headers);
        const injected = await lastValueFrom(inject(app, mockRequest({ url: target, headers })));
        expect([target, injected.status, injected.body]).to.deep.equal([target, served.status, served.body.toString()]);
        for (const name of ['content-type', 'content-length', 'content-range', 'etag', 'location']) {
          expect(injected.headers[name], `${target} ${name}`).to.equal(served.headers[name]);
        }
      }
    });

    it('serves an empty file as an empty 200', async () => {
      const res = await get(routed, '/assets/empty.txt');
      expect([res.status, res.headers['content-length'], res.body.length]).to.deep.equal([200, '0', 0]);
    });

    it('serves the index of a folder asked with its slash, and redirects (301) the form without it', async () => {
      const index = await get(routed, '/assets/sub/');
      expect([index.status, index.headers['content-type'], index.body.toString()]).to.deep.equal([
        200,
        'text/html; charset=utf-8',
        '<h1>sub index</h1>',
      ]);
      const moved = await get(routed, '/assets/sub?v=2');
      expect([moved.status, moved.headers.location]).to.deep.equal([301, '/assets/sub/?v=2']);
      const top = await get(plain, '/');
      expect(top.status).to.equal(404); // the root has no index.html
      const followed = await curl(`http://127.0.0.1:${routed}/assets/sub`, '-L');
      expect(followed).to.deep.equal({ status: 200, body: '<h1>sub index</h1>' });
    });

    it('serves the index named by `index`, and no folder at all with `index: false`', async () => {
      const named = (await start(router().get('/assets/*', serveStatic(root, { index: 'home.htm' })))).port;
      expect((await get(named, '/assets/sub/')).body.toString()).to.equal('<h1>sub home</h1>');
      const none = (await start(router().get('/assets/*', serveStatic(root, { index: false })))).port;
      expect((await get(none, '/assets/sub/')).status).to.equal(404);
      expect((await get(none, '/assets/sub')).status).to.equal(404);
      expect((await get(routed, '/assets/bare/')).status).to.equal(404); // no index in it
      expect((await get(routed, '/assets/bare')).status).to.equal(404);
    });

    it('answers null for what is not there, for middleware to see as a 404 and a router to fall back from', async () => {
      // A middleware that answers 404s with a page of its own sees every kind of missing file.
      const page: Middleware = (req, next) =>
        next().pipe(map((res) => (res.status === 404 ? { status: 404, body: `no ${req.path}` } : res)));
      const port = (await start(router().use(page).get('/assets/*', serveStatic(root)))).port;
      for (const target of [
        '/assets/missing.txt',
        '/assets/hello.txt/',
        '/assets/loop',
        '/assets/pipe',
        '/assets/.env',
        '/assets/bare/',
      ]) {
        const res = await get(port, target);
        expect([res.status, res.body.toString()]).to.deep.equal([404, `no ${target}`]);
      }
      expect((await get(port, '/assets/hello.txt')).status).to.equal(200);
      // As a router's notFound: files for every path no route took, the router's 404 for the rest.
      const app = router({ notFound: serveStatic(root) }).get('/api/ping', () => ({ body: 'pong' }));
      const fallback = (await start(app)).port;
      expect((await get(fallback, '/api/ping')).body.toString()).to.equal('pong');
      expect((await get(fallback, '/hello.txt')).body.toString()).to.equal('hello, world\n');
      expect((await get(fallback, '/missing.txt')).status).to.equal(404);
    });

    it('runs inside a route’s own middleware, which sees its 304s and 206s too', async () => {
      const seen: number[] = [];
      const spy: Middleware = (req, next) => next().pipe(map((res) => (seen.push(res.status ?? 200), res)));
      const port = (await start(router().get('/assets/*', serveStatic(root), { use: [spy] }))).port;
      const first = await get(port, '/assets/digits.txt');
      await get(port, '/assets/digits.txt', { 'if-none-match': first.headers.etag! });
      await get(port, '/assets/digits.txt', { range: 'bytes=0-0' });
      expect(seen).to.deep.equal([200, 304, 206]);
    });

    it('answers HEAD with the headers only, without reading the file', async () => {
      const before = bytesRead();
      const res = await get(routed, '/assets/big.bin', {}, 'HEAD');
      const read = bytesRead() - before;
      expect([res.status, res.headers['content-length'], res.body.length]).to.deep.equal([200, String(bigSize), 0]);
      expect(read).to.be.lessThan(64 * 1024);
      // The measure sees a GET read it: the disk, then the client's socket.
      const whole = bytesRead();
      expect((await get(routed, '/assets/big.bin')).body.equals(big)).to.equal(true);
      expect(bytesRead() - whole).to.be.at.least(2 * bigSize);
    });

    it('answers methods other than GET and HEAD with 405 and Allow', async () => {
      const all = (await start(router().all('/assets/*', serveStatic(root)))).port;
      for (const port of [plain, all]) {
        const res = await get(port, port === plain ? '/hello.txt' : '/assets/hello.txt', {}, 'POST');
        expect([res.status, res.headers.allow]).to.deep.equal([405, 'GET, HEAD']);
      }
    });

    it('sends Cache-Control from `maxAge` and `immutable`', async () => {
      const port = (await start(serveStatic(root, { maxAge: 31_536_000, immutable: true }))).port;
      const res = await get(port, '/hello.txt');
      expect(res.headers['cache-control']).to.equal('public, max-age=31536000, immutable');
      const short = (await start(serveStatic(root, { maxAge: 60 }))).port;
      expect((await get(short, '/hello.txt')).headers['cache-control']).to.equal('public, max-age=60');
    });
  });

  describe('validators and ranges', () => {
    it('answers 304 to a matching If-None-Match, and 200 once the file changed', async () => {
      const file = path.join(root, 'changing.txt');
      await writeFile(file, 'v1');
      const first = await get(routed, '/assets/changing.txt');
      const etag = first.headers.etag!;
      for (const ifNoneMatch of [etag, etag.slice(2), `"other", ${etag}`, '*']) {
        const res = await get(routed, '/assets/changing.txt', { 'if-none-match': ifNoneMatch });
        expect([ifNoneMatch, res.status, res.body.length]).to.deep.equal([ifNoneMatch, 304, 0]);
        expect(res.headers.etag).to.equal(etag);
      }
      await writeFile(file, 'v2, longer');
      const changed = await get(routed, '/assets/changing.txt', { 'if-none-match': etag });
      expect([changed.status, changed.body.toString()]).to.deep.equal([200, 'v2, longer']);
      expect(changed.headers.etag).not.to.equal(etag);
    });

    it('answers 304 to If-Modified-Since at or after Last-Modified, unless If-None-Match differs', async () => {
      const file = path.join(root, 'dated.txt');
      await writeFile(file, 'dated');
      await utimes(file, new Date('2024-01-02T03:04:05.678Z'), new Date('2024-01-02T03:04:05.678Z'));
      const first = await get(routed, '/assets/dated.txt');
      expect(first.headers['last-modified']).to.equal('Tue, 02 Jan 2024 03:04:05 GMT');
      const current = { 'if-modified-since': 'Tue, 02 Jan 2024 03:04:05 GMT' };
      expect((await get(routed, '/assets/dated.txt', current)).status).to.equal(304);
      const older = { 'if-modified-since': 'Tue, 02 Jan 2024 03:04:04 GMT' };
      expect((await get(routed, '/assets/dated.txt', older)).status).to.equal(200);
      const garbage = { 'if-modified-since': 'yesterday' };
      expect((await get(routed, '/assets/dated.txt', garbage)).status).to.equal(200);
      const both = { ...current, 'if-none-match': '"something-else"' };
      expect((await get(routed, '/assets/dated.txt', both)).status).to.equal(200);
      const curled = await curl(`http://127.0.0.1:${routed}/assets/dated.txt`, '-z', 'Tue, 02 Jan 2024 03:04:05 GMT');
      expect(curled).to.deep.equal({ status: 304, body: '' });
    });

    it('answers 412 when If-Match or If-Unmodified-Since fails', async () => {
      const { headers } = await get(routed, '/assets/digits.txt');
      expect((await get(routed, '/assets/digits.txt', { 'if-match': '"nope"' })).status).to.equal(412);
      // If-Match compares strongly, and a weak tag never matches strongly.
      expect((await get(routed, '/assets/digits.txt', { 'if-match': headers.etag! })).status).to.equal(412);
      expect((await get(routed, '/assets/digits.txt', { 'if-match': '*' })).status).to.equal(200);
      const past = { 'if-unmodified-since': 'Thu, 01 Jan 1970 00:00:01 GMT' };
      expect((await get(routed, '/assets/digits.txt', past)).status).to.equal(412);
      const now = { 'if-unmodified-since': headers['last-modified']! };
      expect((await get(routed, '/assets/digits.txt', now)).status).to.equal(200);
    });

    it('answers one range with 206 and Content-Range', async () => {
      const cases: [string, string, string][] = [
        ['bytes=2-5', '2345', 'bytes 2-5/10'],
        ['bytes=7-', '789', 'bytes 7-9/10'],
        ['bytes=-3', '789', 'bytes 7-9/10'],
        ['bytes=-30', '0123456789', 'bytes 0-9/10'],
        ['bytes=8-100', '89', 'bytes 8-9/10'],
        ['bytes=9-9', '9', 'bytes 9-9/10'],
      ];
      for (const [range, body, contentRange] of cases) {
        const res = await get(routed, '/assets/digits.txt', { range });
        expect([range, res.status, res.body.toString(), res.headers['content-range']]).to.deep.equal([
          range,
          206,
          body,
          contentRange,
        ]);
        expect(res.headers['content-length']).to.equal(String(body.length));
      }
      expect(await curl(`http://127.0.0.1:${routed}/assets/digits.txt`, '-r', '3-4')).to.deep.equal({
        status: 206,
        body: '34',
      });
      const head = await get(routed, '/assets/big.bin', { range: 'bytes=100-199' }, 'HEAD');
      expect([head.status, head.headers['content-length'], head.body.length]).to.deep.equal([206, '100', 0]);
      const far = await get(routed, '/assets/big.bin', { range: `bytes=${bigSize - 70_000}-` });
      expect(far.body.equals(big.subarray(bigSize - 70_000))).to.equal(true);
    });

    it('answers 416 with Content-Range: bytes */size to a range past the end', async () => {
      for (const range of ['bytes=10-', 'bytes=10-20', 'bytes=-0']) {
        const res = await get(routed, '/assets/digits.txt', { range });
        expect([range, res.status, res.headers['content-range']]).to.deep.equal([range, 416, 'bytes */10']);
      }
      const empty = await get(routed, '/assets/empty.txt', { range: 'bytes=0-' });
      expect([empty.status, empty.headers['content-range']]).to.deep.equal([416, 'bytes */0']);
    });

    it('sends the whole file for several ranges, a malformed Range or another unit', async () => {
      for (const range of ['bytes=0-1,4-5', 'bytes=5-2', 'bytes=x-y', 'items=0-1', 'bytes=-']) {
        const res = await get(routed, '/assets/digits.txt', { range });
        expect([range, res.status, res.body.toString()]).to.deep.equal([range, 200, '0123456789']);
      }
    });

    it('honours a range under If-Range only while it names this version', async () => {
      const { headers } = await get(routed, '/assets/digits.txt');
      const byDate = { range: 'bytes=0-1', 'if-range': headers['last-modified']! };
      expect((await get(routed, '/assets/digits.txt', byDate)).status).to.equal(206);
      const oldDate = { range: 'bytes=0-1', 'if-range': 'Thu, 01 Jan 1970 00:00:01 GMT' };
      expect((await get(routed, '/assets/digits.txt', oldDate)).status).to.equal(200);
      // A weak ETag never names a version strongly enough to patch bytes together.
      const byTag = { range: 'bytes=0-1', 'if-range': headers.etag! };
      expect((await get(routed, '/assets/digits.txt', byTag)).status).to.equal(200);
    });
  });

  describe('streaming', () => {
    /** A GET of big.bin from a client that reads nothing until told to; the server's socket for it. */
    async function pausedDownload(): Promise<{ client: net.Socket; server: () => net.Socket | undefined }> {
      let socket: net.Socket | undefined;
      const handler = serveStatic(root);
      const port = (
        await start((req) => {
          socket = (req.raw as http.IncomingMessage).socket;
          return handler(req);
        })
      ).port;
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      await once(client, 'connect');
      client.pause();
      client.write('GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await until(() => socket !== undefined && socket.bytesWritten > 0, 'the first bytes');
      await settled(() => socket!.bytesWritten);
      return { client, server: () => socket };
    }

    it('reads a 5 MiB file only as fast as a paused client takes it, then sends it whole', async () => {
      const before = bytesRead();
      const { client, server } = await pausedDownload();
      const socket = server()!;
      // What was read from the disk but not yet handed to the kernel stays within a few chunks.
      const heldByServer = bytesRead() - before - (socket.bytesWritten - socket.writableLength);
      expect(heldByServer).to.be.lessThan(512 * 1024);
      expect(openHandles(path.join(root, 'big.bin'))).to.equal(1);
      const chunks: Buffer[] = [];
      client.on('data', (chunk: Buffer) => chunks.push(chunk));
      const closed = once(client, 'close');
      client.resume();
      await closed;
      const received = Buffer.concat(chunks);
      const body = received.subarray(received.indexOf('\r\n\r\n') + 4);
      expect(body.equals(big)).to.equal(true);
      await until(() => openHandles(path.join(root, 'big.bin')) === 0, 'the file to close');
    });

    it('closes the file when the client disconnects mid-file', async () => {
      const { client, server } = await pausedDownload();
      expect(server()!.bytesWritten).to.be.lessThan(bigSize);
      expect(openHandles(path.join(root, 'big.bin'))).to.equal(1);
      client.destroy();
      await until(() => openHandles(path.join(root, 'big.bin')) === 0, 'the file to close');
    });

    it('opens nothing for a body that is never sent', async () => {
      const handler = serveStatic(root);
      const dropBody: Middleware = (req, next) => next().pipe(map((res) => ({ status: res.status, body: 'replaced' })));
      const port = (await start(router().use(dropBody).get('/assets/*', handler))).port;
      expect((await get(port, '/assets/big.bin')).body.toString()).to.equal('replaced');
      expect(openHandles(path.join(root, 'big.bin'))).to.equal(0);
    });
  });

  describe('options', () => {
    it('throws InvalidOptionError, naming the option, for a bad root or option', () => {
      const bad: [() => unknown, string][] = [
        [() => serveStatic(''), 'root'],
        [() => serveStatic(42 as never), 'root'],
        [() => serveStatic(root, null as never), 'options'],
        [() => serveStatic(root, { index: '../x' }), 'index'],
        [() => serveStatic(root, { index: '' }), 'index'],
        [() => serveStatic(root, { index: true as never }), 'index'],
        [() => serveStatic(root, { dotfiles: 'maybe' as never }), 'dotfiles'],
        [() => serveStatic(root, { followSymlinks: 'yes' as never }), 'followSymlinks'],
        [() => serveStatic(root, { maxAge: -1 }), 'maxAge'],
        [() => serveStatic(root, { maxAge: 1.5 }), 'maxAge'],
        [() => serveStatic(root, { immutable: 1 as never }), 'immutable'],
        [() => serveStatic(root, { maxage: 1 } as never), 'maxage'],
      ];
      for (const [make, option] of bad) {
        expect(make).to.throw(InvalidOptionError).with.property('option', option);
      }
    });

    it('serves a root given relative to the working directory', async () => {
      const port = (await start(serveStatic(path.relative(process.cwd(), root)))).port;
      expect((await get(port, '/hello.txt')).body.toString()).to.equal('hello, world\n');
    });
  });
});
