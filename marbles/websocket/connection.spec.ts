import { EventEmitter } from 'node:events';
import { map, retry, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { backoff } from '../../src/internal/backoff.js';
import { mockRequest } from '../../src/testing/index.js';
import { createConnection, type SocketLike } from '../../src/websocket/connection.js';
import type { CtrlEvent, Message } from '../../src/websocket/index.js';
import { scheduler } from '../helpers.js';

/** A socket that does what the test tells it, in virtual time. */
class FakeSocket extends EventEmitter implements SocketLike {
  readyState = 1;
  bufferedAmount = 0;
  paused = false;
  readonly sent: Message[] = [];
  readonly pings: number[] = [];
  constructor(private readonly testScheduler: TestScheduler) {
    super();
  }
  send(data: Message): void {
    this.sent.push(data);
  }
  close(code = 1005, reason = ''): void {
    if (this.readyState !== 1) return;
    this.readyState = 2;
    this.testScheduler.schedule(() => this.closed(code, reason), 1);
  }
  terminate(): void {
    this.closed(1006, '');
  }
  ping(): void {
    this.pings.push(this.testScheduler.now());
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  /** The peer sends a message. */
  message(text: string): void {
    this.emit('message', Buffer.from(text), false);
  }
  closed(code: number, reason: string): void {
    this.readyState = 3;
    this.emit('close', code, Buffer.from(reason));
  }
}

const settings = { highWaterMark: 1024, overflow: 'close' as const, inboundHighWaterMark: 16, heartbeat: 0 };
const kind = (e: CtrlEvent): string => (e.type === 'error' ? (e.error as { code?: string }).code! : e.type);

describe('WebSocket connections in virtual time', () => {
  it('delivers messages in order and completes in$ when the socket closes', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), settings);
      cold('-a-b-c---|').subscribe({ next: (m) => socket.message(m), complete: () => socket.closed(1000, '') });
      expectObservable(conn.in$).toBe('-a-b-c---|');
    });
  });

  it('maps a close to exactly one close event, then completes ctrl$; late subscribers see it too', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), settings);
      cold('----x').subscribe(() => socket.closed(4000, 'bye'));
      const close = { type: 'close', code: 4000, reason: 'bye' };
      expectObservable(conn.ctrl$).toBe('o---(c|)', { o: { type: 'open' }, c: close });
      expectObservable(conn.ctrl$, '------^').toBe('------(c|)', { c: close });
    });
  });

  it('queues messages nobody consumes, pausing reads past the bound, and hands them over in order', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), settings);
      cold('-----x').subscribe(() => {
        if (!socket.paused) throw new Error('reads should be paused past 16 queued bytes');
      });
      cold('abcdefghij').subscribe((m) => socket.message(m.repeat(4)));
      expectObservable(conn.in$.pipe(map((m) => String(m)[0])), '------------^').toBe('------------(abcdefghij)');
    });
  });

  it('sends out$ messages, closes with 1000 on complete and 1011 on error', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable, flush }) => {
      const done = new FakeSocket(testScheduler);
      const failed = new FakeSocket(testScheduler);
      const codes: number[] = [];
      done.on('close', (code: number) => codes.push(code));
      failed.on('close', (code: number) => codes.push(code));
      const a = createConnection(done, mockRequest(), settings);
      const b = createConnection(failed, mockRequest(), settings);
      cold('-x-y-|').subscribe(a.out$);
      cold('-x-#').subscribe(b.out$);
      expectObservable(a.ctrl$.pipe(map(kind))).toBe('o-----(c|)', { o: 'open', c: 'close' });
      flush();
      if (done.sent.join() !== 'x,y' || codes.join() !== '1011,1000')
        throw new Error(`got ${done.sent.join()} ${codes.join()}`);
    });
  });

  it('puts a WebSocketClosedError on ctrl$ for a send while closing, and sends nothing', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ cold, expectObservable }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), settings);
      cold('--c').subscribe(() => socket.close(1000));
      cold('--s').subscribe(() => conn.out$.next('late'));
      expectObservable(conn.ctrl$.pipe(map(kind))).toBe('o-e(c|)', { o: 'open', e: 'RXJET_ERR_WS_CLOSED', c: 'close' });
    });
  });

  it('pings on the heartbeat and terminates a peer that misses a pong (1006)', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, flush }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), { ...settings, heartbeat: 10 });
      expectObservable(conn.ctrl$.pipe(map(kind))).toBe('o 19ms (ec|)', {
        o: 'open',
        e: 'RXJET_ERR_WS_HEARTBEAT',
        c: 'close',
      });
      flush();
      if (socket.pings.join() !== '10') throw new Error(`pinged at ${socket.pings.join()}`);
    });
  });

  it('keeps a peer that answers each ping', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ expectObservable, cold }) => {
      const socket = new FakeSocket(testScheduler);
      const conn = createConnection(socket, mockRequest(), { ...settings, heartbeat: 10 });
      cold('---------- 1ms p 9ms p 9ms p').subscribe(() => socket.emit('pong', Buffer.alloc(0)));
      expectObservable(conn.ctrl$.pipe(map(kind)), '^ 40ms !').toBe('o 10ms p 9ms p 9ms p', { o: 'open', p: 'pong' });
    });
  });
});

describe('backoff in virtual time', () => {
  it('waits 10, 20, 40, then 40 ms between attempts without jitter', () => {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const attempts = cold<Message>('#', undefined, new Error('refused'));
      const retried: Observable<Message> = attempts.pipe(
        retry({ count: 4, delay: backoff({ initial: 10, max: 40, jitter: 0 }) }),
      );
      expectObservable(retried).toBe('110ms #', undefined, new Error('refused'));
      expectSubscriptions(attempts.subscriptions).toBe(['(^!)', '10ms (^!)', '30ms (^!)', '70ms (^!)', '110ms (^!)']);
    });
  });

  it('keeps each delay within its jitter', () => {
    const testScheduler = scheduler();
    testScheduler.run(({ flush }) => {
      const fired: number[] = [];
      for (let n = 1; n <= 50; n++) {
        backoff({ initial: 100, factor: 1, jitter: 0.5 })(null, n).subscribe(() => fired.push(testScheduler.now()));
      }
      flush();
      if (fired.length !== 50 || fired.some((t) => t < 50 || t > 100)) throw new Error(`fired at ${fired.join()}`);
    });
  });

  it('checks its options', () => {
    for (const bad of [{ factor: 0.5 }, { jitter: 2 }, { initial: 10, max: 5 }]) {
      let threw = false;
      try {
        backoff(bad);
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`accepted ${JSON.stringify(bad)}`);
    }
  });
});
