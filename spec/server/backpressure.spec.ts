import { expect } from 'chai';
import net from 'node:net';
import { once } from 'node:events';
import { lastValueFrom, Observable, take, toArray } from 'rxjs';
import { pullable } from '../../src/server/index.js';
import { closeAll, settled, start, until } from '../helpers.js';

const chunkSize = 64 * 1024;
const chunk = Buffer.alloc(chunkSize, 'x');

/** A client that sends a GET and then reads nothing until told to. */
async function stalledClient(port: number): Promise<{ socket: net.Socket; drain: () => Promise<number> }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  await once(socket, 'connect');
  socket.pause();
  socket.on('error', () => undefined);
  // The server may cut the connection while the client is paused; remember it from the start.
  const closed = once(socket, 'close');
  socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  return {
    socket,
    drain: async () => {
      let bytes = 0;
      socket.on('data', (data: Buffer) => (bytes += data.length));
      socket.resume();
      await closed;
      return bytes;
    },
  };
}

/**
 * A stalled client makes the producer wait (it stops short of 32 of its 64 MiB); once the client
 * reads, all `total` chunks are produced and arrive.
 */
async function expectPaced(port: number, total: number, produced: () => number): Promise<void> {
  const client = await stalledClient(port);
  const stalledAt = await settled(produced);
  expect(stalledAt * chunkSize).to.be.lessThan(32 * 1024 * 1024, 'the producer waited for the client');
  const received = await client.drain();
  expect(produced()).to.equal(total);
  expect(received).to.be.greaterThan(total * chunkSize);
}

describe('serve: backpressure', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  it('pulls an async iterable only as fast as the client reads', async () => {
    const total = 1024; // 64 MiB
    let produced = 0;
    const server = await start(() => ({
      body: (async function* () {
        for (let i = 0; i < total; i++) {
          produced++;
          yield chunk;
        }
      })(),
    }));
    await expectPaced(server.port, total, () => produced);
  });

  it('pulls an Observable made by pullable() as it pulls an iterable, and stays an Observable for others', async () => {
    const total = 1024; // 64 MiB
    let produced = 0;
    function* chunks(): Generator<Buffer> {
      for (let i = 0; i < total; i++) {
        produced++;
        yield chunk;
      }
    }
    const server = await start(() => ({ body: pullable(chunks) }));
    await expectPaced(server.port, total, () => produced);

    // Cold with a function, once with an iterable object; an Observable for RxJS all the same.
    const cold = pullable(async function* () {
      yield 1;
      yield 2;
    });
    expect(await lastValueFrom(cold.pipe(toArray()))).to.deep.equal([1, 2]);
    expect(await lastValueFrom(cold.pipe(toArray()))).to.deep.equal([1, 2]);
    const once = pullable([1, 2, 3].values());
    expect(await lastValueFrom(once.pipe(take(2), toArray()))).to.deep.equal([1, 2]);
    const pulled: number[] = [];
    for await (const value of pullable([4, 5])) pulled.push(value);
    expect(pulled).to.deep.equal([4, 5]);
    expect(() => pullable(42 as never)).to.throw('Invalid option "source"');
  });

  it('keeps a push body within highWaterMark and errors with BodyOverflowError past it', async () => {
    let emitted = 0;
    let stoppedEarly = false;
    const server = await start(
      () => ({
        body: new Observable<Uint8Array>((subscriber) => {
          for (let i = 0; i < 2048 && !subscriber.closed; i++) {
            emitted++;
            subscriber.next(chunk);
          }
          stoppedEarly = subscriber.closed;
          subscriber.complete();
        }),
      }),
      { highWaterMark: 1024 * 1024 },
    );
    const client = await stalledClient(server.port);
    await until(() => server.errors.length > 0, 'the overflow to be reported');
    expect(server.errors[0]).to.include({ code: 'RXJET_ERR_BODY_OVERFLOW', name: 'BodyOverflowError' });
    expect(stoppedEarly).to.equal(true);
    expect(emitted).to.be.lessThan(2048);
    const received = await client.drain();
    expect(received).to.be.lessThan(2048 * chunkSize);
  });

  it('drops chunks past highWaterMark under overflow: "drop" and ends the response cleanly', async () => {
    const server = await start(
      () => ({
        body: new Observable<Uint8Array>((subscriber) => {
          for (let i = 0; i < 2048; i++) subscriber.next(chunk);
          subscriber.next(Buffer.from('END'));
          subscriber.complete();
        }),
      }),
      { highWaterMark: 1024 * 1024, overflow: 'drop' },
    );
    const socket = net.connect({ port: server.port, host: '127.0.0.1' });
    await once(socket, 'connect');
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const parts: Buffer[] = [];
    socket.on('data', (data: Buffer) => parts.push(data));
    await once(socket, 'close');
    const all = Buffer.concat(parts);
    expect(all.length).to.be.lessThan(2048 * chunkSize);
    expect(all.toString('latin1').endsWith('END\r\n0\r\n\r\n')).to.equal(true);
    expect(server.errors).to.have.length(0);
  });

  it('closes a client that never reads after idleTimeout and stops the body', async () => {
    let finished = false;
    const server = await start(
      () => ({
        body: (async function* () {
          try {
            for (;;) yield chunk;
          } finally {
            finished = true;
          }
        })(),
      }),
      { idleTimeout: 300 },
    );
    const client = await stalledClient(server.port);
    await until(() => finished, 'the stalled response to be torn down', 10_000);
    await client.drain();
    expect(client.socket.destroyed).to.equal(true);
  });
});
