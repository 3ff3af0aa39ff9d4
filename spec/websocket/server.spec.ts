import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { filter, firstValueFrom, map, take, toArray, lastValueFrom, Subject } from 'rxjs';
import WebSocket from 'ws';
import type { CtrlEvent, WebSocketConnection } from '../../src/websocket/index.js';
import { closeAll, fetchText, start, until, within } from '../helpers.js';
import { closeCodeIn, rawWebSocket } from './raw.js';

const wsUrl = (server: { url: string }, path = '/'): string => server.url.replace('http:', 'ws:') + path;

/** A plain `ws` client, open. */
async function wsClient(url: string, options?: WebSocket.ClientOptions, protocols?: string[]): Promise<WebSocket> {
  const client = new WebSocket(url, protocols, options);
  await within(5000, once(client, 'open'), 'the ws client to open');
  return client;
}

/** The first message a new plain `ws` client gets (listening from the start: it may come with the handshake). */
async function firstMessage(url: string): Promise<{ client: WebSocket; message: string }> {
  const client = new WebSocket(url);
  const [message] = (await within(5000, once(client, 'message'), 'a message')) as [Buffer];
  return { client, message: message.toString() };
}

/** How a plain `ws` client's handshake is refused. */
async function refusal(
  url: string,
  options?: WebSocket.ClientOptions,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const client = new WebSocket(url, options);
  client.on('error', () => undefined);
  const [, response] = (await within(5000, once(client, 'unexpected-response'), 'the refusal')) as [
    unknown,
    import('node:http').IncomingMessage,
  ];
  let body = '';
  for await (const chunk of response) body += String(chunk);
  client.terminate();
  return { status: response.statusCode!, headers: response.headers, body };
}

describe('WebSocket server', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  it('hands every upgrade to websocketHandler, on any path, with the request map', async () => {
    let seen: WebSocketConnection | undefined;
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        seen = conn;
        conn.out$.next('hello');
      },
    });
    const { client, message } = await firstMessage(wsUrl(server, '/app?foo=bar'));
    expect(message).to.equal('hello');
    expect([seen!.request.path, seen!.request.query, seen!.request.method]).to.deep.equal(['/app', 'foo=bar', 'GET']);
    expect(seen!.request.headers.upgrade).to.equal('websocket');
    client.close();
  });

  it("keeps each connection's headers as its client sent them, for as long as it is open", async () => {
    const seen: WebSocketConnection[] = [];
    const server = await start(undefined, { websocketHandler: (conn) => void seen.push(conn) });
    const headersOf = (i: number): Record<string, string> => ({
      origin: `https://app${i % 2}.example`,
      'user-agent': i % 2 === 0 ? 'agent/1' : 'agent/2',
      cookie: `session=${i}`,
      'x-client': `client ${i}`,
    });
    const clients: WebSocket[] = [];
    for (let i = 0; i < 4; i++) clients.push(await wsClient(wsUrl(server), { headers: headersOf(i) }));
    await until(() => seen.length === 4, 'four connections');
    const keys = new Set<string>();
    for (const conn of seen) {
      const i = Number(conn.request.headers['x-client']!.slice(7));
      expect(conn.request.headers).to.include({ ...headersOf(i), upgrade: 'websocket', 'sec-websocket-version': '13' });
      expect(conn.request.headers.host).to.equal(new URL(server.url).host);
      keys.add(conn.request.headers['sec-websocket-key']!);
    }
    expect(keys.size).to.equal(4);
    for (const client of clients) client.close();
  });

  it('gives node’s request in the handler and aborts conn.request.signal when the socket closes', async () => {
    let rawInHandler: unknown;
    let signal: AbortSignal | undefined;
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        rawInHandler = conn.request.raw;
        signal = conn.request.signal;
      },
    });
    const client = await wsClient(wsUrl(server));
    await until(() => signal !== undefined, 'the handler');
    expect(rawInHandler).to.be.instanceOf(http.IncomingMessage);
    expect(signal!.aborted).to.equal(false);
    client.close();
    await within(5000, new Promise((resolve) => signal!.addEventListener('abort', resolve)), 'the signal to abort');
    expect(signal!.reason).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED' });
  });

  it('answers plain requests to a WebSocket-only server with 426', async () => {
    const server = await start(undefined, { websocketHandler: () => undefined });
    const res = await fetchText(server.url);
    expect([res.status, res.headers.upgrade]).to.deep.equal([426, 'websocket']);
  });

  it('accepts per path when the handler answers { websocket }, and answers 426 to a plain request there', async () => {
    const server = await start((req) =>
      req.path === '/ws' ? { websocket: (conn: WebSocketConnection) => conn.out$.next('routed') } : null,
    );
    const { client, message } = await firstMessage(wsUrl(server, '/ws'));
    expect(message).to.equal('routed');
    client.close();
    expect((await fetchText(`${server.url}/ws`)).status).to.equal(426);
  });

  it('refuses the upgrade with the status and body the handler answers', async () => {
    const server = await start(() => ({
      status: 401,
      headers: { 'www-authenticate': 'Bearer' },
      body: 'who are you?',
    }));
    const { status, headers, body } = await refusal(wsUrl(server, '/ws'));
    expect([status, headers['www-authenticate'], body]).to.deep.equal([401, 'Bearer', 'who are you?']);
  });

  it('refuses with 404 when the handler answers nothing', async () => {
    const server = await start(() => null);
    expect((await refusal(wsUrl(server))).status).to.equal(404);
  });

  it('delivers thousands of messages in order, text as strings and binary as Uint8Arrays', async () => {
    const count = 5000;
    let received: unknown[] = [];
    const done = new Promise<void>((resolve) => {
      void start(undefined as never, {
        websocketHandler: (conn) => {
          conn.in$.pipe(take(count + 1), toArray()).subscribe((all) => {
            received = all;
            resolve();
          });
        },
      }).then(async (server) => {
        const client = await wsClient(wsUrl(server));
        for (let i = 0; i < count; i++) client.send(String(i));
        client.send(Buffer.from([1, 2, 3]));
      });
    });
    await within(10_000, done, 'every message');
    expect(received.slice(0, count)).to.deep.equal(Array.from({ length: count }, (_, i) => String(i)));
    expect(received[count]).to.be.instanceOf(Uint8Array);
    expect([...(received[count] as Uint8Array)]).to.deep.equal([1, 2, 3]);
  });

  it('closes with 1000 when out$ completes, after sending what was queued', async () => {
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        conn.out$.next('one');
        conn.out$.next('two');
        conn.out$.complete();
      },
    });
    const client = new WebSocket(wsUrl(server));
    const messages: string[] = [];
    client.on('message', (m: Buffer) => messages.push(m.toString()));
    const [code] = (await once(client, 'close')) as [number];
    expect([code, messages]).to.deep.equal([1000, ['one', 'two']]);
  });

  it('closes with 1011 when out$ errors, and when the handler throws (reported once)', async () => {
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        if (conn.request.path === '/throw') throw new Error('handler bug');
        conn.out$.error(new Error('stream bug'));
      },
    });
    for (const path of ['/error', '/throw']) {
      const client = new WebSocket(wsUrl(server, path));
      const [code] = (await once(client, 'close')) as [number];
      expect(code, path).to.equal(1011);
    }
    expect(server.errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['RXJET_ERR_HANDLER']);
  });

  it('sees the close code and reason the client sends, then completes in$ and ctrl$', async () => {
    const events: CtrlEvent[] = [];
    let inCompleted = false;
    const closed = new Subject<void>();
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        conn.ctrl$.subscribe({ next: (e) => events.push(e), complete: () => closed.next() });
        conn.in$.subscribe({ complete: () => (inCompleted = true) });
      },
    });
    const client = await wsClient(wsUrl(server));
    const ended = firstValueFrom(closed);
    client.close(4000, 'bye');
    await within(5000, ended, 'ctrl$ to complete');
    expect(events).to.deep.equal([{ type: 'open' }, { type: 'close', code: 4000, reason: 'bye' }]);
    expect(inCompleted).to.equal(true);
  });

  it('reports an abrupt disconnect as 1006 and completes in$', async () => {
    let conn: WebSocketConnection | undefined;
    const server = await start(undefined, { websocketHandler: (c) => void (conn = c) });
    const client = await wsClient(wsUrl(server));
    await until(() => conn !== undefined, 'the handler');
    const last = lastValueFrom(conn!.ctrl$);
    const inDone = lastValueFrom(conn!.in$, { defaultValue: 'completed' });
    client.terminate();
    expect(await within(5000, last, 'the close event')).to.include({ type: 'close', code: 1006 });
    expect(await inDone).to.equal('completed');
  });

  it('closes an oversize message with 1009 (maxPayload)', async () => {
    const errors: CtrlEvent[] = [];
    const server = await start(undefined, {
      websocket: { maxPayload: 1024 },
      websocketHandler: (conn) => conn.ctrl$.pipe(filter((e) => e.type === 'error')).subscribe((e) => errors.push(e)),
    });
    const client = await wsClient(wsUrl(server));
    client.send('x'.repeat(2048));
    const [code] = (await once(client, 'close')) as [number];
    expect(code).to.equal(1009);
    await until(() => errors.length > 0, 'the error on ctrl$');
    expect((errors[0] as { error: unknown }).error).to.include({
      code: 'RXJET_ERR_WS_PROTOCOL',
      closeCode: 1009,
    });
  });

  it('closes invalid UTF-8 in a text frame with 1007', async () => {
    const server = await start(undefined, { websocketHandler: () => undefined });
    const raw = await rawWebSocket(server.port);
    raw.frame(0x1, Buffer.from([0x68, 0xff, 0xfe]));
    await within(5000, raw.closed, 'the server to close');
    expect(closeCodeIn(raw.received())).to.equal(1007);
  });

  it('closes a message in more fragments than maxFragments with 1008', async () => {
    const errors: CtrlEvent[] = [];
    const server = await start(undefined, {
      websocket: { maxFragments: 4 },
      websocketHandler: (conn) => conn.ctrl$.pipe(filter((e) => e.type === 'error')).subscribe((e) => errors.push(e)),
    });
    const raw = await rawWebSocket(server.port);
    raw.frame(0x1, Buffer.from('a'), { fin: false });
    for (let i = 0; i < 5; i++) raw.frame(0x0, Buffer.from('b'), { fin: false });
    await within(5000, raw.closed, 'the server to close');
    expect(closeCodeIn(raw.received())).to.equal(1008);
    expect((errors[0] as { error: unknown }).error).to.include({ code: 'RXJET_ERR_WS_PROTOCOL', closeCode: 1008 });
  });

  it('closes a frame with reserved bits set with 1002', async () => {
    const server = await start(undefined, { websocketHandler: () => undefined });
    const raw = await rawWebSocket(server.port);
    raw.frame(0x1, Buffer.from('hi'), { rsv: 0b100 });
    await within(5000, raw.closed, 'the server to close');
    expect(closeCodeIn(raw.received())).to.equal(1002);
  });

  it('selects a subprotocol from the list, in the server’s order of preference', async () => {
    const server = await start(undefined, {
      websocket: { protocols: ['v2', 'v1'] },
      websocketHandler: () => undefined,
    });
    const client = await wsClient(wsUrl(server), {}, ['v1', 'v2']);
    expect(client.protocol).to.equal('v2');
    client.close();
  });

  it('selects a subprotocol with a function', async () => {
    const server = await start(undefined, {
      websocket: { protocols: (offered) => offered.find((p) => p.startsWith('chat')) ?? false },
      websocketHandler: () => undefined,
    });
    const client = await wsClient(wsUrl(server), {}, ['x', 'chat.v3']);
    expect(client.protocol).to.equal('chat.v3');
    client.close();
  });

  it('refuses an origin that is not allowed with 403', async () => {
    const server = await start(undefined, {
      websocket: { origins: ['http://good.example'] },
      websocketHandler: () => undefined,
    });
    const good = await wsClient(wsUrl(server), { origin: 'http://good.example' });
    good.close();
    expect((await refusal(wsUrl(server), { origin: 'http://evil.example' })).status).to.equal(403);
  });

  it('terminates a peer that never answers heartbeat pings (1006, error on ctrl$)', async () => {
    const events: CtrlEvent[] = [];
    const server = await start(undefined, {
      websocket: { heartbeat: 100 },
      websocketHandler: (conn) => conn.ctrl$.subscribe((e) => events.push(e)),
    });
    const raw = await rawWebSocket(server.port);
    await within(5000, raw.closed, 'the silent peer to be terminated');
    await until(() => events.some((e) => e.type === 'close'), 'the close event');
    const error = events.find((e) => e.type === 'error') as { error: { code?: string } } | undefined;
    expect(error?.error.code).to.equal('RXJET_ERR_WS_HEARTBEAT');
    expect(events.at(-1)).to.include({ type: 'close', code: 1006 });
  });

  it('keeps a peer that answers pings', async () => {
    const events: CtrlEvent[] = [];
    const server = await start(undefined, {
      websocket: { heartbeat: 50 },
      websocketHandler: (conn) => conn.ctrl$.subscribe((e) => events.push(e)),
    });
    const client = await wsClient(wsUrl(server));
    await until(() => events.filter((e) => e.type === 'pong').length >= 3, 'three pongs');
    expect(client.readyState).to.equal(WebSocket.OPEN);
    client.close();
  });

  it('pauses reading a flood nobody consumes, and delivers it all in order when pulled', async () => {
    let conn: WebSocketConnection | undefined;
    const server = await start(undefined, {
      websocket: { inboundHighWaterMark: 64 * 1024 },
      websocketHandler: (c) => void (conn = c),
    });
    const client = await wsClient(wsUrl(server));
    const message = 'x'.repeat(1024);
    const count = 20_000; // 20 MiB
    for (let i = 0; i < count; i++) client.send(`${i}:${message}`);
    await until(() => conn !== undefined && (conn.ws as unknown as { isPaused: boolean }).isPaused, 'reads to pause');
    await until(() => client.bufferedAmount > 1024 * 1024, 'the flood to back up into the client');
    let next = 0;
    for await (const m of conn!.in$) {
      expect(String(m).split(':')[0]).to.equal(String(next));
      if (++next === count) break;
    }
    expect(next).to.equal(count);
    client.close();
  });

  it('closes with 1008 and a WebSocketOverflowError when a peer does not read what is sent', async () => {
    const events: CtrlEvent[] = [];
    let sent = 0;
    const server = await start(undefined, {
      websocket: { highWaterMark: 256 * 1024 },
      websocketHandler: (conn) => {
        conn.ctrl$.subscribe((e) => events.push(e));
        const chunk = Buffer.alloc(64 * 1024);
        for (let i = 0; i < 4096 && conn.ws.readyState === conn.ws.OPEN; i++, sent++) conn.out$.next(chunk);
      },
    });
    const raw = await rawWebSocket(server.port);
    raw.socket.pause();
    await until(() => events.some((e) => e.type === 'error'), 'the overflow');
    const error = events.find((e) => e.type === 'error') as { error: { code?: string } } | undefined;
    expect(error?.error.code).to.equal('RXJET_ERR_WS_OVERFLOW');
    expect(sent).to.be.lessThan(4096);
    raw.socket.destroy();
  });

  it('puts a WebSocketClosedError on ctrl$ for a message sent while closing', async () => {
    const events: CtrlEvent[] = [];
    const server = await start(undefined, {
      websocketHandler: (conn) => {
        conn.ctrl$.subscribe((e) => events.push(e));
        conn.ws.close(1000);
        conn.out$.next('too late');
      },
    });
    const client = new WebSocket(wsUrl(server));
    await once(client, 'close');
    await until(() => events.some((e) => e.type === 'close'), 'the close');
    expect(events.map((e) => (e.type === 'error' ? (e.error as { code?: string }).code : e.type))).to.deep.equal([
      'open',
      'RXJET_ERR_WS_CLOSED',
      'close',
    ]);
  });

  it('sends an async iterable at the socket’s pace with send()', async () => {
    const server = await start(undefined, {
      websocketHandler: (conn) =>
        conn
          .send(
            (async function* () {
              for (let i = 0; i < 100; i++) yield `m${i}`;
            })(),
          )
          .subscribe({ complete: () => conn.out$.complete() }),
    });
    const client = new WebSocket(wsUrl(server));
    const messages: string[] = [];
    client.on('message', (m: Buffer) => messages.push(m.toString()));
    await once(client, 'close');
    expect(messages).to.deep.equal(Array.from({ length: 100 }, (_, i) => `m${i}`));
  });

  it('closes every socket with 1001 on server.close() and completes their streams', async () => {
    let completed = 0;
    const server = await start(undefined, {
      websocketHandler: (conn) => conn.ctrl$.subscribe({ complete: () => completed++ }),
    });
    const clients = await Promise.all([wsClient(wsUrl(server)), wsClient(wsUrl(server))]);
    const codes = Promise.all(clients.map(async (c) => ((await once(c, 'close')) as [number])[0]));
    await within(5000, server.close({ timeout: 3000 }), 'close()');
    expect(await codes).to.deep.equal([1001, 1001]);
    expect(completed).to.equal(2);
  });

  it('answers an Observable the handler returns on out$ (echo)', async () => {
    const server = await start(undefined, {
      websocketHandler: (conn) => conn.in$.pipe(map((m) => `echo ${String(m)}`)),
    });
    const client = await wsClient(wsUrl(server));
    client.send('hi');
    const [message] = (await once(client, 'message')) as [Buffer];
    expect(message.toString()).to.equal('echo hi');
    client.close();
  });
});
