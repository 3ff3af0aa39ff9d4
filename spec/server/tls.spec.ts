import { expect } from 'chai';
import { once } from 'node:events';
import https from 'node:https';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { createClient, get } from '../../src/client/index.js';
import { serve } from '../../src/server/index.js';
import { closeAll, selfSignedCertificate, start } from '../helpers.js';

describe('serve over TLS', function () {
  this.timeout(30_000);
  afterEach(closeAll);
  let key: Buffer;
  let cert: Buffer;
  before(async () => {
    ({ key, cert } = await selfSignedCertificate());
  });

  it('serves HTTPS with tls: { key, cert }: an https URL, scheme https, to node and to the rxjet client', async () => {
    const server = await start((req) => ({ body: `${req.scheme} ${req.path}` }), { tls: { key, cert } });
    expect(server.url).to.match(/^https:\/\/127\.0\.0\.1:\d+$/);

    const viaNode = await new Promise<string>((resolve, reject) => {
      https
        .get(`${server.url}/node`, { ca: cert }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect(viaNode).to.equal('https /node');

    const client = createClient({ ca: cert });
    try {
      const res = await firstValueFrom(get(client, `${server.url}/client`, { as: 'text' }));
      expect(res.body).to.equal('https /client');
      // Without the certificate authority, the self-signed certificate is refused.
      const untrusting = createClient();
      const refused = await firstValueFrom(get(untrusting, `${server.url}/`)).catch((e: unknown) => e);
      await untrusting.close();
      expect(refused).to.include({ code: 'RXJET_ERR_NETWORK' });
    } finally {
      await client.close();
    }
  });

  it('accepts WebSockets over TLS (wss:) with scheme https on the connection', async () => {
    let scheme: string | undefined;
    const server = await start(undefined, {
      tls: { key, cert },
      websocketHandler: (conn) => {
        scheme = conn.request.scheme;
        return conn.in$;
      },
    });
    const ws = new WebSocket(`wss://127.0.0.1:${server.port}/`, { ca: cert });
    await once(ws, 'open');
    ws.send('over tls');
    const [data] = (await once(ws, 'message')) as [Buffer];
    expect(data.toString()).to.equal('over tls');
    expect(scheme).to.equal('https');
    ws.close();
    await once(ws, 'close');
  });

  it('checks the tls option at call time', () => {
    const handler = () => ({ body: 'x' });
    expect(() => serve({ handler, tls: {} })).to.throw('Invalid option "tls"');
    expect(() => serve({ handler, tls: 'yes' as never })).to.throw('Invalid option "tls"');
    expect(() => serve({ handler, tls: { key } })).to.throw('Invalid option "tls"');
  });
});
