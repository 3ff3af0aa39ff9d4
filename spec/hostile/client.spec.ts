import { expect } from 'chai';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { createClient, get, type Client } from '../../src/client/index.js';

/** A raw TCP server that answers every connection with `respond`; closed after each test. */
async function rawServer(respond: (socket: net.Socket) => void): Promise<{ url: string; server: net.Server }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    socket.once('data', () => respond(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

describe('hostile servers against the client', function () {
  this.timeout(30_000);
  const servers: (net.Server | http.Server)[] = [];
  let client: Client;
  beforeEach(() => {
    client = createClient({ timeout: { headers: 1000, body: 1000 }, maxResponseSize: 1024 * 1024 });
  });
  afterEach(async () => {
    await client.close();
    for (const server of servers.splice(0)) {
      if (server instanceof http.Server) server.closeAllConnections();
      server.close();
    }
  });
  const track = <T extends { server: net.Server | http.Server }>(started: T): T => {
    servers.push(started.server);
    return started;
  };

  it('stops an endless body read whole at maxResponseSize with a ResponseTooLargeError', async () => {
    let written = 0;
    const { url } = track(
      await rawServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n');
        const chunk = `10000\r\n${'x'.repeat(0x10000)}\r\n`;
        const pump = (): void => {
          while (!socket.destroyed && written < 1024) {
            written++;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      }),
    );
    const error = await failureOf(firstValueFrom(get(client, url, { as: 'json' })));
    expect(error).to.include({ code: 'RXJET_ERR_RESPONSE_TOO_LARGE', limit: 1024 * 1024 });
    expect(written).to.be.lessThan(1024, 'the client stopped reading the endless body');
  });

  it('times out a server that drips header lines forever, naming the headers phase', async () => {
    const timers: NodeJS.Timeout[] = [];
    const { url } = track(
      await rawServer((socket) => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const timer = setInterval(() => socket.write('x-drip: 1\r\n'), 50);
        timers.push(timer);
        socket.once('close', () => clearInterval(timer));
      }),
    );
    try {
      const error = await failureOf(firstValueFrom(get(client, url)));
      expect(error).to.include({ code: 'RXJET_ERR_TIMEOUT', phase: 'headers' });
    } finally {
      for (const timer of timers) clearInterval(timer);
    }
  });

  it('fails with a typed NetworkError on oversized headers, a short body and garbage', async () => {
    const cases: [string, (socket: net.Socket) => void][] = [
      ['oversized headers', (s) => s.end(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(128 * 1024)}\r\n\r\n`)],
      ['not HTTP at all', (s) => s.end('SSH-2.0-OpenSSH\r\n\r\n')],
      ['closed before headers', (s) => s.destroy()],
    ];
    for (const [name, respond] of cases) {
      const { url } = track(await rawServer(respond));
      const error = await failureOf(firstValueFrom(get(client, url)));
      expect(error, name).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url });
    }
    const { url } = track(await rawServer((s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort')));
    const res = await firstValueFrom(get(client, url));
    const error = await failureOf(lastValueFrom(res.body));
    expect(error, 'a body shorter than its content-length').to.include({ code: 'RXJET_ERR_NETWORK' });
  });

  it('refuses redirects to invalid or non-HTTP URLs with a RedirectError', async () => {
    for (const location of ['file:///etc/passwd', 'javascript:alert(1)', 'http://[::1']) {
      const server = http.createServer((_req, res) => res.writeHead(302, { location }).end());
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const error = await failureOf(firstValueFrom(get(client, url)));
      expect(error, location).to.include({ code: 'RXJET_ERR_REDIRECT', method: 'GET', url });
    }
  });
});
