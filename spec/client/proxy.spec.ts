import { expect } from 'chai';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { map } from 'rxjs';
import { createClient, get } from '../../src/client/index.js';
import { closeAll, settled, start } from '../helpers.js';

describe('proxying a client body through the server', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  it('pulls upstream only as fast as the downstream client reads, with nothing buffered between', async () => {
    let written = 0;
    const total = 1024; // 64 MiB in 64 KiB chunks
    const upstream = http.createServer((_, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'u');
      const pump = (): void => {
        while (written < total) {
          written++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const client = createClient();
    try {
      const server = await start(() =>
        get(client, upstreamUrl).pipe(map((res) => ({ status: res.status, body: res.body }))),
      );
      const downstream = net.connect(server.port, '127.0.0.1');
      await once(downstream, 'connect');
      downstream.pause();
      const closed = once(downstream, 'close');
      downstream.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const stalledAt = await settled(() => written);
      expect(stalledAt).to.be.lessThan(total / 2, 'upstream waited for the downstream client');
      let received = 0;
      downstream.on('data', (data: Buffer) => (received += data.length));
      downstream.resume();
      await closed;
      expect(written).to.equal(total);
      expect(received).to.be.greaterThan(total * 64 * 1024);
    } finally {
      await client.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});
