import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { NEVER, finalize, timer, map } from 'rxjs';
import { closeAll, fetchText, rawExchange, start, until, within } from '../helpers.js';

describe('serve: limits and timeouts', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  it('closes a connection that sends its headers too slowly (headersTimeout) while others are served', async () => {
    const server = await start(() => ({ body: 'fast' }), {
      headersTimeout: 400,
      requestTimeout: 2000,
      connectionsCheckingInterval: 100,
    });
    const slow = net.connect(server.port, '127.0.0.1');
    await once(slow, 'connect');
    let received = '';
    slow.on('data', (d: Buffer) => (received += d.toString()));
    slow.on('error', () => undefined);
    slow.write('GET / HTTP/1.1\r\n');
    const drip = setInterval(() => slow.write('X-Drip: 1\r\n'), 50);
    try {
      expect((await fetchText(server.url)).body).to.equal('fast');
      await within(5000, once(slow, 'close'), 'the slow connection to be closed');
    } finally {
      clearInterval(drip);
    }
    expect(received).to.match(/^HTTP\/1.1 408/);
  });

  it('closes a connection that sends its body too slowly (requestTimeout)', async () => {
    const server = await start(() => ({ body: 'never' }), {
      headersTimeout: 200,
      requestTimeout: 400,
      connectionsCheckingInterval: 100,
    });
    const slow = net.connect(server.port, '127.0.0.1');
    await once(slow, 'connect');
    slow.on('error', () => undefined);
    let received = '';
    slow.on('data', (d: Buffer) => (received += d.toString()));
    slow.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => slow.write('a'), 50);
    try {
      await within(5000, once(slow, 'close'), 'the slow upload to be closed');
    } finally {
      clearInterval(drip);
    }
    expect(received).to.match(/408|^$/);
  });

  it('closes an idle keep-alive connection after keepAliveTimeout', async () => {
    const server = await start(() => ({ body: 'ok' }), { keepAliveTimeout: 200 });
    const socket = net.connect(server.port, '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await until(() => received.endsWith('ok'), 'the response');
    expect(received).to.include('Keep-Alive: timeout=0');
    await within(3000, once(socket, 'close'), 'the idle connection to be closed');
  });

  it('answers 431 to a head larger than maxHeaderSize and keeps serving', async () => {
    const server = await start(() => ({ body: 'ok' }), { maxHeaderSize: 1024 });
    const { received } = await rawExchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`,
    );
    expect(received).to.match(/^HTTP\/1.1 431/);
    expect((await fetchText(server.url)).body).to.equal('ok');
  });

  it('answers 431 to a head over the default 16 KiB', async () => {
    const server = await start(() => ({ body: 'ok' }));
    const { received } = await rawExchange(
      server.port,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`,
    );
    expect(received).to.match(/^HTTP\/1.1 431/);
  });

  it('answers 431 to more headers than maxHeadersCount, without calling the handler', async () => {
    let called = false;
    const server = await start(() => ((called = true), { body: 'ok' }), { maxHeadersCount: 5 });
    const extra = Array.from({ length: 20 }, (_, i) => `X-${i}: v\r\n`).join('');
    const { received } = await rawExchange(server.port, `GET / HTTP/1.1\r\nHost: x\r\n${extra}\r\n\r\n`);
    expect(received).to.match(/^HTTP\/1.1 431 Request Header Fields Too Large/);
    expect(called).to.equal(false);
    expect((await fetchText(server.url)).body).to.equal('ok');
  });

  it('answers 503, unsubscribes the handler and aborts req.signal after handlerTimeout', async () => {
    let tornDown = false;
    let signal: AbortSignal | undefined;
    const server = await start((req) => ((signal = req.signal), NEVER.pipe(finalize(() => (tornDown = true)))), {
      handlerTimeout: 100,
    });
    const res = await fetchText(server.url);
    expect(res.status).to.equal(503);
    expect(tornDown).to.equal(true);
    expect(signal!.reason).to.include({ code: 'RXJET_ERR_HANDLER_TIMEOUT' });
    expect(server.errors[0]).to.include({ code: 'RXJET_ERR_HANDLER_TIMEOUT' });
  });

  it('does not apply handlerTimeout once the handler has answered with a stream', async () => {
    const server = await start(() => ({ body: timer(300).pipe(map(() => 'late but fine')) }), { handlerTimeout: 100 });
    expect((await fetchText(server.url)).body).to.equal('late but fine');
  });
});
