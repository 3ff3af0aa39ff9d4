import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, stat, truncate, writeFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { map, mergeMap, NEVER, of, take, toArray } from 'rxjs';
import { multipart, type JetRequest } from '../../src/server/index.js';
import { childEnv, closeAll, eventually, settled, start, until, within } from '../helpers.js';
import { boundary, formType } from './multipart-helpers.js';

const MiB = 1024 * 1024;

/** The head of a form with one file, whose bytes the caller sends after it, then `tail`. */
const fileHead = (name = 'big'): Buffer =>
  Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.bin"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
const tail = Buffer.from(`\r\n--${boundary}--\r\n`);

/**
 * Starts a POST of one file of `size` bytes, written as fast as the socket takes it (waiting for
 * `drain`), on a connection of its own unless `agent` is given. `abort()` destroys the request.
 */
function upload(url: string, size: number, agent: http.Agent | false = false) {
  const head = fileHead();
  const req = http.request(url, {
    method: 'POST',
    agent,
    headers: { 'content-type': formType(), 'content-length': String(head.length + size + tail.length) },
  });
  req.on('error', () => undefined);
  const response = new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => undefined);
  let stopped = false;
  const chunk = Buffer.alloc(64 * 1024, 7);
  void (async () => {
    req.write(head);
    for (let sent = 0; sent < size && !stopped;) {
      const piece = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += piece.length;
      if (!req.write(piece)) await once(req, 'drain').catch(() => undefined);
    }
    if (!stopped) req.end(tail);
  })();
  const closed = new Promise<void>((resolve) => req.once('socket', (socket) => socket.once('close', () => resolve())));
  return {
    response,
    closed,
    abort: () => {
      stopped = true;
      req.destroy();
    },
  };
}

/** Resolves on the stream's next `drain` or its `close`, leaving no listener behind. */
function drainedOrClosed(stream: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

describe('multipart: backpressure and teardown', function () {
  this.timeout(120_000);
  afterEach(closeAll);

  it('streams a 1 GiB file from curl to disk with server memory growing less than 64 MiB', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-upload-'));
    await mkdir(path.join(dir, 'stored'));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('multipart-sink.ts', import.meta.url)), path.join(dir, 'stored')],
      { env: childEnv(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (out += chunk));
      await until(() => /listening on (\S+)/.test(out), 'the upload server to listen', 20_000);
      const url = /listening on (\S+)/.exec(out)![1]!;
      // A sparse file: a GiB of zeros that costs no disk to make.
      const source = path.join(dir, 'source.bin');
      await writeFile(source, '');
      await truncate(source, 1024 * MiB);
      const curl = (file: string) =>
        promisify(execFile)('curl', ['-sS', '--fail-with-body', '-F', 'title=big', '-F', `file=@${file}`, url], {
          maxBuffer: MiB,
        });
      // A warm-up upload first (128 MiB), so that what is measured is the growth of a server that has
      // served an upload, not its heap and allocator reaching their working size once (which
      // differs between Node versions); flat memory is the 1 GiB adding little to that.
      const small = path.join(dir, 'small.bin');
      await writeFile(small, '');
      await truncate(small, 128 * MiB);
      await curl(small);
      const { stdout } = await curl(source);
      const report = JSON.parse(stdout) as {
        parts: { name: string; value?: string; stored?: string }[];
        rssBefore: number;
        rssPeak: number;
      };
      expect(report.parts.map((part) => part.name)).to.deep.equal(['title', 'file']);
      expect((await stat(report.parts[1]!.stored!)).size).to.equal(1024 * MiB);
      const growth = report.rssPeak - report.rssBefore;
      if (process.env.MULTIPART_REPORT !== undefined) console.log(`    RSS growth: ${(growth / MiB).toFixed(1)} MiB`);
      expect(growth, `RSS grew by ${(growth / MiB).toFixed(1)} MiB`).to.be.lessThan(64 * MiB);
    } finally {
      child.kill('SIGTERM');
      await within(10_000, once(child, 'exit'), 'the upload server to exit').catch(() => child.kill('SIGKILL'));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('holds a 100 MiB upload to a file body read at about 1 MiB/s, then lets it finish', async () => {
    let consumed = 0;
    let fast = false;
    let socket: { bytesRead: number } | undefined;
    const server = await start(async (req: JetRequest) => {
      socket = req.raw!.socket;
      for await (const part of multipart(req)) {
        if (part.kind !== 'file') continue;
        for await (const chunk of part.body) {
          consumed += chunk.byteLength;
          // A slow disk: about 1 MiB/s, until the spec has seen enough.
          if (!fast) await new Promise((resolve) => setTimeout(resolve, (chunk.byteLength / MiB) * 1000));
        }
      }
      return { body: String(consumed) };
    });
    const size = 100 * MiB;
    const client = upload(server.url, size);
    const rssBefore = process.memoryUsage().rss;
    await until(() => consumed >= 2 * MiB, 'two MiB to be consumed', 20_000);
    const ahead = socket!.bytesRead - consumed;
    if (process.env.MULTIPART_REPORT !== undefined) console.log(`    read ahead: ${(ahead / MiB).toFixed(2)} MiB`);
    expect(ahead, `${(ahead / MiB).toFixed(1)} MiB read ahead of the consumer`).to.be.lessThan(4 * MiB);
    expect(process.memoryUsage().rss - rssBefore).to.be.lessThan(64 * MiB);
    fast = true;
    const res = await within(60_000, client.response, 'the upload to finish');
    expect(res).to.deep.include({ status: 200, body: String(size) });
  });

  it('reads nothing more of the request while a file body is not read', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let socket: { bytesRead: number } | undefined;
    let pulled = 0;
    const server = await start(async (req: JetRequest) => {
      socket = req.raw!.socket;
      let bytes = 0;
      for await (const part of multipart(req)) {
        if (part.kind !== 'file') continue;
        for await (const chunk of part.body) {
          bytes += chunk.byteLength;
          if (++pulled === 1) await gate;
        }
      }
      return { body: String(bytes) };
    });
    const size = 64 * MiB;
    const client = upload(server.url, size);
    await until(() => pulled === 1, 'the first chunk to be pulled');
    const readWhileHeld = await settled(() => socket!.bytesRead);
    expect(readWhileHeld).to.be.lessThan(4 * MiB);
    release();
    expect(await within(60_000, client.response, 'the upload to finish')).to.deep.include({
      status: 200,
      body: String(size),
    });
  });

  it('errors the file body being read when the client goes away, and leaks nothing', async () => {
    const outcomes: string[] = [];
    let pulled = 0;
    const server = await start(async (req: JetRequest) => {
      try {
        for await (const part of multipart(req)) {
          if (part.kind === 'file') for await (const chunk of part.body) pulled += chunk.byteLength;
        }
        outcomes.push('complete');
      } catch (error) {
        outcomes.push((error as { code: string }).code);
      }
      return { status: 204 };
    });
    const client = upload(server.url, 100 * MiB);
    await until(() => pulled > MiB, 'a MiB to be read');
    client.abort();
    await until(() => outcomes.length === 1, 'the reader to see the end');
    expect(outcomes).to.deep.equal(['RXJET_ERR_CLIENT_ABORTED']);
    await eventually(
      () => server.stats(),
      (stats) => stats.requests + stats.connections === 0,
      'the request and connection to be released',
    );
  });

  it('errors a file body subscribed apart from the handler when the client goes away mid-upload', async () => {
    const outcomes: string[] = [];
    let pulled = 0;
    const server = await start((req: JetRequest) =>
      multipart(req).pipe(
        mergeMap((part) => {
          if (part.kind === 'file') {
            part.body.subscribe({
              next: (chunk) => (pulled += chunk.byteLength),
              error: (error: { code: string }) => outcomes.push(error.code),
              complete: () => outcomes.push('complete'),
            });
          }
          return NEVER;
        }),
      ),
    );
    const client = upload(server.url, 100 * MiB);
    await until(() => pulled > MiB, 'a MiB to be read');
    client.abort();
    await until(() => outcomes.length === 1, 'the body subscriber to see the end');
    expect(outcomes[0]).to.be.oneOf(['RXJET_ERR_PART_ABORTED', 'RXJET_ERR_CLIENT_ABORTED']);
    await eventually(
      () => server.stats(),
      (stats) => stats.requests + stats.connections === 0,
      'the request and connection to be released',
    );
  });

  it('stops parsing and the socket read when the parts are unsubscribed, and the file body being read sees it', async () => {
    const outcomes: string[] = [];
    let socket: { bytesRead: number } | undefined;
    const server = await start((req: JetRequest) =>
      multipart(((socket = req.raw!.socket), req)).pipe(
        mergeMap((part) => {
          if (part.kind !== 'file') return of(part.name);
          part.body.subscribe({
            error: (error: { code: string }) => outcomes.push(error.code),
            complete: () => outcomes.push('complete'),
          });
          return of(part.name);
        }),
        take(1),
        toArray(),
        map((names) => ({ body: names.join(',') })),
      ),
    );
    // A keep-alive client: the server must not drain the rest to keep the connection.
    const agent = new http.Agent({ keepAlive: true });
    after(() => agent.destroy());
    const client = upload(server.url, 256 * MiB, agent);
    const res = await within(30_000, client.response, 'the answer');
    expect(res).to.deep.include({ status: 200, body: 'big' });
    expect(res.connection, 'the connection cannot carry another request').to.equal('close');
    expect(outcomes).to.deep.equal(['RXJET_ERR_PART_ABORTED']);
    await within(30_000, client.closed, "the client's connection to close");
    const read = socket!.bytesRead;
    if (process.env.MULTIPART_REPORT !== undefined) console.log(`    read: ${(read / MiB).toFixed(2)} MiB`);
    expect(read, 'the rest of the upload is not drained').to.be.lessThan(16 * MiB);
    await eventually(
      () => server.stats(),
      (stats) => stats.requests === 0,
      'the request to be released',
    );
  });
  it('answers 413 past maxFileSize without reading the rest of the upload, and closes the connection', async () => {
    let socket: { bytesRead: number } | undefined;
    const server = await start((req: JetRequest) =>
      multipart(((socket = req.raw!.socket), req), { maxFileSize: MiB }).pipe(
        mergeMap((part) => (part.kind === 'file' ? part.body : of(part))),
        toArray(),
        map(() => ({ body: 'whole' })),
      ),
    );
    const agent = new http.Agent({ keepAlive: true });
    after(() => agent.destroy());
    const client = upload(server.url, 256 * MiB, agent);
    const res = await within(30_000, client.response, 'the answer');
    expect(res.status).to.equal(413);
    expect(res.connection).to.equal('close');
    await within(30_000, client.closed, "the client's connection to close");
    expect(socket!.bytesRead, 'the rest of the upload is not drained').to.be.lessThan(16 * MiB);
  });

  it('over HTTP/2, answers while the rest of the stream is read and dropped, and the session goes on', async () => {
    const firstPart = (req: JetRequest) =>
      req.path === '/next'
        ? { body: 'still here' }
        : multipart(req).pipe(
            take(1),
            map((part) => ({ body: part.name })),
          );
    const server = await start(firstPart, { http2: true });
    const session = http2.connect(server.url);
    try {
      const stream = session.request({ ':method': 'POST', ':path': '/', 'content-type': formType() });
      stream.on('error', () => undefined);
      let written = 0;
      let closed = false;
      stream.once('close', () => (closed = true));
      void (async () => {
        stream.write(fileHead());
        const chunk = Buffer.alloc(64 * 1024, 7);
        while (!closed && written < 32 * MiB) {
          written += chunk.length;
          if (!stream.write(chunk)) await drainedOrClosed(stream);
        }
        stream.end();
      })();
      let text = '';
      stream.setEncoding('utf8');
      stream.on('data', (piece: string) => (text += piece));
      const headers = await within(
        10_000,
        new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
        'the HTTP/2 response',
      );
      await within(10_000, once(stream, 'close'), 'the stream to close');
      expect(headers[':status']).to.equal(200);
      expect(text).to.equal('big');
      expect(stream.rstCode).to.equal(http2.constants.NGHTTP2_NO_ERROR);
      expect(written, 'the whole upload was taken').to.equal(32 * MiB);
      const next = session.request({ ':path': '/next' });
      next.setEncoding('utf8');
      let again = '';
      next.on('data', (piece: string) => (again += piece));
      await within(10_000, once(next, 'end'), 'another request on the same session');
      expect(again).to.equal('still here');
    } finally {
      session.close();
    }
  });
});
