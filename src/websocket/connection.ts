import { asyncScheduler, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { WebSocket } from 'ws';
import {
  InvalidMessageError,
  WebSocketClosedError,
  WebSocketHeartbeatError,
  WebSocketOverflowError,
  WebSocketProtocolError,
} from '../internal/errors.js';
import { pullable } from '../internal/pull.js';
import type { JetRequest } from '../server/types.js';
import type { CtrlEvent, Message, WebSocketConnection, WebSocketOverflowPolicy } from './types.js';

/** The part of a `ws` WebSocket a connection uses; marble tests hand it a fake one. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Message, options: { binary: boolean }, callback?: (error?: Error) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: Uint8Array): void;
  pause(): void;
  resume(): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error & { code?: string }) => void): unknown;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): unknown;
}

const OPEN = 1;

/** How a connection behaves; resolved from the options. */
export interface ConnectionSettings {
  highWaterMark: number;
  overflow: WebSocketOverflowPolicy;
  inboundHighWaterMark: number;
  heartbeat: number;
  /** Where heartbeats are scheduled: virtual time in marble tests. */
  scheduler?: SchedulerLike;
  /** Reports an unexpected error (besides putting it on `ctrl$`). */
  report?: (error: Error) => void;
}

/** Close codes ws gives each protocol error. */
function closeCodeOf(error: Error & { code?: string }): number {
  switch (error.code) {
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 1009;
    case 'WS_ERR_UNEXPECTED_MASK':
    case 'WS_ERR_EXPECTED_MASK':
    default:
      return 1002;
  }
}

/**
 * Wraps an open socket as a {@link WebSocketConnection}: one implementation for the server
 * and the client.
 */
export function createConnection(
  socket: SocketLike,
  request: JetRequest,
  settings: ConnectionSettings,
): WebSocketConnection {
  const where = request.url;
  const scheduler = settings.scheduler ?? asyncScheduler;
  const live = new Subject<CtrlEvent>();
  let closeEvent: CtrlEvent | undefined;

  // Inbound: delivered to subscribers at once; queued (bounded, with reads paused) otherwise.
  const subscribers = new Set<Subscriber<Message>>();
  const queue: Message[] = [];
  let queuedBytes = 0;
  let paused = false;
  let waiter: ((result: IteratorResult<Message>) => void) | undefined;

  const size = (message: Message): number => (typeof message === 'string' ? message.length : message.byteLength);
  const pauseIfFull = (): void => {
    if (!paused && queuedBytes >= settings.inboundHighWaterMark && closeEvent === undefined) {
      paused = true;
      socket.pause();
    }
  };
  const resumeIfDrained = (): void => {
    if (paused && queuedBytes < settings.inboundHighWaterMark) {
      paused = false;
      socket.resume();
    }
  };
  const take = (): Message | undefined => {
    const message = queue.shift();
    if (message !== undefined) queuedBytes -= size(message);
    return message;
  };

  socket.on('message', (data, isBinary) => {
    const message: Message = isBinary ? toBytes(data) : toBytes(data).toString();
    if (waiter !== undefined) {
      const resolve = waiter;
      waiter = undefined;
      resolve({ value: message, done: false });
    } else if (subscribers.size > 0) {
      for (const subscriber of [...subscribers]) subscriber.next(message);
    } else {
      queue.push(message);
      queuedBytes += size(message);
      pauseIfFull();
    }
  });

  const in$ = pullable<Message>(
    (subscriber) => {
      while (queue.length > 0 && !subscriber.closed) subscriber.next(take()!);
      resumeIfDrained();
      if (closeEvent !== undefined) {
        subscriber.complete();
        return;
      }
      subscribers.add(subscriber);
      return () => subscribers.delete(subscriber);
    },
    () => ({
      next(): Promise<IteratorResult<Message>> {
        const message = take();
        if (message !== undefined) {
          resumeIfDrained();
          return Promise.resolve({ value: message, done: false });
        }
        if (closeEvent !== undefined) return Promise.resolve({ value: undefined, done: true });
        resumeIfDrained();
        return new Promise((resolve) => (waiter = resolve));
      },
      return(): Promise<IteratorResult<Message>> {
        waiter = undefined;
        return Promise.resolve({ value: undefined, done: true });
      },
    }),
  );

  // Outbound.
  const report = (error: Error): void => {
    if (closeEvent === undefined) live.next({ type: 'error', error });
    settings.report?.(error);
  };
  const send = (message: unknown, callback?: (error?: Error) => void): boolean => {
    if (socket.readyState !== OPEN) {
      report(new WebSocketClosedError(where));
      return false;
    }
    let binary: boolean;
    let bytes: number;
    if (typeof message === 'string') {
      binary = false;
      bytes = Buffer.byteLength(message);
    } else if (message instanceof Uint8Array) {
      binary = true;
      bytes = message.byteLength;
    } else {
      report(new InvalidMessageError(where, message));
      return false;
    }
    const buffered = socket.bufferedAmount;
    if (buffered > 0 && buffered + bytes > settings.highWaterMark) {
      if (settings.overflow === 'close') {
        report(new WebSocketOverflowError(where, settings.highWaterMark));
        socket.close(1008, 'outbound buffer overflow');
      }
      return false;
    }
    socket.send(message, { binary }, callback);
    return true;
  };
  const out$ = new Subject<Message>();
  out$.subscribe({
    next: (message) => void send(message),
    error: () => {
      if (socket.readyState === OPEN) socket.close(1011, 'internal error');
    },
    complete: () => {
      if (socket.readyState === OPEN) socket.close(1000);
    },
  });

  // Control events and the heartbeat.
  let heartbeat: Subscription | undefined;
  if (settings.heartbeat > 0) {
    let answered = true;
    socket.on('pong', () => (answered = true));
    heartbeat = scheduler.schedule(function (this: { schedule(state?: undefined, delay?: number): unknown }) {
      if (!answered) {
        report(new WebSocketHeartbeatError(where, settings.heartbeat));
        socket.terminate();
        return;
      }
      answered = false;
      if (socket.readyState === OPEN) socket.ping();
      this.schedule(undefined, settings.heartbeat);
    }, settings.heartbeat);
  }
  socket.on('ping', (data) => live.next({ type: 'ping', data: new Uint8Array(data) }));
  socket.on('pong', (data) => live.next({ type: 'pong', data: new Uint8Array(data) }));
  socket.on('error', (error) => report(new WebSocketProtocolError(where, closeCodeOf(error), error)));
  socket.on('close', (code, reason) => {
    heartbeat?.unsubscribe();
    closeEvent = { type: 'close', code, reason: reason.toString() };
    live.next(closeEvent);
    live.complete();
    if (waiter !== undefined && queue.length === 0) {
      const resolve = waiter;
      waiter = undefined;
      resolve({ value: undefined, done: true });
    }
    for (const subscriber of [...subscribers]) subscriber.complete();
    subscribers.clear();
    out$.complete();
  });

  const ctrl$ = new Observable<CtrlEvent>((subscriber) => {
    if (closeEvent !== undefined) {
      subscriber.next(closeEvent);
      subscriber.complete();
      return;
    }
    subscriber.next({ type: 'open' });
    return live.subscribe(subscriber);
  });

  const sendAll = (source: AsyncIterable<Message>): Observable<never> =>
    new Observable<never>((subscriber) => {
      const iterator = source[Symbol.asyncIterator]();
      let stopped = false;
      void (async () => {
        try {
          for (;;) {
            const step = await iterator.next();
            if (stopped || step.done === true) break;
            // ws calls back with null (or nothing) once the message is written, or with an error.
            const written = new Promise<Error | null | undefined>((resolve) => {
              if (!send(step.value, resolve)) resolve(new WebSocketClosedError(where));
            });
            const error = await written;
            if (error != null) throw error;
          }
          if (!stopped) subscriber.complete();
        } catch (error) {
          if (!stopped) subscriber.error(error);
        }
      })();
      return () => {
        stopped = true;
        void iterator.return?.();
      };
    });

  return { request, in$, out$, ctrl$, send: sendAll, ws: socket as unknown as WebSocket };
}

function toBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}
