import { expect } from 'chai';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { finalize, firstValueFrom, interval, lastValueFrom, map, NEVER, reduce, take, tap } from 'rxjs';
import { WebSocket } from 'ws';
import type { ServeOptions, Server } from '../../src/server/index.js';
import { createClient, get, type Client, type ClientResponse } from '../../src/client/index.js';
import { ClientAbortedError, NetworkError } from '../../src/internal/errors.js';
import { rawWebSocket } from '../websocket/raw.js';
import { childEnv, closeAll, eventually, fetchText, start, until, within } from '../helpers.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Short server timeouts, so that every slow client is cut off within a couple of seconds. */
const headersTimeout = 1000;
const requestTimeout = 2000;
const checkingInterval = 100;
const idleTimeout = 1000;
const fast: Partial<ServeOptions> = {
  headersTimeout,
  requestTimeout,
  connectionsCheckingInterval: checkingInterval,
  idleTimeout,
  keepAliveTimeout: 1000,
};
/** Allowance for a loaded machine on top of a timeout and its checking interval. */
const slack = 1000;
/** A normal request must answer within this while slow clients hold their sockets for a second or more. */
const normalLatencyBound = 500;
const zero = { connections: 0, requests: 0, websockets: 0 };

/** Figures for the report, printed when RXJET_FIGURES is set. */
const figures: Record<string, unknown> = {};

/** Everything a test opens that the servers' closeAll() does not close. */
const sockets = new Set<net.Socket>();
const cleanups: (() => unknown)[] = [];

async function statsAreZero(server: Server, what: string, ms = 5000): Promise<void> {
  const stats = await eventually(
    () => server.stats(),
    (now) => now.connections + now.requests + now.websockets === 0,
    what,
    ms,
  );
  expect(stats).to.deep.equal(zero);
}

/** One GET with node:http (no agent); never hangs: a request silent for `ms` is destroyed as failed. */
function timedGet(url: string, ms = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', reject);
    });
    req.setTimeout(ms, () => req.destroy(new Error(`no answer within ${ms} ms`)));
    req.on('error', reject);
  });
}

/** Normal GETs in a loop, one at a time (paced, not as synchronisation), until stopped. */
function normalLoad(url: string): { stop: () => Promise<{ latencies: number[]; failures: string[] }> } {
  let running = true;
  const latencies: number[] = [];
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await timedGet(url);
        if (res.status !== 200 || res.body !== 'ok') failures.push(`got ${res.status} ${res.body}`);
      } catch (error) {
        failures.push(String(error));
      }
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const stop = async (): Promise<{ latencies: number[]; failures: string[] }> => {
    running = false;
    await loop;
    return { latencies, failures };
  };
  cleanups.push(stop);
  return { stop };
}

function expectNormalLoadHeld(result: { latencies: number[]; failures: string[] }, what: string): void {
  expect(result.failures, `${what}: failed normal requests`).to.deep.equal([]);
  expect(result.latencies.length, `${what}: normal requests made`).to.be.at.least(10);
  expect(Math.max(...result.latencies), `${what}: slowest normal request (ms)`).to.be.below(normalLatencyBound);
}

interface SlowOutcome {
  /** ms from connect to close. */
  lifetime: number;
  received: string;
  /** Drip writes made. */
  sent: number;
}

/** A net client that sends `first`, then `drip` every `everyMs` until the server closes it. */
async function slowClient(
  port: number,
  first: string,
  drip: string,
  everyMs: number,
): Promise<{ socket: net.Socket; done: Promise<SlowOutcome> }> {
  const socket = net.connect(port, '127.0.0.1');
  sockets.add(socket);
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  const openedAt = performance.now();
  let received = '';
  let sent = 0;
  socket.on('data', (data: Buffer) => (received += data.toString('latin1')));
  socket.write(first);
  const timer = setInterval(() => {
    if (socket.writable) {
      socket.write(drip);
      sent++;
    }
  }, everyMs);
  // A close after a reset emits 'error' first, which would reject once(socket, 'close').
  const done = new Promise((resolve) => socket.once('close', resolve)).then(() => {
    clearInterval(timer);
    return { lifetime: performance.now() - openedAt, received, sent };
  });
  return { socket, done };
}

/** How a slow client was let go: node's 408, or a bare close. */
function closeKind(outcome: SlowOutcome): '408' | 'closed' {
  if (outcome.received === '') return 'closed';
  expect(outcome.received).to.match(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  return '408';
}

const countKinds = (outcomes: SlowOutcome[]): Record<string, number> => {
  const kinds: Record<string, number> = {};
  for (const outcome of outcomes) kinds[closeKind(outcome)] = (kinds[closeKind(outcome)] ?? 0) + 1;
  return kinds;
};

/** Counts of the process's active resources that a leak would grow. */
function handles(): { tcp: number; timeouts: number } {
  const info = process.getActiveResourcesInfo();
  return {
    tcp: info.filter((kind) => kind === 'TCPSocketWrap').length,
    timeouts: info.filter((kind) => kind === 'Timeout').length,
  };
}

describe('hostile: slow and abrupt peers', function () {
  this.timeout(30_000);

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    for (const cleanup of cleanups.splice(0)) await cleanup();
    await closeAll();
  });

  after(() => {
    if (process.env.RXJET_FIGURES !== undefined) console.log(JSON.stringify(figures, null, 2));
  });

  describe('slow headers (slowloris)', () => {
    it('closes 10 clients dripping a header byte every 100 ms by headersTimeout, while normal requests keep their latency', async () => {
      const server = await start(() => ({ body: 'ok' }), fast);
      const load = normalLoad(server.url);
      const clients = await Promise.all(
        Array.from({ length: 10 }, () => slowClient(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ', 'a', 100)),
      );
      const bound = headersTimeout + checkingInterval + slack;
      const outcomes = await within(
        bound + 2000,
        Promise.all(clients.map((c) => c.done)),
        'the slow clients to be closed',
      );
      const result = await load.stop();
      for (const outcome of outcomes) {
        expect(outcome.sent, 'header bytes dripped').to.be.at.least(5);
        expect(outcome.lifetime)
          .to.be.at.least(headersTimeout - 50)
          .and.below(bound);
      }
      expectNormalLoadHeld(result, 'slow headers');
      figures.slowHeaders = {
        clients: outcomes.length,
        closedBy: countKinds(outcomes),
        lifetimeMs: [
          Math.round(Math.min(...outcomes.map((o) => o.lifetime))),
          Math.round(Math.max(...outcomes.map((o) => o.lifetime))),
        ],
        bound,
        normalRequests: result.latencies.length,
        slowestNormalMs: Math.round(Math.max(...result.latencies)),
      };
      await statsAreZero(server, 'the slow clients to be released');
    });

    it('survives a slowhttptest -H style attack: 50 slowloris clients at 50 a second, all held at once, all cut off', async () => {
      // What slowhttptest -H -c 50 -r 50 -i 1 does, over net: 50 connections opened at 50 a second, each
      // sending a request head that never ends, one header line a second. The server must let none of them
      // hold a socket past headersTimeout, answer normal requests throughout, and release every connection.
      const server = await start(() => ({ body: 'ok' }), fast);
      const load = normalLoad(server.url);
      let open = 0;
      let peak = 0;
      const clients: Promise<{ done: Promise<SlowOutcome> }>[] = [];
      for (let i = 0; i < 50; i++) {
        clients.push(
          slowClient(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n', 'X-a: b\r\n', 1000).then((client) => {
            peak = Math.max(peak, ++open);
            void client.done.then(() => open--);
            return client;
          }),
        );
        // Paces the attack at 50 connections a second; nothing waits on this as a synchronisation.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const bound = headersTimeout + checkingInterval + slack;
      const outcomes = await within(
        bound + 3000,
        Promise.all((await Promise.all(clients)).map((c) => c.done)),
        'the 50 slow clients to be closed',
      );
      for (const outcome of outcomes) {
        expect(outcome.sent, 'header lines dripped before the cut').to.be.at.most(Math.ceil(bound / 1000));
        expect(outcome.lifetime)
          .to.be.at.least(headersTimeout - 50)
          .and.below(bound);
      }
      expect(peak, 'connections the attack held at once').to.be.at.least(40);
      expect(open, 'attack connections left open').to.equal(0);
      figures.slowloris50 = { tool: 'net', clients: 50, peakOpen: peak, closedBy: countKinds(outcomes) };
      const result = await load.stop();
      expectNormalLoadHeld(result, 'slowloris x50');
      expect(await timedGet(server.url)).to.deep.equal({ status: 200, body: 'ok' });
      await statsAreZero(server, 'the attack connections to be released');
    });
  });

  describe('slow body', () => {
    it('closes clients trickling a 1 MiB body by requestTimeout, tears down the reading handler, normal requests unaffected', async () => {
      let called = 0;
      let bytes = 0;
      let tornDown = 0;
      let aborted = 0;
      const bodyErrors: unknown[] = [];
      const server = await start((req) => {
        if (req.method === 'GET') return { body: 'ok' };
        called++;
        req.signal.addEventListener('abort', () => aborted++);
        return req.body.pipe(
          tap({ next: (chunk) => (bytes += chunk.byteLength), error: (error: unknown) => bodyErrors.push(error) }),
          reduce((n, chunk) => n + chunk.byteLength, 0),
          map((n) => ({ body: `read ${n}` })),
          finalize(() => tornDown++),
        );
      }, fast);
      const load = normalLoad(server.url);
      const clients = await Promise.all(
        Array.from({ length: 5 }, () =>
          slowClient(server.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n', 'a', 100),
        ),
      );
      const bound = requestTimeout + checkingInterval + slack;
      const outcomes = await within(bound + 2000, Promise.all(clients.map((c) => c.done)), 'the slow bodies to be cut');
      const result = await load.stop();
      for (const outcome of outcomes)
        expect(outcome.lifetime)
          .to.be.at.least(requestTimeout - 50)
          .and.below(bound);
      expect(called).to.equal(5);
      expect(bytes, 'body bytes the handlers read').to.be.at.least(5 * 5);
      await until(() => tornDown === 5, 'every reading handler to be torn down', 2000);
      await until(() => aborted === 5, 'every req.signal to abort', 2000);
      expectNormalLoadHeld(result, 'slow body');
      expect(server.errors, 'nothing reported for a client that was cut off').to.deep.equal([]);
      figures.slowBody = {
        clients: outcomes.length,
        closedBy: countKinds(outcomes),
        lifetimeMs: [
          Math.round(Math.min(...outcomes.map((o) => o.lifetime))),
          Math.round(Math.max(...outcomes.map((o) => o.lifetime))),
        ],
        bound,
        bodyBytesRead: bytes,
        bodySubscriptionErrors: bodyErrors.map((e) => (e as Error).name),
        tornDown,
        aborted,
        normalRequests: result.latencies.length,
        slowestNormalMs: Math.round(Math.max(...result.latencies)),
      };
      await statsAreZero(server, 'the slow bodies to be released');
    });
  });

  describe('a client that never reads', () => {
    const chunkSize = 64 * 1024;
    const chunk = Buffer.alloc(chunkSize, 'x');

    /** Sends a GET and reads nothing; the test destroys it. */
    async function neverReads(port: number): Promise<net.Socket> {
      const socket = net.connect({ port, host: '127.0.0.1' });
      sockets.add(socket);
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      socket.pause();
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      return socket;
    }

    it('stops a 64 MiB async generator within 32 MiB and closes the socket by idleTimeout', async () => {
      let produced = 0;
      let lastProduced = 0;
      let finished = 0;
      let serverSocketClosedAt = 0;
      const server = await start((req) => {
        req.raw!.socket.once('close', () => (serverSocketClosedAt = performance.now()));
        return {
          body: (async function* () {
            try {
              for (let i = 0; i < 1024; i++) {
                produced++;
                lastProduced = performance.now();
                yield chunk;
              }
            } finally {
              finished++;
            }
          })(),
        };
      }, fast);
      const socket = await neverReads(server.port);
      await until(() => serverSocketClosedAt > 0, 'the server to close the stalled socket', idleTimeout + 10_000);
      await until(() => finished === 1, 'the generator to be return()ed', 2000);
      const quiet = serverSocketClosedAt - lastProduced;
      expect(produced * chunkSize, 'bytes produced').to.be.below(32 * 1024 * 1024);
      expect(quiet, 'ms from the last chunk to the close')
        .to.be.at.least(idleTimeout - 50)
        .and.below(idleTimeout + 3000);
      socket.destroy();
      await statsAreZero(server, 'the stalled exchange to be released');
      expect(server.errors).to.deep.equal([]);
      figures.neverReadsGenerator = {
        producedMiB: (produced * chunkSize) / 2 ** 20,
        quietMs: Math.round(quiet),
        finished,
      };
    });

    it('bounds a push Observable body by highWaterMark (overflow: drop) and closes the socket by idleTimeout', async () => {
      const highWaterMark = 1024 * 1024;
      let emitted = 0;
      let tornDown = 0;
      let maxBuffered = 0;
      let serverSocketClosedAt = 0;
      const server = await start(
        (req) => {
          const serverSocket = req.raw!.socket;
          serverSocket.once('close', () => (serverSocketClosedAt = performance.now()));
          return {
            // 64 KiB every 10 ms: fills the socket buffers within a second, and would take 10 s to end.
            body: interval(10).pipe(
              take(1024), // 64 MiB
              tap(() => {
                emitted++;
                maxBuffered = Math.max(maxBuffered, serverSocket.writableLength);
              }),
              map(() => chunk),
              finalize(() => tornDown++),
            ),
          };
        },
        { ...fast, highWaterMark, overflow: 'drop' },
      );
      const requestedAt = performance.now();
      const socket = await neverReads(server.port);
      await until(() => serverSocketClosedAt > 0, 'the server to close the stalled socket', idleTimeout + 10_000);
      await until(() => tornDown === 1, 'the push body to be unsubscribed', 2000);
      expect(emitted, 'chunks emitted before the teardown').to.be.below(1024);
      expect(maxBuffered, 'bytes the server held for the client').to.be.at.most(highWaterMark + chunkSize);
      expect(maxBuffered, 'the client stalled long enough to reach the high-water mark').to.be.at.least(
        highWaterMark / 2,
      );
      expect(serverSocketClosedAt - requestedAt).to.be.at.least(idleTimeout - 50);
      expect(server.errors, 'no overflow error: it was the idle timeout').to.deep.equal([]);
      socket.destroy();
      await statsAreZero(server, 'the stalled exchange to be released');
      figures.neverReadsPush = {
        emittedMiB: (emitted * chunkSize) / 2 ** 20,
        maxBufferedKiB: Math.round(maxBuffered / 1024),
        closedAfterMs: Math.round(serverSocketClosedAt - requestedAt),
        tornDown,
      };
    });
  });

  describe('abrupt disconnects, server side (50 times each)', () => {
    const rounds = 50;

    interface Counters {
      called: number;
      tornDown: number;
      aborted: number;
      reasons: Set<string>;
      bodyBytes: number;
    }
    const counters = (): Counters => ({ called: 0, tornDown: 0, aborted: 0, reasons: new Set(), bodyBytes: 0 });

    function watchSignal(signal: AbortSignal, c: Counters): void {
      signal.addEventListener('abort', () => {
        c.aborted++;
        c.reasons.add((signal.reason as Error).name);
      });
    }

    /** Runs `round` 50 times, then checks stats and the process's handles. */
    async function repeat(
      server: Server & { errors: Error[] },
      name: string,
      c: Counters,
      round: (i: number) => Promise<void>,
      handlerRuns = true,
    ): Promise<void> {
      await statsAreZero(server, 'a quiet server before the rounds');
      const before = handles();
      for (let i = 0; i < rounds; i++) {
        await round(i);
        if (handlerRuns) {
          await until(() => c.tornDown === i + 1, `${name}: the teardown of round ${i}`, 2000);
          await until(() => c.aborted === i + 1, `${name}: req.signal to abort in round ${i}`, 2000);
        }
      }
      await statsAreZero(server, `${name}: everything to be released`);
      if (handlerRuns) {
        expect(c.called).to.equal(rounds);
        expect(c.tornDown).to.equal(rounds);
        expect(c.aborted).to.equal(rounds);
        expect([...c.reasons]).to.deep.equal([ClientAbortedError.name]);
      } else {
        expect(c.called, 'handler calls').to.equal(0);
      }
      expect(server.errors, `${name}: nothing reported to onError`).to.deep.equal([]);
      // The test's own sockets are closed and awaited, so nothing should be left above the baseline.
      const after = await eventually(
        async () => handles(),
        (now) => now.tcp <= before.tcp && now.timeouts <= before.timeouts,
        `${name}: active handles back to ${JSON.stringify(before)}`,
        3000,
      );
      figures[`abrupt: ${name}`] = {
        rounds,
        ...c,
        reasons: [...c.reasons],
        handlesBefore: before,
        handlesAfter: after,
      };
    }

    /** A connected net socket to the server, known accepted by it. */
    async function connected(server: Server): Promise<{ socket: net.Socket; closed: Promise<unknown> }> {
      const accepted = once(server.node, 'connection');
      const socket = net.connect(server.port, '127.0.0.1');
      sockets.add(socket);
      socket.on('error', () => undefined);
      const closed = new Promise((resolve) => socket.once('close', resolve)).then(() => sockets.delete(socket));
      await Promise.all([once(socket, 'connect'), accepted]);
      return { socket, closed };
    }

    it('the client destroys the socket before sending all headers', async () => {
      const c = counters();
      const server = await start(() => ((c.called += 1), { body: 'never' }), fast);
      await repeat(
        server,
        'before headers',
        c,
        async (i) => {
          const { socket, closed } = await connected(server);
          socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\nX-Partial: ${'y'.repeat(i * 10)}`);
          socket.destroy();
          await closed;
        },
        false,
      );
    });

    it('the client destroys the socket after the headers, mid-body, while the handler reads the body', async () => {
      const c = counters();
      const server = await start((req) => {
        c.called++;
        watchSignal(req.signal, c);
        return req.body.pipe(
          tap((chunk) => (c.bodyBytes += chunk.byteLength)),
          reduce((n, chunk) => n + chunk.byteLength, 0),
          map((n) => ({ body: `read ${n}` })),
          finalize(() => c.tornDown++),
        );
      }, fast);
      await repeat(server, 'mid-body', c, async () => {
        const { socket, closed } = await connected(server);
        const seen = c.bodyBytes;
        socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n${'b'.repeat(1000)}`);
        await until(() => c.bodyBytes > seen, 'the handler to read part of the body', 2000);
        socket.destroy();
        await closed;
      });
    });

    it('the client destroys the socket while the handler is pending (NEVER)', async () => {
      const c = counters();
      const server = await start((req) => {
        c.called++;
        watchSignal(req.signal, c);
        return NEVER.pipe(finalize(() => c.tornDown++));
      }, fast);
      await repeat(server, 'pending NEVER', c, async (i) => {
        const { socket, closed } = await connected(server);
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        await until(() => c.called === i + 1, 'the handler to run', 2000);
        socket.destroy();
        await closed;
      });
    });

    it('the client destroys the socket while the handler is pending (a Promise)', async () => {
      const c = counters();
      let lateAnswers = 0;
      const server = await start((req) => {
        c.called++;
        watchSignal(req.signal, c);
        return new Promise<{ body: string }>((resolve) => {
          // The work behind the Promise stops on req.signal, and answers anyway, too late.
          req.signal.addEventListener('abort', () => {
            c.tornDown++;
            lateAnswers++;
            resolve({ body: 'too late' });
          });
        });
      }, fast);
      await repeat(server, 'pending Promise', c, async (i) => {
        const { socket, closed } = await connected(server);
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        await until(() => c.called === i + 1, 'the handler to run', 2000);
        socket.destroy();
        await closed;
      });
      expect(lateAnswers).to.equal(rounds);
    });

    /** Reads until `n` bytes arrived, then destroys the socket. */
    async function cutAfter(server: Server, n: number): Promise<number> {
      const { socket, closed } = await connected(server);
      let received = 0;
      const enough = new Promise<void>((resolve) => {
        socket.on('data', (data: Buffer) => {
          received += data.length;
          if (received >= n) resolve();
        });
      });
      socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await within(2000, enough, `${n} bytes of the stream`);
      socket.destroy();
      await closed;
      return received;
    }

    it('the client destroys the socket mid-response-stream (push Observable), after 8 KiB', async () => {
      const c = counters();
      const kib = Buffer.alloc(1024, 'p');
      const server = await start((req) => {
        c.called++;
        watchSignal(req.signal, c);
        return {
          body: interval(1).pipe(
            map(() => kib),
            finalize(() => c.tornDown++),
          ),
        };
      }, fast);
      await repeat(server, 'mid-stream push', c, async () => {
        expect(await cutAfter(server, 8 * 1024)).to.be.at.least(8 * 1024);
      });
    });

    it('the client destroys the socket mid-response-stream (async generator), after 64 KiB', async () => {
      const c = counters();
      const kib = Buffer.alloc(1024, 'g');
      const server = await start((req) => {
        c.called++;
        watchSignal(req.signal, c);
        return {
          body: (async function* () {
            try {
              for (;;) yield kib;
            } finally {
              c.tornDown++;
            }
          })(),
        };
      }, fast);
      await repeat(server, 'mid-stream pull', c, async () => {
        expect(await cutAfter(server, 64 * 1024)).to.be.at.least(64 * 1024);
      });
    });

    it('the client destroys the socket mid-WebSocket message (half a frame sent)', async () => {
      const c = counters();
      const server = await start(undefined, {
        ...fast,
        websocketHandler: (conn) => {
          c.called++;
          watchSignal(conn.request.signal, c);
          return conn.in$.pipe(finalize(() => c.tornDown++));
        },
      });
      await repeat(server, 'mid-WebSocket message', c, async (i) => {
        const raw = await rawWebSocket(server.port);
        sockets.add(raw.socket);
        await until(() => c.called === i + 1, 'the WebSocket handler to run', 2000);
        // A masked text frame announcing 1000 bytes, cut after 500 of them.
        const header = Buffer.from([0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4]);
        raw.socket.write(Buffer.concat([header, Buffer.alloc(500, 0x61)]));
        raw.socket.destroy();
        await raw.closed;
        sockets.delete(raw.socket);
      });
    });
  });

  describe('abrupt disconnects, client side (rxjet client)', () => {
    let client: Client;
    beforeEach(() => {
      client = createClient({ timeout: { headers: 10_000, body: 10_000 } });
      cleanups.push(() => client.close());
    });

    /** A raw TCP server that answers the first bytes of each connection with `respond`. */
    async function rawServer(respond: (socket: net.Socket) => void): Promise<string> {
      const server = net.createServer((socket) => {
        socket.on('error', () => undefined);
        socket.once('data', () => respond(socket));
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      cleanups.push(() => new Promise((resolve) => server.close(resolve)));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    }

    /** Where the failure showed: the request itself, or the body of a response it emitted. */
    async function failure(url: string, as?: 'text'): Promise<{ where: 'request' | 'body'; error: unknown }> {
      if (as !== undefined) {
        try {
          const res = await firstValueFrom(get(client, url, { as }));
          throw new Error(`a complete response: ${res.body}`);
        } catch (error) {
          return { where: 'request', error };
        }
      }
      let res: ClientResponse;
      try {
        res = await firstValueFrom(get(client, url));
      } catch (error) {
        return { where: 'request', error };
      }
      try {
        await lastValueFrom(res.body);
      } catch (error) {
        return { where: 'body', error };
      }
      throw new Error('the body completed');
    }

    const cases: [string, (socket: net.Socket) => void][] = [
      ['before headers', (s) => s.destroy()],
      [
        'mid-body (content-length)',
        (s) => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n${'x'.repeat(1000)}`, () => s.destroy()),
      ],
      [
        'mid-chunked-stream',
        (s) =>
          s.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n100\r\nabc', () => s.destroy()),
      ],
    ];

    for (const [name, respond] of cases) {
      it(`errors with a typed NetworkError when the server destroys the socket ${name}, never hangs (20 times, streamed and whole)`, async () => {
        const url = await rawServer(respond);
        const seen: Record<string, number> = {};
        for (let i = 0; i < 20; i++) {
          for (const as of [undefined, 'text'] as const) {
            const { where, error } = await within(3000, failure(url, as), `${name}: the client to fail`);
            expect(error, `${name} (${as ?? 'stream'}): ${String(error)}`).to.be.instanceOf(NetworkError);
            expect(error).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url });
            const key = `${as ?? 'stream'}: ${where}`;
            seen[key] = (seen[key] ?? 0) + 1;
          }
        }
        figures[`client: ${name}`] = seen;
      });
    }
  });

  describe('graceful shutdown under load', () => {
    interface Outcome {
      id: number;
      startedAt: number;
      status?: number;
      body?: string;
      error?: string;
    }

    /** One keep-alive GET carrying its id; a request silent for 3 s counts as hung. */
    function keptAliveGet(url: string, agent: http.Agent, id: number): Promise<Outcome> {
      const outcome: Outcome = { id, startedAt: performance.now() };
      return new Promise((resolve) => {
        const req = http.get(url, { agent, headers: { 'x-id': String(id) } }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ ...outcome, status: res.statusCode!, body }));
          res.on('error', (error: NodeJS.ErrnoException) =>
            resolve({ ...outcome, error: error.code ?? error.message }),
          );
        });
        req.setTimeout(3000, () => req.destroy(Object.assign(new Error('hung'), { code: 'HUNG' })));
        req.on('error', (error: NodeJS.ErrnoException) => resolve({ ...outcome, error: error.code ?? error.message }));
      });
    }

    /** Loops of keep-alive GETs until each has seen `stopWhen()` true at the start of a request. */
    function keepAliveLoad(
      url: string,
      loops: number,
      stopWhen: () => boolean,
    ): { agent: http.Agent; done: Promise<Outcome[]> } {
      const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
      cleanups.push(() => agent.destroy());
      let next = 0;
      const outcomes: Outcome[] = [];
      const loop = async (): Promise<void> => {
        for (;;) {
          const last = stopWhen();
          outcomes.push(await keptAliveGet(url, agent, next++));
          if (last) return;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      };
      return { agent, done: Promise.all(Array.from({ length: loops }, loop)).then(() => outcomes) };
    }

    /** A streaming GET read to its end. */
    function streamed(url: string): { first: Promise<void>; done: Promise<{ chunks: string; complete: boolean }> } {
      let gotFirst: () => void = () => undefined;
      const first = new Promise<void>((resolve) => (gotFirst = resolve));
      const done = new Promise<{ chunks: string; complete: boolean }>((resolve, reject) => {
        const req = http.get(url, { agent: false }, (res) => {
          let chunks = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            chunks += chunk;
            gotFirst();
          });
          res.on('end', () => resolve({ chunks, complete: res.complete }));
          res.on('error', reject);
        });
        req.on('error', reject);
        cleanups.push(() => req.destroy());
      });
      return { first, done };
    }

    /** An open ws client and the close code it will see. */
    async function openWebSocket(port: number): Promise<{ ws: WebSocket; code: Promise<number> }> {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
      cleanups.push(() => ws.terminate());
      ws.on('error', () => undefined);
      const code = new Promise<number>((resolve) => ws.once('close', resolve));
      await once(ws, 'open');
      return { ws, code };
    }

    const allowedRefusals = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE'];
    const expectedStream = Array.from({ length: 10 }, (_, i) => `${i}\n`).join('');

    it('lets in-flight requests and streams finish, refuses new ones, closes WebSockets with 1001, then stats are zero', async () => {
      const handled = new Set<number>();
      let streamsEnded = 0;
      const server = await start(
        (req) => {
          if (req.path === '/stream') {
            return {
              body: interval(100).pipe(
                take(10),
                map((i) => `${i}\n`),
                finalize(() => streamsEnded++),
              ),
            };
          }
          handled.add(Number(req.headers['x-id']));
          return { body: 'ok' };
        },
        { ...fast, websocketHandler: (conn) => conn.in$ },
      );
      let closeCalledAt = Infinity;
      let closedAt = Infinity;
      const load = keepAliveLoad(server.url, 10, () => performance.now() > closedAt);
      const streams = Array.from({ length: 5 }, () => streamed(`${server.url}/stream`));
      const webSockets = await Promise.all(Array.from({ length: 5 }, () => openWebSocket(server.port)));
      await within(5000, Promise.all(streams.map((s) => s.first)), 'the streams to start');
      await until(() => handled.size >= 20, 'the keep-alive load to get going', 5000);

      closeCalledAt = performance.now();
      await within(4500, server.close({ timeout: 5000 }), 'close() to resolve before its timeout');
      closedAt = performance.now();

      const bodies = await within(2000, Promise.all(streams.map((s) => s.done)), 'the streams to end');
      const codes = await within(2000, Promise.all(webSockets.map((s) => s.code)), 'the WebSockets to close');
      const outcomes = await within(10_000, load.done, 'the keep-alive loops to stop');

      for (const body of bodies) expect(body).to.deep.equal({ chunks: expectedStream, complete: true });
      expect(streamsEnded).to.equal(5);
      expect(codes).to.deep.equal([1001, 1001, 1001, 1001, 1001]);
      expect(
        outcomes.filter((o) => o.error === 'HUNG'),
        'hung requests',
      ).to.deep.equal([]);
      const byId = new Map(outcomes.map((o) => [o.id, o]));
      for (const id of handled) {
        expect(byId.get(id), `request ${id}, answered by the handler`).to.deep.include({ status: 200, body: 'ok' });
      }
      const afterClose = outcomes.filter((o) => o.startedAt > closeCalledAt);
      expect(afterClose.length, 'requests sent after close()').to.be.at.least(10);
      for (const o of afterClose) {
        if (o.error !== undefined) expect(allowedRefusals, `request ${o.id}`).to.include(o.error);
        else expect(o.status, `request ${o.id}`).to.equal(503);
      }
      for (const o of outcomes.filter((o) => o.startedAt <= closeCalledAt && o.error !== undefined)) {
        // Only the keep-alive race: a request written to a connection the server was closing as idle.
        expect(allowedRefusals, `request ${o.id}`).to.include(o.error);
      }
      expect(await server.stats()).to.deep.equal(zero);
      figures.gracefulShutdown = {
        requests: outcomes.length,
        answeredByHandler: handled.size,
        afterClose: afterClose.length,
        afterClose503: afterClose.filter((o) => o.status === 503).length,
        afterCloseRefused: afterClose.filter((o) => o.error !== undefined).length,
        beforeCloseErrors: outcomes
          .filter((o) => o.startedAt <= closeCalledAt && o.error !== undefined)
          .map((o) => o.error),
        afterCloseErrorCodes: [...new Set(afterClose.map((o) => o.error))],
        closeMs: Math.round(closedAt - closeCalledAt),
        codes,
      };
    });

    it('lets a process whose server was closed under load exit by itself', async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'rxjet-shutdown-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const script = path.join(dir, 'server.mjs');
      const serverModule = pathToFileURL(path.join(repoRoot, 'src/server/index.ts')).href;
      await writeFile(
        script,
        `import { serve } from ${JSON.stringify(serverModule)};
const server = await serve({
  port: 0,
  host: '127.0.0.1',
  handler: (req) =>
    req.path === '/stream'
      ? {
          body: (async function* () {
            for (let i = 0; i < 10; i++) {
              await new Promise((resolve) => setTimeout(resolve, 100));
              yield i + '\\n';
            }
          })(),
        }
      : { body: 'ok' },
  websocketHandler: (conn) => conn.in$,
});
process.on('SIGTERM', () => {
  server.close({ timeout: 5000 }).then(() => process.stdout.write('closed\\n'));
});
process.stdout.write(server.port + '\\n');
`,
      );
      const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], {
        cwd: repoRoot,
        env: childEnv(),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      cleanups.push(() => child.kill('SIGKILL'));
      const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
      let stdout = '';
      child.stdout!.setEncoding('utf8');
      child.stdout!.on('data', (data: string) => (stdout += data));
      await until(() => stdout.includes('\n'), 'the child server to listen', 15_000);
      const port = Number(stdout.split('\n')[0]);
      const url = `http://127.0.0.1:${port}`;

      let signalled = false;
      const load = keepAliveLoad(url, 4, () => signalled);
      const streams = Array.from({ length: 3 }, () => streamed(`${url}/stream`));
      const webSockets = await Promise.all(Array.from({ length: 3 }, () => openWebSocket(port)));
      await within(5000, Promise.all(streams.map((s) => s.first)), 'the streams to start');
      await within(5000, fetchText(url), 'a request to the child');

      const signalledAt = performance.now();
      child.kill('SIGTERM');
      signalled = true;
      const [code, signal] = await within(8000, exited, 'the child to exit by itself after close()');
      const exitMs = performance.now() - signalledAt;
      expect({ code, signal }).to.deep.equal({ code: 0, signal: null });
      expect(stdout).to.include('closed\n');
      const bodies = await within(2000, Promise.all(streams.map((s) => s.done)), 'the streams to end');
      for (const body of bodies) expect(body).to.deep.equal({ chunks: expectedStream, complete: true });
      expect(await within(2000, Promise.all(webSockets.map((s) => s.code)), 'the WebSockets to close')).to.deep.equal([
        1001, 1001, 1001,
      ]);
      const outcomes = await within(10_000, load.done, 'the keep-alive loops to stop');
      expect(outcomes.filter((o) => o.error === 'HUNG')).to.deep.equal([]);
      figures.childExit = { exitMs: Math.round(exitMs), requests: outcomes.length };
    });
  });
});
