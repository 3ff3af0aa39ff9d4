import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import { tap } from 'rxjs';
import WebSocket from 'ws';
import { WebSocketOverflowError } from '../../src/index.js';
import { createHub, memoryBus, type Hub, type Topic } from '../../src/pubsub/index.js';
import { sse } from '../../src/server/index.js';
import type { CtrlEvent } from '../../src/websocket/index.js';
import { closeAll, start, until, within } from '../helpers.js';

const wsUrl = (server: { url: string }, path = '/'): string => server.url.replace('http:', 'ws:') + path;

/** A plain `ws` client, open, counting what it receives. */
async function member(url: string): Promise<{ client: WebSocket; received: Buffer[] }> {
  const client = new WebSocket(url);
  const received: Buffer[] = [];
  client.on('message', (data: Buffer) => received.push(data));
  await within(5000, once(client, 'open'), 'the client to open');
  return { client, received };
}

describe('a hub topic as a WebSocket room and an SSE stream', () => {
  let hub: Hub;
  afterEach(async () => {
    await closeAll();
    await hub?.close();
  });

  it('sends each message from one client to every client of the room, once', async () => {
    hub = createHub();
    const room = hub.topic<string>('lobby');
    const server = await start(() => ({
      websocket: (conn) => {
        conn.in$.subscribe((m) => void room.publish(String(m)));
        return room;
      },
    }));
    const members = await Promise.all([1, 2, 3].map(() => member(wsUrl(server))));
    members[0]!.client.send('hi from 0');
    members[2]!.client.send('hi from 2');
    await until(() => members.every((m) => m.received.length === 2), 'every member to get both messages');
    for (const m of members) expect(m.received.map(String).sort()).to.deep.equal(['hi from 0', 'hi from 2']);
    for (const m of members) m.client.close();
  });

  it('streams a topic as server-sent events, and leaves it when the client goes away', async () => {
    const inner = memoryBus();
    const left: string[] = [];
    hub = createHub({ bus: { ...inner, unsubscribe: (topic) => (left.push(topic), inner.unsubscribe(topic)) } });
    const news = hub.topic<string>('news');
    let joined = 0;
    const server = await start(() => {
      joined++;
      return sse(news);
    });
    const response = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(`${server.url}/events`, resolve).on('error', reject),
    );
    let body = '';
    response.on('data', (chunk: Buffer) => (body += String(chunk)));
    await until(() => joined === 1, 'the stream to join');
    await news.publish('first');
    await news.publish('second');
    await until(() => body.includes('data: second\n\n'), 'both events');
    expect(body).to.include('data: first\n\n');
    response.destroy();
    await until(() => left.includes('news'), 'the stream to leave the topic');
  });

  it('closes a client that never reads with 1008, while the others get every message and the server holds at most its limit for it', async function () {
    this.timeout(60_000);
    hub = createHub();
    const room: Topic<Uint8Array> = hub.topic<Uint8Array>('feed');
    const highWaterMark = 256 * 1024;
    const events: CtrlEvent[] = [];
    let mostBuffered = 0;
    let joined = 0;
    const server = await start(
      () => ({
        websocket: (conn) => {
          joined++;
          conn.ctrl$.subscribe((e) => events.push(e));
          // What the server holds for each client: ws's send buffer, sampled at every message.
          return room.pipe(tap(() => (mostBuffered = Math.max(mostBuffered, conn.ws.bufferedAmount))));
        },
      }),
      { websocket: { highWaterMark } },
    );
    const readers = await Promise.all([1, 2, 3].map(() => member(wsUrl(server))));
    const slow = await member(wsUrl(server));
    slow.client.pause(); // never reads: the kernel's buffers fill, then the server's
    await until(() => joined === 4, 'four members in the room');

    const message = Buffer.alloc(16 * 1024, 1);
    const batch = 8;
    let sent = 0;
    // Paced by the readers, so only the one that never reads falls behind: 32 MiB in all.
    for (let round = 0; round < 256; round++) {
      for (let i = 0; i < batch; i++) {
        message.writeUInt32BE(sent++, 0);
        await room.publish(message);
      }
      await until(
        () => readers.every((r) => r.received.length === sent),
        `the readers to get ${sent} messages`,
        10_000,
      );
    }
    for (const reader of readers) {
      expect(reader.received.map((m) => m.readUInt32BE(0))).to.deep.equal(Array.from({ length: sent }, (_, i) => i));
    }
    const overflow = events.find((e) => e.type === 'error');
    expect((overflow as { error: unknown } | undefined)?.error).to.be.instanceOf(WebSocketOverflowError);
    // At most the limit plus the message that crossed it, for the slow client and every other.
    expect(mostBuffered).to.be.at.most(highWaterMark + message.length + 64);
    const closed = once(slow.client, 'close');
    slow.client.resume();
    const [code] = (await within(10_000, closed, 'the slow client to see its close')) as [number];
    expect(code).to.equal(1008);
    expect(slow.received.length).to.be.lessThan(sent);
    for (const reader of readers) reader.client.close();
  });
});
