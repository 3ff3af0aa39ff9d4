import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, firstValueFrom, lastValueFrom, map, retry, switchMap, take, timer, toArray } from 'rxjs';
import { WebSocketServer, type WebSocket as PlainSocket } from 'ws';
import { connect, websocket, type CtrlEvent, type WebSocketConnection } from '../../src/websocket/index.js';
import { closeAll, start, until, within } from '../helpers.js';

/** A plain `ws` server on 127.0.0.1, port 0, with a hook for each connection. */
async function plainServer(
  onConnection: (socket: PlainSocket, request: import('node:http').IncomingMessage) => void,
  options: { handleProtocols?: (protocols: Set<string>) => string | false } = {},
): Promise<{ url: string; http: HttpServer; wss: WebSocketServer; close: () => Promise<void> }> {
  const http = createServer((_, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server: http, handleProtocols: options.handleProtocols });
  wss.on('connection', onConnection);
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    http,
    wss,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
      await new Promise((resolve) => http.close(resolve));
    },
  };
}

describe('WebSocket client', function () {
  this.timeout(20_000);
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(cleanups.splice(0).map((f) => f()));
    await closeAll();
  });

  describe('Jet scenarios, rxjet on both ends', () => {
    it('plays PING/PONG in text, offering a subprotocol that is really sent (Jet 28)', async () => {
      const server = await start(undefined, {
        websocket: { protocols: ['permessage-deflate'] },
        websocketHandler: (conn) =>
          conn.in$.pipe(
            take(1),
            filter((m) => m === 'PING'),
            map(() => 'PONG'),
          ),
      });
      const done = new Promise<void>((resolve) => {
        void connect(
          `${server.url.replace('http', 'ws')}/app?foo=bar`,
          (conn) => {
            conn.out$.next('PING');
            conn.in$.pipe(filter((m) => m === 'PONG')).subscribe(() => {
              conn.out$.complete();
              resolve();
            });
          },
          { protocols: ['permessage-deflate'] },
        );
      });
      await within(1000, done, 'PONG');
    });

    it('plays PING/PONG in binary (Jet 29)', async () => {
      const server = await start(undefined, {
        websocketHandler: (conn) =>
          conn.in$.pipe(
            take(1),
            filter((m) => m instanceof Uint8Array && Buffer.from(m).toString() === 'PING'),
            map(() => Buffer.from('PONG')),
          ),
      });
      const done = new Promise<void>((resolve) => {
        void connect(server.url.replace('http', 'ws'), (conn) => {
          conn.out$.next(Buffer.from('PING'));
          conn.in$.subscribe((m) => {
            expect(m).to.be.instanceOf(Uint8Array);
            if (Buffer.from(m as Uint8Array).toString() === 'PONG') {
              conn.out$.complete();
              resolve();
            }
          });
        });
      });
      await within(1000, done, 'binary PONG');
    });
  });

  it('talks to a plain ws server: order, close code and reason', async () => {
    const server = await plainServer((socket) => {
      socket.on('message', (m, isBinary) => socket.send(m, { binary: isBinary }));
      socket.on('message', (m: Buffer) => {
        if (m.toString() === 'bye') socket.close(4001, 'done here');
      });
    });
    cleanups.push(server.close);
    const conn = await connect(server.url, () => undefined);
    const echoed = conn.in$.pipe(take(1000), toArray());
    const result = lastValueFrom(echoed);
    for (let i = 0; i < 1000; i++) conn.out$.next(String(i));
    expect(await result).to.deep.equal(Array.from({ length: 1000 }, (_, i) => String(i)));
    const closed = lastValueFrom(conn.ctrl$);
    conn.out$.next('bye');
    expect(await within(5000, closed, 'the close')).to.deep.equal({ type: 'close', code: 4001, reason: 'done here' });
  });

  it('sends its headers and subprotocols', async () => {
    let seen: { protocol?: string; auth?: string } = {};
    const server = await plainServer(
      (socket, request) => (seen = { protocol: socket.protocol, auth: request.headers.authorization }),
      { handleProtocols: (protocols) => (protocols.has('chat') ? 'chat' : false) },
    );
    cleanups.push(server.close);
    const conn = await connect(server.url, () => undefined, {
      headers: { authorization: 'Bearer t' },
      protocols: ['x', 'chat'],
    });
    expect(conn.ws.protocol).to.equal('chat');
    await until(() => seen.protocol !== undefined, 'the server to see the connection');
    expect(seen).to.deep.equal({ protocol: 'chat', auth: 'Bearer t' });
    conn.out$.complete();
  });

  it('is cold: connects only on subscribe, and closes with 1000 on unsubscribe', async () => {
    const codes: number[] = [];
    let connections = 0;
    const server = await plainServer((socket) => {
      connections++;
      socket.on('close', (code) => codes.push(code));
    });
    cleanups.push(server.close);
    const connection$ = websocket(server.url);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(connections).to.equal(0);
    let open = false;
    const subscription = connection$.subscribe(() => (open = true));
    // The server sees the connection before the client reads the 101: an unsubscribe in between
    // aborts the handshake (1006), so both ends must be open before the normal close is asked for.
    await until(() => connections === 1 && open, 'the connection');
    subscription.unsubscribe();
    await until(() => codes.length === 1, 'the close');
    expect(codes).to.deep.equal([1000]);
  });

  it('closes the connection when the subscriber stops, so firstValueFrom gives a closed one', async () => {
    const server = await plainServer(() => undefined);
    cleanups.push(server.close);
    const conn = await firstValueFrom(websocket(server.url));
    expect(await lastValueFrom(conn.ctrl$)).to.include({ type: 'close', code: 1000 });
  });

  it('completes when the connection closes', async () => {
    const server = await plainServer((socket) => socket.close(1000));
    cleanups.push(server.close);
    const all = await within(5000, lastValueFrom(websocket(server.url).pipe(toArray())), 'completion');
    expect(all).to.have.length(1);
  });

  it('rejects connect() with a WebSocketHandshakeError carrying status and body', async () => {
    const server = await start(() => ({ status: 403, body: 'not for you' }));
    const error = await connect(server.url.replace('http', 'ws'), () => undefined).catch((e: unknown) => e);
    expect(error).to.include({ code: 'RXJET_ERR_WS_HANDSHAKE', status: 403, body: 'not for you' });
  });

  it('rejects connect() with a WebSocketConnectError when nothing listens', async () => {
    const server = await start(() => null);
    const url = server.url.replace('http', 'ws');
    await server.close();
    const error = await connect(url, () => undefined).catch((e: unknown) => e);
    expect(error).to.include({ code: 'RXJET_ERR_WS_CONNECT' });
    expect((error as Error).cause).to.include({ code: 'ECONNREFUSED' });
  });

  it('reconnects with retry({ delay }) until the server accepts', async () => {
    let attempts = 0;
    const server = await start(() => {
      attempts++;
      return attempts < 3
        ? { status: 503, body: 'later' }
        : { websocket: (conn: WebSocketConnection) => conn.out$.next(`attempt ${attempts}`) };
    });
    const message = await within(
      5000,
      firstValueFrom(
        websocket(server.url.replace('http', 'ws')).pipe(
          retry({ count: 5, delay: (_, n) => timer(10 * 2 ** n) }),
          switchMap((conn) => conn.in$),
        ),
      ),
      'a message after reconnecting',
    );
    expect(message).to.equal('attempt 3');
  });

  it('applies maxPayload on the client too (1009)', async () => {
    const server = await plainServer((socket) => socket.send('x'.repeat(4096)));
    cleanups.push(server.close);
    const events: CtrlEvent[] = [];
    await connect(server.url, (conn) => void conn.ctrl$.subscribe((e) => events.push(e)), {
      maxPayload: 1024,
      onError: () => undefined,
    });
    await until(() => events.some((e) => e.type === 'close'), 'the close');
    expect(events.at(-1)).to.include({ type: 'close', code: 1006 });
    expect(events.some((e) => e.type === 'error' && (e.error as { closeCode?: number }).closeCode === 1009)).to.equal(
      true,
    );
  });

  it('leaves no socket behind once closed', async () => {
    const server = await plainServer(() => undefined);
    cleanups.push(server.close);
    const conn = await connect(server.url, () => undefined);
    const underlying = (conn.ws as unknown as { _socket: import('node:net').Socket })._socket;
    conn.out$.complete();
    await lastValueFrom(conn.ctrl$);
    await until(() => underlying.destroyed, 'the TCP socket to be destroyed');
    expect(conn.ws.readyState).to.equal(conn.ws.CLOSED);
  });

  it('checks its options at call time', () => {
    expect(() => websocket('http://example.com')).to.throw('Invalid option "url"');
    expect(() => websocket('ws://127.0.0.1:1', { maxPayload: 0 })).to.throw('Invalid option "maxPayload"');
    expect(() => websocket('ws://127.0.0.1:1', { bogus: 1 } as never)).to.throw('Invalid option "bogus"');
  });
});

describe('WebSocket client limits', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  it('aborts the handshake when unsubscribed before the server answers: the socket is closed at once', async () => {
    const held = createServer();
    let socketClosed = false;
    let upgrades = 0;
    held.on('upgrade', (_request, socket) => {
      upgrades++;
      // Never answered. The server's socket allows half-open: the client's end shows as 'end'.
      socket.on('end', () => (socketClosed = true));
      socket.on('close', () => (socketClosed = true));
      socket.resume();
    });
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    const { port } = held.address() as AddressInfo;
    try {
      const events: string[] = [];
      const subscription = websocket(`ws://127.0.0.1:${port}`).subscribe({
        next: () => events.push('next'),
        error: () => events.push('error'),
        complete: () => events.push('complete'),
      });
      await until(() => upgrades === 1, 'the upgrade request');
      subscription.unsubscribe();
      await until(() => socketClosed, 'the socket to close');
      expect(events).to.deep.equal([]);
    } finally {
      held.closeAllConnections();
      held.close();
    }
  });

  it('fails with a WebSocketConnectError when the handshake takes longer than handshakeTimeout', async () => {
    const silent = createServer();
    silent.on('upgrade', () => undefined); // accepts the connection, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    try {
      const error = await connect(`ws://127.0.0.1:${port}`, () => undefined, { handshakeTimeout: 200 }).catch(
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'RXJET_ERR_WS_CONNECT' });
      expect(String((error as Error).cause)).to.match(/timed out/i);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('compresses with perMessageDeflate on both ends and applies maxPayload after inflating', async () => {
    const server = await start(undefined, {
      websocket: { perMessageDeflate: true, maxPayload: 64 * 1024 },
      websocketHandler: (conn) => conn.in$.pipe(map((m) => `${String(m).length}`)),
    });
    const url = server.url.replace('http', 'ws');
    const replies: string[] = [];
    const events: CtrlEvent[] = [];
    const conn = await connect(
      url,
      (c) => {
        c.in$.subscribe((m) => replies.push(String(m)));
        c.ctrl$.subscribe((e) => events.push(e));
      },
      { perMessageDeflate: true, onError: () => undefined },
    );
    expect(conn.ws.extensions).to.include('permessage-deflate');
    conn.out$.next('a'.repeat(32 * 1024));
    await until(() => replies.length === 1, 'the reply');
    expect(replies).to.deep.equal([String(32 * 1024)]);
    conn.out$.next('a'.repeat(128 * 1024)); // compresses to a few hundred bytes, inflates past the limit
    await until(() => events.some((e) => e.type === 'close'), 'the close');
    expect(events.at(-1)).to.include({ type: 'close', code: 1009 });
  });

  it('drops outbound messages past highWaterMark under overflow: "drop", keeping the socket open', async () => {
    let sent = 0;
    const server = await start(undefined, {
      websocket: { highWaterMark: 256 * 1024, overflow: 'drop' },
      websocketHandler: (conn) => {
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < 1024; i++) {
          conn.out$.next(chunk);
          sent++;
        }
        // Once the peer has caught up, a message goes through again.
        const drained = setInterval(() => {
          if (conn.ws.bufferedAmount === 0) {
            clearInterval(drained);
            conn.out$.next('last');
          }
        }, 5);
      },
    });
    let received = 0;
    let last = '';
    await connect(server.url.replace('http', 'ws'), (c) =>
      c.in$.subscribe((m) => {
        received++;
        if (typeof m === 'string') last = m;
      }),
    );
    await until(() => last === 'last', 'the last message');
    expect(sent).to.equal(1024);
    expect(received).to.be.lessThan(1025);
    expect(server.errors).to.have.length(0);
  });
});
