import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { interval, map, NEVER, take } from 'rxjs';
import { WebSocket } from 'ws';
import { closeAll, selfSignedCertificate, start, until, within } from '../helpers.js';

/** Opens a socket to `port` and sends `request`; resolves with the socket, its bytes collected as they arrive. */
async function rawClient(port: number, request: string): Promise<{ socket: net.Socket; received: () => string }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (data: string) => (text += data));
  socket.write(request);
  return { socket, received: () => text };
}

describe('serve: idleTimeout over HTTP/1.1', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  it('closes a connection whose handler stays silent for idleTimeout, between it and a quarter more', async () => {
    const server = await start(() => NEVER, { idleTimeout: 400 });
    const { socket } = await rawClient(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const sent = performance.now();
    await within(5000, once(socket, 'close'), 'the silent connection to close');
    const after = performance.now() - sent;
    // The sweep runs every 100 ms: closed once 400 ms have passed with no byte, by 500 ms and a
    // loaded machine's slack.
    expect(after).to.be.at.least(350).and.below(3000);
  });

  it('closes a new connection that sends nothing for idleTimeout', async () => {
    const server = await start(() => ({ body: 'ok' }), { idleTimeout: 300, headersTimeout: 20_000 });
    const { socket } = await rawClient(server.port, '');
    const opened = performance.now();
    await within(5000, once(socket, 'close'), 'the silent new connection to close');
    expect(performance.now() - opened).to.be.at.least(250);
  });

  it('leaves a keep-alive connection between requests to keepAliveTimeout, even when it is longer', async () => {
    const server = await start(() => ({ body: 'ok' }), { idleTimeout: 300, keepAliveTimeout: 1500 });
    const { socket, received } = await rawClient(server.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => received().endsWith('ok'), 'the answer');
    const answered = performance.now();
    await within(10_000, once(socket, 'close'), 'the keep-alive connection to close');
    // Closed by keepAliveTimeout (1.5 s), not by idleTimeout (0.3 s and a quarter more).
    expect(performance.now() - answered).to.be.at.least(1200);
  });

  it('keeps a response that sends less often than idleTimeout, however long it lasts, and the connection after it', async () => {
    const server = await start(
      () => ({
        body: interval(100).pipe(
          take(12),
          map((i: number) => `${i},`),
        ),
      }),
      {
        idleTimeout: 400,
      },
    );
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (): Promise<{ body: string; socket: net.Socket }> =>
      new Promise((resolve, reject) => {
        http
          .get({ port: server.port, host: '127.0.0.1', agent }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ body, socket: res.socket }));
          })
          .on('error', reject);
      });
    try {
      const first = await get();
      expect(first.body).to.equal('0,1,2,3,4,5,6,7,8,9,10,11,');
      const second = await get();
      expect(second.body).to.equal(first.body);
      expect(second.socket).to.equal(first.socket); // the same keep-alive connection, 2.4 s in all
    } finally {
      agent.destroy();
    }
  });

  for (const secure of [false, true]) {
    it(`leaves a WebSocket to its heartbeat: an idle one outlives idleTimeout (${secure ? 'wss' : 'ws'})`, async () => {
      const tls = secure ? await selfSignedCertificate() : undefined;
      const server = await start(() => ({ body: 'not a websocket' }), {
        idleTimeout: 200,
        websocketHandler: (conn) => conn.in$,
        ...(tls === undefined ? {} : { tls }),
      });
      const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://127.0.0.1:${server.port}/`, tls && { ca: tls.cert });
      await idleThenEcho(ws);
    });
  }

  it('closes an idle connection over TLS too', async () => {
    const tls = await selfSignedCertificate();
    const server = await start(() => NEVER, { idleTimeout: 400, tls });
    const { request } = await import('node:https');
    const req = request({ port: server.port, host: '127.0.0.1', ca: tls.cert, path: '/' });
    req.on('error', () => undefined);
    req.end();
    const [socket] = (await within(5000, once(req, 'socket'), 'a socket')) as [net.Socket];
    await within(5000, once(socket, 'close'), 'the silent TLS connection to close');
  });
});

/** Waits five idle timeouts on an open WebSocket, then checks that it still echoes. */
async function idleThenEcho(ws: WebSocket): Promise<void> {
  await once(ws, 'open');
  let closed = false;
  ws.once('close', () => (closed = true));
  // The time under test, not a wait for an event: idle for five idle timeouts, then still echoing.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  expect(closed).to.equal(false);
  ws.send('still here');
  const [echo] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
  expect(echo.toString()).to.equal('still here');
  ws.close();
}
