import { expect } from 'chai';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { connect } from '../../src/websocket/index.js';
import { selfSignedCertificate, within } from '../helpers.js';

describe('WebSocket client over TLS (wss:)', function () {
  this.timeout(30_000);
  let server: Server;
  let wss: WebSocketServer;
  let cert: Buffer;
  let url: string;

  before(async () => {
    const made = await selfSignedCertificate();
    cert = made.cert;
    server = createServer(made);
    wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => socket.send('secure hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const client of wss.clients) client.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses a certificate it cannot verify by default', async () => {
    const error = await connect(url, () => undefined).catch((e: unknown) => e);
    expect(error).to.include({ code: 'RXJET_ERR_WS_CONNECT' });
    expect(String((error as Error).cause)).to.match(/self[- ]signed/i);
  });

  it('connects when the certificate authority is given with ca', async () => {
    const message = await within(
      5000,
      new Promise<string>((resolve, reject) => {
        connect(url, (conn) => conn.in$.subscribe((m) => resolve(String(m))), { ca: cert }).catch(reject);
      }),
      'a message over TLS',
    );
    expect(message).to.equal('secure hello');
  });

  it('connects to an unverified server only with rejectUnauthorized: false', async () => {
    const conn = await connect(url, () => undefined, { rejectUnauthorized: false });
    expect(conn.request.scheme).to.equal('https');
    conn.out$.complete();
  });
});
