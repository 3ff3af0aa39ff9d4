import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { finalize, interval, map, NEVER } from 'rxjs';
import { WebSocket } from 'ws';
import { text } from '../../src/server/index.js';
import type { ServeOptions } from '../../src/server/index.js';
import { closeAll, eventually, settled, start, until, within } from '../helpers.js';
import { RawClient } from './wire.js';

/*
 * Requests that carry an Upgrade header. Only a WebSocket handshake the app accepts leaves
 * HTTP: every other one (`Upgrade: h2c`, which curl --http2 sends on every cleartext request,
 * or any other token) is an ordinary request, body and limits included, and a handshake the
 * handler refuses is answered as an ordinary response, with backpressure, the idle timeout,
 * teardown when the client leaves, and close(). The exact bytes are sent over net.
 */

const offers = {
  'Upgrade: h2c': 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n',
  'Upgrade: foo': 'Connection: Upgrade\r\nUpgrade: foo\r\n',
  'Upgrade: websocket (refused by the handler)':
    'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n',
};

/** A feed that never ends, noting its subscriptions, for the handler to answer with. */
function feed(): { subscribed: number; active: number; handler: NonNullable<ServeOptions['handler']> } {
  const state = {
    subscribed: 0,
    active: 0,
    handler: () => ({
      headers: { 'content-type': 'text/event-stream' },
      body: interval(20).pipe(
        map((i) => {
          if (i === 0) {
            state.subscribed++;
            state.active++;
          }
          return `data: ${i}\n\n`;
        }),
        finalize(() => state.active > 0 && state.active--),
      ),
    }),
  };
  return state;
}

/** A pull body of `total` bytes in 64 KiB chunks, counting how many it was asked for. */
function download(total: number): { pulled: () => number; handler: NonNullable<ServeOptions['handler']> } {
  let pulled = 0;
  const chunk = new Uint8Array(64 * 1024);
  return {
    pulled: () => pulled,
    handler: () => ({
      body: (async function* () {
        while (pulled < total) {
          pulled += chunk.byteLength;
          yield chunk;
        }
      })(),
    }),
  };
}

describe('hostile: requests with an Upgrade header', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  for (const [offer, headers] of Object.entries(offers)) {
    describe(offer, () => {
      it('streams a never-ending body as it goes, and tears it down when the client leaves', async () => {
        const events = feed();
        const server = await start(events.handler);
        const client = await new RawClient(server.port).connected();
        client.write(`GET /events HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
        await until(() => client.received.includes('data: 2\n\n'), 'three events while the feed runs', 5000);
        expect(client.received).to.match(/^HTTP\/1\.1 200 OK\r\n/);
        client.destroy();
        await until(() => events.active === 0, 'the feed to be unsubscribed');
        expect(events.subscribed).to.equal(1);
        await eventually(
          () => server.stats(),
          (s) => s.connections === 0 && s.requests === 0,
          'nothing held',
        );
      });

      it('reads a 512 MiB pull download no further ahead than a client that does not read', async () => {
        const big = download(512 * 1024 * 1024);
        const server = await start(big.handler);
        const client = await new RawClient(server.port).connected();
        client.socket.pause();
        client.write(`GET /download HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
        // The server pulls until the socket buffers are full, then waits for the client.
        const held = await settled(big.pulled, 300, 10_000);
        expect(held, 'bytes pulled for a client that reads nothing').to.be.below(32 * 1024 * 1024);
        client.destroy();
        await eventually(
          () => server.stats(),
          (s) => s.connections === 0 && s.requests === 0,
          'nothing held',
        );
      });

      it('closes a silent exchange after idleTimeout', async () => {
        const server = await start(() => NEVER, { idleTimeout: 300 });
        const client = await new RawClient(server.port).connected();
        client.write(`GET /never HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
        expect(await client.closedWithin(5000), 'closed by the idle timeout').to.equal(true);
      });

      it('lets close({ timeout: 500 }) end a stream that is still running', async () => {
        const events = feed();
        const server = await start(events.handler);
        const client = await new RawClient(server.port).connected();
        client.write(`GET /events HTTP/1.1\r\nHost: x\r\n${headers}\r\n`);
        await until(() => client.received.includes('data: 0\n\n'), 'the first event');
        await within(3000, server.close({ timeout: 500 }), 'close() to resolve');
        await until(() => events.active === 0, 'the feed to be unsubscribed');
        expect(await client.closedWithin(2000)).to.equal(true);
      });
    });
  }

  for (const [name, extra] of [
    ['two Host fields', 'Host: y\r\n'],
    ['Transfer-Encoding: chunked, gzip', 'Transfer-Encoding: chunked, gzip\r\n'],
  ] as const) {
    it(`refuses a WebSocket handshake with ${name} with 400, calling no handler`, async () => {
      let called = 0;
      const server = await start(() => {
        called++;
        return { websocket: (conn) => conn.in$ };
      }, {});
      const client = await new RawClient(server.port).connected();
      client.write(
        `GET /ws HTTP/1.1\r\nHost: x\r\n${extra}${offers['Upgrade: websocket (refused by the handler)']}\r\n`,
      );
      expect(await client.closedWithin(5000)).to.equal(true);
      expect(client.received).to.match(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(called).to.equal(0);
    });
  }

  describe('curl --http2 on cleartext (an Upgrade: h2c offer), answered in HTTP/1.1', () => {
    /** Runs curl; resolves with what it printed. */
    async function curl(args: string[]): Promise<string> {
      const child = spawn('curl', ['-sS', '--http2', ...args]);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const [code] = (await within(10_000, once(child, 'exit'), 'curl to finish')) as [number];
      expect(code, 'curl exit code').to.equal(0);
      return out;
    }

    for (const withWebSockets of [false, true]) {
      const kind = withWebSockets ? 'with a websocketHandler too' : 'with only a handler';
      it(`keeps a POST body and answers GET and POST (${kind})`, async () => {
        const server = await start((req) => text(req).pipe(map((body) => ({ body: `${req.method} ${body}` }))), {
          ...(withWebSockets ? { websocketHandler: (conn) => conn.in$ } : {}),
        });
        expect(await curl(['-d', 'name=ann', '-w', ' %{http_version}', `${server.url}/form`])).to.equal(
          'POST name=ann 1.1',
        );
        expect(await curl(['-w', ' %{http_version}', `${server.url}/`])).to.equal('GET  1.1');
        if (withWebSockets) {
          const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
          await within(5000, once(ws, 'open'), 'the WebSocket to open');
          ws.send('still a WebSocket');
          const [data] = (await within(5000, once(ws, 'message'), 'the echo')) as [Buffer];
          expect(data.toString()).to.equal('still a WebSocket');
          ws.close();
          await once(ws, 'close');
        }
      });
    }

    it('streams server-sent events as they come', async () => {
      const events = feed();
      const server = await start(events.handler);
      const child = spawn('curl', ['-sSN', '--http2', `${server.url}/events`]);
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      try {
        await until(() => out.includes('data: 4\n\n'), 'five events through curl --http2', 5000);
      } finally {
        child.kill();
      }
      await until(() => events.active === 0, 'the feed to be unsubscribed after curl left');
    });
  });
});
