// A WebSocket connection as `in$`, `out$` and `ctrl$` over a ws socket, the same on both sides.
import {
  asyncScheduler,
  Observable,
  Subject,
  type SchedulerLike,
  type Subscriber,
  type Subscription,
  type TeardownLogic,
  type Unsubscribable,
} from 'rxjs';
import type { WebSocket } from 'ws';
import {
  InvalidMessageError,
  WebSocketClosedError,
  WebSocketHeartbeatError,
  WebSocketOverflowError,
  WebSocketProtocolError,
} from '../internal/errors.js';
import { channels } from '../internal/diagnostics.js';
import { kPull } from '../internal/pull.js';
import type { JetRequest } from '../types.js';
import type { CtrlEvent, Message, WebSocketConnection, WebSocketOverflowPolicy } from './types.js';

/** The part of a `ws` WebSocket a connection uses; marble tests hand it a fake one. */
export interface SocketLike {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Message, options: { binary: boolean }, callback?: (error?: Error | null) => void): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  ping(data?: Uint8Array): void;
  pause(): void;
  resume(): void;
  on(
    event: 'message',
    listener: (this: SocketLike, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): unknown;
  on(event: 'close', listener: (this: SocketLike, code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (this: SocketLike, error: Error & { code?: string }) => void): unknown;
  on(event: 'ping' | 'pong', listener: (this: SocketLike, data: Buffer) => void): unknown;
}

/** How a connection behaves; resolved from the options. */
export interface ConnectionSettings {
  highWaterMark: number;
  overflow: WebSocketOverflowPolicy;
  inboundHighWaterMark: number;
  heartbeat: number;
  /**
   * Someone else calls {@link Connection.beat} every `heartbeat` ms (the server, one timer for
   * all its sockets); otherwise each connection schedules its own.
   */
  sharedHeartbeat?: boolean;
  /** Where a connection's own heartbeat is scheduled: virtual time in marble tests. */
  scheduler?: SchedulerLike;
  /** Reports an unexpected error (besides putting it on `ctrl$`). */
  report?: ((error: Error, request: JetRequest) => void) | undefined;
  /** Called once a connection has closed and ended its streams; one function for every connection. */
  released?: ((conn: Connection) => void) | undefined;
}

/**
 * A WebSocket connection over an open socket: one implementation for the server and the
 * client. Its streams are made on first use and its socket listeners are shared functions, so
 * an idle connection costs little more than the socket.
 */
export class Connection implements WebSocketConnection {
  /** @internal Set by a pong; the heartbeat checks it. */
  answered = true;
  /** @internal This side asked for the close (`out$` completing or failing, the handler's stream ending). */
  closedHere = false;
  private queue: Message[] | undefined;
  private queuedBytes = 0;
  private paused = false;
  /** The subscriber of `in$` (the usual case: one), or several; unsubscribed ones are dropped when next seen. */
  private subscribers: Subscriber<Message> | Subscriber<Message>[] | undefined;
  private waiter: ((result: IteratorResult<Message>) => void) | undefined;
  private live: Subject<CtrlEvent> | undefined;
  private closeEvent: (CtrlEvent & { type: 'close' }) | undefined;
  private closeHooks: Unsubscribable | (() => void) | (Unsubscribable | (() => void))[] | undefined;
  private outbox: Outbox | undefined;
  private inbox: Inbox | undefined;
  private control$: Observable<CtrlEvent> | undefined;
  private heartbeat: Subscription | undefined;

  constructor(
    private readonly socket: SocketLike,
    readonly request: JetRequest,
    private readonly settings: ConnectionSettings,
  ) {
    (socket as Owned)[kConnection] = this;
    socket.on('message', onMessage);
    socket.on('close', onClose);
    socket.on('error', onError);
    socket.on('pong', onPong);
    if (settings.heartbeat > 0 && settings.sharedHeartbeat !== true) {
      const beat = (): boolean => this.beat();
      this.heartbeat = (settings.scheduler ?? asyncScheduler).schedule(function () {
        if (beat()) this.schedule(undefined, settings.heartbeat);
      }, settings.heartbeat);
    }
  }

  get ws(): WebSocket {
    return this.socket as unknown as WebSocket;
  }

  get in$(): Observable<Message> & AsyncIterable<Message> {
    return (this.inbox ??= new Inbox(this));
  }

  get out$(): Subject<Message> {
    return (this.outbox ??= new Outbox(this));
  }

  get ctrl$(): Observable<CtrlEvent> {
    return (this.control$ ??= new Observable<CtrlEvent>((subscriber) => {
      if (this.closeEvent !== undefined) {
        subscriber.next(this.closeEvent);
        subscriber.complete();
        return;
      }
      subscriber.next({ type: 'open' });
      if (this.live === undefined) {
        this.live = new Subject<CtrlEvent>();
        this.socket.on('ping', onPing); // only someone watching ctrl$ cares about pings
      }
      return this.live.subscribe(subscriber);
    }));
  }

  /** @internal Sends one message; false (with the reason on `ctrl$`) when it was not sent. */
  transmit(message: unknown, callback?: (error?: Error | null) => void): boolean {
    const { socket, settings } = this;
    if (socket.readyState !== OPEN) {
      // The socket is closing: say so on ctrl$ while it is still open; no need to log it.
      if (this.closeEvent === undefined)
        this.live?.next({ type: 'error', error: new WebSocketClosedError(this.request.url) });
      return false;
    }
    let bytes: number;
    if (typeof message === 'string') bytes = message.length;
    else if (message instanceof Uint8Array) bytes = message.byteLength;
    else {
      this.report(new InvalidMessageError(this.request.url, message));
      return false;
    }
    const buffered = socket.bufferedAmount;
    if (buffered > 0 && buffered + bytes > settings.highWaterMark) {
      if (settings.overflow === 'close') {
        this.report(new WebSocketOverflowError(this.request.url, settings.highWaterMark));
        socket.close(1008, 'outbound buffer overflow');
      }
      return false;
    }
    if (typeof message !== 'string') socket.send(message, BINARY, callback);
    else {
      if (message !== lastText) {
        lastTextBytes = Buffer.from(message);
        lastText = message;
      }
      socket.send(lastTextBytes!, TEXT, callback);
    }
    return true;
  }

  /** @internal Closes the socket if it is open. */
  close(code: number, reason?: string): void {
    if (this.socket.readyState === OPEN) {
      this.closedHere = true;
      this.socket.close(code, reason);
    }
  }

  /** @internal One heartbeat: pings, or terminates a peer that missed the last ping. False once closed. */
  beat(): boolean {
    if (this.closeEvent !== undefined) return false;
    if (!this.answered) {
      this.report(new WebSocketHeartbeatError(this.request.url, this.settings.heartbeat));
      this.socket.terminate();
      return false;
    }
    this.answered = false;
    if (this.socket.readyState === OPEN) this.socket.ping();
    return true;
  }

  /** @internal Runs `hook`, or unsubscribes it, once the socket has closed (at once if it already has). */
  onClosed(hook: Unsubscribable | (() => void)): void {
    if (this.closeEvent !== undefined) release(hook);
    // One hook (the usual case) is kept as is; an array literal has room for just what it holds.
    else if (this.closeHooks === undefined) this.closeHooks = hook;
    else if (Array.isArray(this.closeHooks)) this.closeHooks.push(hook);
    else this.closeHooks = [this.closeHooks, hook];
  }

  /** @internal Puts an error on `ctrl$` (while open) and hands it to the reporter. */
  report(error: Error): void {
    if (this.closeEvent === undefined) this.live?.next({ type: 'error', error });
    this.settings.report?.(error, this.request);
  }

  /** @internal A ping or pong, for whoever watches `ctrl$`. */
  control(event: CtrlEvent): void {
    this.live?.next(event);
  }

  /** @internal A message from the peer. */
  receive(message: Message): void {
    const { subscribers } = this;
    if (this.waiter !== undefined) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve({ value: message, done: false });
    } else if (subscribers !== undefined && !Array.isArray(subscribers) && !subscribers.closed) {
      subscribers.next(message); // the common case: one consumer
    } else {
      const live = this.liveSubscribers();
      if (live !== undefined) for (const subscriber of live) subscriber.next(message);
      else {
        (this.queue ??= []).push(message);
        this.queuedBytes += size(message);
        if (!this.paused && this.queuedBytes >= this.settings.inboundHighWaterMark) {
          this.paused = true;
          this.socket.pause();
        }
      }
    }
  }

  /** The subscribers of `in$` that are still subscribed (a copy to iterate), or undefined for none. */
  private liveSubscribers(): Subscriber<Message>[] | undefined {
    const { subscribers } = this;
    const open = (Array.isArray(subscribers) ? subscribers : subscribers === undefined ? [] : [subscribers]).filter(
      (s) => !s.closed,
    );
    this.subscribers = open.length === 0 ? undefined : open.length === 1 ? open[0] : open;
    return open.length === 0 ? undefined : open;
  }

  /** @internal The socket closed: one close event, then every stream ends. */
  closed(code: number, reason: string): void {
    this.heartbeat?.unsubscribe();
    const event = { type: 'close' as const, code, reason };
    this.closeEvent = event;
    if (channels.websocketClose.hasSubscribers) channels.websocketClose.publish({ connection: this, code, reason });
    this.live?.next(event);
    this.live?.complete();
    if (this.waiter !== undefined && (this.queue?.length ?? 0) === 0) {
      const resolve = this.waiter;
      this.waiter = undefined;
      resolve({ value: undefined, done: true });
    }
    const subscribers = this.subscribers;
    this.subscribers = undefined;
    if (Array.isArray(subscribers)) for (const subscriber of subscribers) subscriber.complete();
    else subscribers?.complete();
    this.outbox?.complete();
    const hooks = this.closeHooks;
    this.closeHooks = undefined;
    if (Array.isArray(hooks)) for (const hook of hooks) release(hook);
    else if (hooks !== undefined) release(hooks);
    this.settings.released?.(this);
  }

  private take(): Message | undefined {
    const message = this.queue?.shift();
    if (message !== undefined) {
      this.queuedBytes -= size(message);
      if (this.paused && this.queuedBytes < this.settings.inboundHighWaterMark) {
        this.paused = false;
        this.socket.resume();
      }
    }
    return message;
  }

  /** @internal A new subscriber of `in$`: queued messages first, then live ones. */
  subscribeIn(subscriber: Subscriber<Message>): void {
    for (let message = this.take(); message !== undefined && !subscriber.closed; message = this.take()) {
      subscriber.next(message);
    }
    if (this.closeEvent !== undefined) {
      subscriber.complete();
      return;
    }
    // No teardown to register: a subscriber that has unsubscribed is dropped when next seen
    // (see receive), which spares every subscription a finalizer array.
    const { subscribers } = this;
    if (subscribers === undefined || (!Array.isArray(subscribers) && subscribers.closed)) this.subscribers = subscriber;
    else if (Array.isArray(subscribers)) subscribers.push(subscriber);
    else this.subscribers = [subscribers, subscriber];
  }

  /** @internal `for await` over `in$`: takes queued messages, resuming reads as the queue drains. */
  pull(): AsyncIterator<Message> {
    return {
      next: (): Promise<IteratorResult<Message>> => {
        const message = this.take();
        if (message !== undefined) return Promise.resolve({ value: message, done: false });
        if (this.closeEvent !== undefined) return Promise.resolve({ value: undefined, done: true });
        if (this.paused) {
          this.paused = false;
          this.socket.resume();
        }
        return new Promise((resolve) => (this.waiter = resolve));
      },
      return: (): Promise<IteratorResult<Message>> => {
        this.waiter = undefined;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  send(source: AsyncIterable<Message>): Observable<never> {
    return new Observable<never>((subscriber) => {
      const iterator = source[Symbol.asyncIterator]();
      let stopped = false;
      void (async () => {
        try {
          for (;;) {
            const step = await iterator.next();
            if (stopped || step.done === true) break;
            // ws calls back with null (or nothing) once the message is written, or with an error.
            const error = await new Promise<Error | null | undefined>((resolve) => {
              if (!this.transmit(step.value, resolve)) resolve(new WebSocketClosedError(this.request.url));
            });
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
  }
}

/** Wraps an open socket as a {@link WebSocketConnection}. */
export function createConnection(socket: SocketLike, request: JetRequest, settings: ConnectionSettings): Connection {
  const connection = new Connection(socket, request, settings);
  if (channels.websocketOpen.hasSubscribers) channels.websocketOpen.publish({ connection, request });
  return connection;
}

const OPEN = 1;

/** Where a socket keeps its connection, so that one set of listeners serves every socket. */
const kConnection = Symbol('rxjet.connection');
type Owned = SocketLike & { [kConnection]: Connection };

/**
 * The last text message received or sent, with its UTF-8 bytes. ws would encode a string again
 * for every send; an echo, a relay or a broadcast of one string to many sockets sends these bytes
 * instead (ws copies a buffer it is given before masking it, so sharing it is safe).
 */
let lastText: string | undefined;
let lastTextBytes: Buffer | undefined;

/** Frame options for ws, shared: ws copies them into its own object. */
const TEXT = Object.freeze({ binary: false });
const BINARY = Object.freeze({ binary: true });

function onMessage(this: SocketLike, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  if (isBinary) {
    (this as Owned)[kConnection].receive(bytes);
    return;
  }
  const text = bytes.toString();
  lastText = text;
  lastTextBytes = bytes;
  (this as Owned)[kConnection].receive(text);
}
function onClose(this: SocketLike, code: number, reason: Buffer): void {
  (this as Owned)[kConnection].closed(code, reason.toString());
}
function onError(this: SocketLike, error: Error & { code?: string }): void {
  const conn = (this as Owned)[kConnection];
  conn.report(new WebSocketProtocolError(conn.request.url, closeCodeOf(error), error));
}
function onPing(this: SocketLike, data: Buffer): void {
  (this as Owned)[kConnection].control({ type: 'ping', data: new Uint8Array(data) });
}
function onPong(this: SocketLike, data: Buffer): void {
  const conn = (this as Owned)[kConnection];
  conn.answered = true;
  conn.control({ type: 'pong', data: new Uint8Array(data) });
}

/**
 * The close code ws sends for a protocol error: ws keeps it under a symbol of its own on the
 * error (`status-code`); the codes below stand in should that ever change.
 */
function closeCodeOf(error: Error & { code?: string }): number {
  for (const key of Object.getOwnPropertySymbols(error)) {
    const value = (error as unknown as Record<symbol, unknown>)[key];
    if (key.description === 'status-code' && typeof value === 'number') return value;
  }
  switch (error.code) {
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
      return 1009;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    default:
      return 1002;
  }
}

/**
 * `out$`: a Subject whose `next` sends, `complete` closes with 1000 and `error` with 1011.
 * Sending in `next` itself (rather than through a subscription) keeps an idle connection small.
 */
class Outbox extends Subject<Message> {
  private stopped = false;

  constructor(private readonly conn: Connection) {
    super();
  }
  override next(message: Message): void {
    if (this.stopped) return;
    this.conn.transmit(message);
    if (this.observed) super.next(message);
  }
  override error(error: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    super.error(error);
    this.conn.close(1011, 'internal error');
  }
  override complete(): void {
    if (this.stopped) return;
    this.stopped = true;
    super.complete();
    this.conn.close(1000);
  }
}

/**
 * `in$`: an Observable that can also be pulled. A class rather than an Observable with
 * properties added, so each connection holds one small object.
 */
class Inbox extends Observable<Message> implements AsyncIterable<Message> {
  constructor(private readonly conn: Connection) {
    super();
  }

  get [kPull](): true {
    return true;
  }

  // RxJS calls _subscribe on subscribe (its typings hide it); overriding it spares a closure.
  protected _subscribe(subscriber: Subscriber<Message>): TeardownLogic {
    this.conn.subscribeIn(subscriber);
  }

  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return this.conn.pull();
  }
}

function release(hook: Unsubscribable | (() => void)): void {
  if (typeof hook === 'function') hook();
  else hook.unsubscribe();
}

function size(message: Message): number {
  return typeof message === 'string' ? message.length : message.byteLength;
}
