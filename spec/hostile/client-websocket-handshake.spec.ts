import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { catchError, firstValueFrom, of, retry, tap } from 'rxjs';
import { connect, websocket } from '../../src/websocket/index.js';
import { within } from '../helpers.js';
import { failureOf, HostilePeers } from './peers.js';

/** The Sec-WebSocket-Accept answering the upgrade request `request` (RFC 6455 section 4.2.2). */
function acceptFor(request: string): string {
  const key = /sec-websocket-key:\s*(\S+)/i.exec(request)?.[1] ?? '';
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC11B85`).digest('base64');
}

describe('hostile servers against the WebSocket client: the handshake always settles', function () {
  this.timeout(30_000);
  const peers = new HostilePeers();
  afterEach(() => peers.closeAll());

  /** Writes `text` one byte every `ms`, until it is all out or the socket goes. */
  const trickle = (socket: Socket, text: string, ms: number): void => {
    let at = 0;
    peers.every(ms, () => {
      if (socket.destroyed || at >= text.length) return false;
      socket.write(text[at++]!);
      return true;
    });
  };

  it('fails within handshakeTimeout when the 101 head comes a byte at a time', async () => {
    const { url } = await peers.raw((socket, request) => {
      const head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(request)}\r\n\r\n`;
      trickle(socket, head, 50); // about 6 s for the whole head
    });
    const started = Date.now();
    const error = await within(
      4000,
      failureOf(connect(url.replace('http', 'ws'), () => undefined, { handshakeTimeout: 1000 })),
      'the handshake to fail',
    );
    expect(error).to.include({ code: 'RXJET_ERR_WS_CONNECT' });
    expect(String((error as Error).cause)).to.match(/timed out/i);
    expect(Date.now() - started).to.be.at.least(900);
  });

  it('reports a refusal with an endless body once its head is in, with at most 64 KiB of it', async () => {
    const { url } = await peers.raw((socket) => {
      socket.write('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n');
      const chunk = `1000\r\n${'no'.repeat(0x800)}\r\n`;
      peers.every(1, () => !socket.destroyed && (socket.write(chunk), true));
    });
    const error = await within(
      3000,
      failureOf(connect(url.replace('http', 'ws'), () => undefined)),
      'the refusal to be reported',
    );
    expect(error).to.include({ code: 'RXJET_ERR_WS_HANDSHAKE', status: 403 });
    const { body } = error as { body: string };
    expect(body.length).to.be.within(1, 64 * 1024);
    expect(body.startsWith('nonono')).to.equal(true);
  });

  it('reports a refusal whose body trickles forever with the part that came, well within handshakeTimeout', async () => {
    const { url } = await peers.raw((socket) => {
      socket.write('HTTP/1.1 401 Unauthorized\r\ncontent-length: 1000\r\n\r\nlog in');
      trickle(socket, ' first'.repeat(100), 200);
    });
    const error = await within(
      4000,
      failureOf(connect(url.replace('http', 'ws'), () => undefined)),
      'the refusal to be reported',
    );
    expect(error).to.include({ code: 'RXJET_ERR_WS_HANDSHAKE', status: 401 });
    expect((error as { body: string }).body).to.match(/^log in/);
  });

  it('reports a refusal whose body is cut short, and retry goes on to the next attempt', async () => {
    let attempts = 0;
    const { url } = await peers.raw((socket) => {
      attempts++;
      socket.write('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\nx-attempt: 1\r\n\r\ncome back');
      setImmediate(() => socket.destroy());
    });
    const target = url.replace('http', 'ws');
    const error = await within(3000, failureOf(connect(target, () => undefined)), 'connect() to reject');
    expect(error).to.include({ code: 'RXJET_ERR_WS_HANDSHAKE', status: 503, body: 'come back' });
    expect((error as { headers: Record<string, unknown> }).headers).to.include({ 'x-attempt': '1' });
    expect((error as { headers: Record<string, unknown> }).headers.constructor).to.equal(undefined);

    attempts = 0;
    const statuses: number[] = [];
    const last = await within(
      5000,
      firstValueFrom(
        websocket(target).pipe(
          tap({ error: (e: { status: number }) => statuses.push(e.status) }),
          retry({ count: 2, delay: 10 }),
          catchError((e: unknown) => of(e)),
        ),
      ),
      'the retries to give up',
    );
    expect(last).to.include({ code: 'RXJET_ERR_WS_HANDSHAKE', status: 503 });
    expect([attempts, statuses]).to.deep.equal([3, [503, 503, 503]]);
  });
});
