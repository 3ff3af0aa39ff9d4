import http, { type IncomingHttpHeaders } from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { serve, type Server, type ServeOptions } from '../src/server/index.js';

/** Servers started by a spec, closed after each test. */
const running = new Set<Server>();

/** Starts a server on 127.0.0.1, port 0; it is closed after the test. Errors are collected, not printed. */
export async function start(
  handler: ServeOptions['handler'],
  options: Partial<ServeOptions> = {},
): Promise<Server & { errors: Error[] }> {
  const errors: Error[] = [];
  const server = await serve({
    onError: (error) => errors.push(error),
    ...options,
    handler,
    port: 0,
    host: '127.0.0.1',
  });
  running.add(server);
  return Object.assign(server, { errors });
}

/** Closes every server a test started; for `afterEach`. */
export async function closeAll(): Promise<void> {
  const servers = [...running];
  running.clear();
  await Promise.all(servers.map((s) => s.close({ timeout: 100 })));
}

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
export function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}

/** Polls `check` every few milliseconds until it is true; rejects after `ms`. */
export async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A response as a real node:http client saw it. */
export interface Fetched {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: string;
  chunks: string[];
  complete: boolean;
}

/** Sends one request with node:http (no keep-alive) and reads the whole response. */
export function fetchText(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body: chunks.join(''),
            chunks,
            complete: res.complete,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Sends raw bytes over TCP and collects everything until the server closes (or `until` matches). */
export async function rawExchange(
  port: number,
  data: string | Buffer,
  options: { until?: (received: string) => boolean; timeout?: number } = {},
): Promise<{ received: string; closed: boolean }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (options.until?.(received) === true) resolve();
    });
    socket.on('close', () => {
      closed = true;
      resolve();
    });
    socket.on('error', () => undefined);
  });
  socket.write(data);
  await within(options.timeout ?? 5000, done, 'the raw exchange to finish');
  socket.destroy();
  return { received, closed };
}

/** Resolves with `count()` once it has not moved for `quietMs` (checked every 20 ms); rejects after `ms`. */
export async function settled(count: () => number, quietMs = 300, ms = 10_000): Promise<number> {
  let last = -1;
  let since = Date.now();
  const deadline = Date.now() + ms;
  for (;;) {
    const now = count();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) {
      return now;
    }
    if (Date.now() > deadline) throw new Error('the count never settled');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * The environment for a child process that runs the built package: without the coverage
 * variable, since its dist/ coverage would be mapped onto src/ and spoil the merged report.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // Empty rather than absent: node copies the parent's value into a child's env that lacks it.
  return { ...process.env, ...extra, NODE_V8_COVERAGE: '' };
}

/** A self-signed certificate and key for 127.0.0.1, made with openssl for this run. */
export async function selfSignedCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-tls-'));
  try {
    await promisify(execFile)('openssl', [
      ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'],
      ...['-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
    ]);
    return { key: await readFile(path.join(dir, 'key.pem')), cert: await readFile(path.join(dir, 'cert.pem')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A TCP port on 127.0.0.1 where connecting stalls: a child process listens with a backlog of one
 * and never accepts, and two connections fill that backlog, so the kernel drops later SYNs.
 * `close()` ends the child and the fillers.
 */
export async function stalledPort(): Promise<{ port: number; close: () => void }> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const server = require('node:net').createServer();
       server.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
         process.stdout.write(server.address().port + '\\n'); // synchronous on a pipe
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); // never accept
       });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv() },
  );
  const [data] = (await within(10_000, once(child.stdout, 'data'), 'the stalled port')) as [Buffer];
  const port = Number(String(data).trim());
  const fillers = [net.connect(port, '127.0.0.1'), net.connect(port, '127.0.0.1')];
  for (const filler of fillers) filler.on('error', () => undefined);
  await within(10_000, Promise.all(fillers.map((filler) => once(filler, 'connect'))), 'the backlog to fill');
  return {
    port,
    close: () => {
      for (const filler of fillers) filler.destroy();
      child.kill('SIGKILL');
    },
  };
}

/** Reads `read()` every few milliseconds until `done` accepts its value, which it returns; rejects naming `what` after `ms`. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  ms = 5000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
