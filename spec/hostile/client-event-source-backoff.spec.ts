import { expect } from 'chai';
import { lastValueFrom, type Subscription } from 'rxjs';
import { createClient, eventSource, type Client } from '../../src/client/index.js';
import { until, within } from '../helpers.js';
import { HostilePeers } from './peers.js';

describe('hostile servers against eventSource: reconnections back off when streams bring nothing', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  let client: Client;
  let subscription: Subscription | undefined;
  beforeEach(() => {
    client = createClient();
  });
  afterEach(async () => {
    subscription?.unsubscribe();
    await peers.closeAll();
    await client.close();
  });

  /** A server answering each request as `answer` does, noting when each came. */
  const server = async (answer: (socket: import('node:net').Socket) => void) => {
    const times: number[] = [];
    const { url } = await peers.raw((socket) => {
      times.push(Date.now());
      answer(socket);
    });
    return { url, times };
  };
  const emptyStream = (socket: import('node:net').Socket): void => {
    socket.end(
      'HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\nretry: 0\n: nothing here\n\n',
    );
  };

  it('backs off from a server that answers retry: 0 and closes at once, instead of hammering it', async () => {
    const { url, times } = await server(emptyStream);
    subscription = eventSource(client, url).subscribe({ error: () => undefined });
    await until(() => times.length >= 6, 'six requests', 10_000);
    // Three reconnections at the server's pace, then 1 s, then 2 s.
    expect(times[4]! - times[3]!).to.be.at.least(990);
    expect(times[5]! - times[4]!).to.be.at.least(1990);
  });

  it('backs off from connections that break before a response, with retry: 0 asked for', async () => {
    const { url, times } = await server((socket) => socket.destroy());
    subscription = eventSource(client, url, { retry: 0 }).subscribe({ error: () => undefined });
    await until(() => times.length >= 5, 'five connections', 10_000);
    expect(times[4]! - times[3]!).to.be.at.least(990);
  });

  it('counts streams that end without an event toward maxReconnects', async () => {
    const { url, times } = await server(emptyStream);
    const events = await within(
      10_000,
      lastValueFrom(eventSource(client, url, { maxReconnects: 3 }), { defaultValue: 'none' }),
      'eventSource to give up',
    );
    expect(events).to.equal('none');
    expect(times).to.have.length(4);
  });
});
