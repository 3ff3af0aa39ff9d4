import { expect } from 'chai';
import { once } from 'node:events';
import WebSocket from 'ws';
import { createHub, redisBus, type Hub } from '../../src/pubsub/index.js';
import { closeAll, eventually, start, until, within } from '../helpers.js';
import { numsub, startRedisOrSkip, type RedisServer } from './redis-server.js';

/** A plain `ws` client, open, keeping what it receives as text. */
async function member(url: string): Promise<{ client: WebSocket; received: string[] }> {
  const client = new WebSocket(url);
  const received: string[] = [];
  client.on('message', (data: Buffer) => received.push(String(data)));
  await within(5000, once(client, 'open'), 'the client to open');
  return { client, received };
}

describe('WebSocket rooms over two rxjet servers on one Redis', function () {
  this.timeout(30_000);
  let redis: RedisServer;
  const hubs: Hub[] = [];

  before(async function () {
    redis = await startRedisOrSkip(this);
  });
  afterEach(async () => {
    await closeAll();
    await Promise.all(hubs.splice(0).map((h) => h.close()));
  });
  after(async () => {
    await redis?.stop();
  });

  it('delivers a message from a client on either server to every client on both, exactly once', async () => {
    const servers = await Promise.all(
      ['a', 'b'].map(async () => {
        const hub = createHub({ bus: redisBus({ url: redis.url }) });
        hubs.push(hub);
        return start((req) => {
          const room = hub.topic<string>(`room:${req.path.slice(1)}`);
          return {
            websocket: (conn) => {
              conn.in$.subscribe((m) => void room.publish(String(m)));
              return room;
            },
          };
        });
      }),
    );
    const url = (i: number, room: string): string => `${servers[i]!.url.replace('http:', 'ws:')}/${room}`;
    const members = await Promise.all([url(0, '42'), url(0, '42'), url(1, '42'), url(1, '42')].map(member));
    const elsewhere = await member(url(1, '7'));
    // Each server's hub has joined the room on Redis once, for its two clients.
    await eventually(
      () => numsub(redis.url, 'rxjet:room:42'),
      (n) => n === 2,
      'both servers in the room',
    );
    members.forEach((m, i) => m.client.send(`from ${i}`));
    const everything = ['from 0', 'from 1', 'from 2', 'from 3'];
    await until(() => members.every((m) => m.received.length >= everything.length), 'every message everywhere');
    // Anything more (a duplicate) would have arrived by the time one more round trip has.
    members[0]!.client.send('last');
    await until(() => members.every((m) => m.received.includes('last')), 'the last message everywhere');
    for (const m of members) expect(m.received.filter((r) => r !== 'last').sort()).to.deep.equal(everything);
    expect(elsewhere.received).to.deep.equal([]);
    for (const m of [...members, elsewhere]) m.client.close();
  });
});
