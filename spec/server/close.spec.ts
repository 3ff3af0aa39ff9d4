import { expect } from 'chai';
import net from 'node:net';
import http from 'node:http';
import { once } from 'node:events';
import { interval, map, NEVER, finalize, Subject, take } from 'rxjs';
import { closeAll, fetchText, start, until, within } from '../helpers.js';

describe('Server.close', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  it('stops accepting new connections', async () => {
    const server = await start(() => ({ body: 'ok' }));
    const { port } = server;
    await server.close();
    const error = await new Promise<NodeJS.ErrnoException>((resolve) =>
      net.connect(port, '127.0.0.1').on('error', resolve),
    );
    expect(error.code).to.equal('ECONNREFUSED');
  });

  it('lets an in-flight request finish, with connection: close, before resolving', async () => {
    const answer = new Subject<{ body: string }>();
    let called = false;
    const server = await start(() => ((called = true), answer.pipe(take(1))));
    const pending = fetchText(server.url);
    await until(() => called, 'the handler to run');
    let closed = false;
    const closing = server.close({ timeout: 5000 }).then(() => (closed = true));
    answer.next({ body: 'finished' });
    const res = await pending;
    expect(res.body).to.equal('finished');
    expect(res.headers.connection).to.equal('close');
    await within(5000, closing, 'close() to resolve');
    expect(closed).to.equal(true);
  });

  it('lets an in-flight stream finish and then closes its kept-alive connection', async () => {
    let started = false;
    const server = await start(
      () => (
        (started = true),
        {
          body: interval(20).pipe(
            take(5),
            map((i) => String(i)),
          ),
        }
      ),
    );
    const agent = new http.Agent({ keepAlive: true });
    const pending = new Promise<string>((resolve) => {
      http.get(server.url, { agent }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
    });
    await until(() => started, 'the stream to start');
    const closing = server.close({ timeout: 5000 });
    expect(await pending).to.equal('01234');
    await within(3000, closing, 'close() to resolve once the stream ended');
    agent.destroy();
  });

  it('answers a request that arrives on an open connection while closing with 503 and connection: close', async () => {
    const server = await start(() => ({ body: 'ok' }));
    const socket = net.connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await new Promise((resolve) => setImmediate(resolve));
    const closing = server.close({ timeout: 5000 });
    socket.write('\r\n');
    await within(5000, once(socket, 'close'), 'the connection to be closed');
    expect(received).to.match(/^HTTP\/1.1 503 Service Unavailable/);
    expect(received).to.include('Connection: close');
    await closing;
  });

  it('destroys what is left after the timeout, tearing down its body', async () => {
    let tornDown = false;
    const server = await start(() => ({ body: NEVER.pipe(finalize(() => (tornDown = true))) }));
    const client = http.get(server.url, { agent: false });
    client.on('error', () => undefined);
    await once(client, 'response');
    const started = Date.now();
    await within(5000, server.close({ timeout: 200 }), 'close() to force');
    expect(Date.now() - started).to.be.at.least(150);
    expect(tornDown).to.equal(true);
  });

  it('returns the same Promise when called twice', async () => {
    const server = await start(() => ({ body: 'ok' }));
    expect(server.close()).to.equal(server.close());
    await server.close();
  });

  it('resolves at once for an idle server with kept-alive connections', async () => {
    const server = await start(() => ({ body: 'ok' }));
    const agent = new http.Agent({ keepAlive: true });
    await new Promise((resolve) => http.get(server.url, { agent }, (res) => res.resume().on('end', resolve)));
    await within(1000, server.close({ timeout: 10_000 }), 'close() with an idle keep-alive connection');
    agent.destroy();
  });
});
