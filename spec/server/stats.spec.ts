import { expect } from 'chai';
import http from 'node:http';
import { NEVER } from 'rxjs';
import { WebSocket } from 'ws';
import { closeAll, eventually, start, until } from '../helpers.js';

describe('serve: stats()', () => {
  afterEach(closeAll);

  it('counts connections, running requests and WebSockets, and sees them released', async () => {
    let arrived = false;
    const server = await start(
      () => {
        arrived = true;
        return NEVER;
      },
      { websocketHandler: (conn) => conn.in$ },
    );
    expect(await server.stats()).to.deep.equal({ connections: 0, requests: 0, websockets: 0 });

    const request = http.get(`${server.url}/pending`);
    request.on('error', () => undefined);
    await until(() => arrived, 'the request to arrive');
    expect(await server.stats()).to.deep.equal({ connections: 1, requests: 1, websockets: 0 });

    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    await new Promise((resolve) => ws.once('open', resolve));
    expect(await server.stats()).to.deep.include({ connections: 2, requests: 1, websockets: 1 });

    request.destroy();
    ws.terminate();
    const stats = await eventually(
      () => server.stats(),
      (now) => now.connections + now.requests + now.websockets === 0,
      'everything to be released',
    );
    expect(stats).to.deep.equal({ connections: 0, requests: 0, websockets: 0 });
  });

  it('keeps the old name exchanges, deprecated and not enumerable, reading the same count', async () => {
    const server = await start(() => NEVER);
    const request = http.get(server.url);
    request.on('error', () => undefined);
    const stats = await eventually(
      () => server.stats(),
      (now) => now.requests === 1,
      'the request to be running',
    );
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the deprecated alias is what this test checks
    expect(stats.exchanges).to.equal(1);
    expect(Object.keys(stats)).to.deep.equal(['connections', 'requests', 'websockets']);
    request.destroy();
  });
});
