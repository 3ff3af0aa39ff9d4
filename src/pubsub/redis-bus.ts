// The Redis bus: topics between processes and hosts over Redis pub/sub, with the official `redis` client.
import { Buffer, isUtf8 } from 'node:buffer';
import { describe, InvalidOptionError } from '../internal/errors.js';
import { optionalPackage } from '../internal/packages.js';
import { checkKnownOptions, functionOption } from '../internal/validate.js';
import type { Bus } from './bus.js';

/**
 * The part of a client of the `redis` package (node-redis 5 or later) that {@link redisBus}
 * uses; a `RedisClientType` from `createClient()` is one. Declared here so that rxjet's types
 * need no `redis` installed.
 */
export interface RedisClientLike {
  /** Whether the connection is up and ready for commands. */
  readonly isReady: boolean;
  /**
   * Sends a command.
   *
   * @param args - the command and its arguments
   * @param options - an `abortSignal` that takes it off the queue while it is not yet sent
   * @returns the reply
   */
  sendCommand(args: ReadonlyArray<string | Buffer>, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  /**
   * A new, unconnected client with the same options.
   *
   * @returns the new client
   */
  duplicate(): RedisClientLike;
  /**
   * Opens the connection, and reconnects after it drops.
   *
   * @returns a Promise that resolves once connected
   */
  connect(): Promise<unknown>;
  /**
   * Subscribes a listener to a channel; the client resubscribes after a reconnection.
   *
   * @param channel - the channel
   * @param listener - called with each message, as bytes
   * @param bufferMode - `true`: messages as Buffers
   * @returns a Promise that resolves once subscribed
   */
  subscribe(channel: string, listener: (message: Buffer, channel: Buffer) => unknown, bufferMode: true): Promise<void>;
  /**
   * Unsubscribes a listener from a channel.
   *
   * @param channel - the channel
   * @param listener - the listener given to `subscribe`
   * @param bufferMode - as given to `subscribe`
   * @returns a Promise that resolves once unsubscribed
   */
  unsubscribe(
    channel: string,
    listener: (message: Buffer, channel: Buffer) => unknown,
    bufferMode: true,
  ): Promise<void>;
  /**
   * Closes the connection once the replies already asked for have come.
   *
   * @returns a Promise that resolves once closed
   */
  close(): Promise<unknown>;
  /** Closes the connection at once, failing what is pending. */
  destroy(): void;
  /**
   * Listens for connection errors (the client reconnects on its own).
   *
   * @param event - `'error'`
   * @param listener - called with each error
   * @returns the client
   */
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/** Options of {@link redisBus}: a `url` or a `client`, not both. */
export interface RedisBusOptions {
  /** The Redis server, e.g. `'redis://127.0.0.1:6379'`: the bus makes its two connections and closes them. */
  url?: string;
  /**
   * A client of the `redis` package, connected by you: the bus publishes through it and makes one
   * duplicate of it for its subscriptions. The bus closes only the duplicate, never your client.
   */
  client?: RedisClientLike;
  /**
   * What the Redis channel of a topic starts with, before the topic's name, so that several
   * applications can share a server.
   * @default 'rxjet:'
   */
  prefix?: string;
  /**
   * Called with each error of the connections the bus made (they reconnect on their own, and
   * subscriptions are restored). Publishing meanwhile rejects after the hub's `publishTimeout`.
   * @default undefined: the errors are ignored
   */
  onError?: (error: Error) => void;
}

/**
 * A bus between processes and hosts over Redis pub/sub, with the official `redis` client (an
 * optional peer dependency: `npm install redis`). A topic is the Redis channel `prefix + name`;
 * each hub subscribes to it once however many local subscribers it has, and unsubscribes when
 * the last leaves. Subscriptions use a connection of their own. While Redis is down, `publish`
 * rejects within the hub's `publishTimeout` (nothing is buffered for later); once it is back,
 * the connections reconnect and existing subscribers receive new messages, with nothing to do.
 *
 * @param options - the server's `url`, or a connected `client`, and the channel prefix
 * @returns a bus, for one hub
 * @throws MissingPackageError with a `url` when the `redis` package is not installed
 * @example
 * ```ts
 * import { createHub, redisBus } from 'rxjet/pubsub';
 *
 * const hub = createHub({ bus: redisBus({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' }) });
 * hub.topic<{ id: number }>('orders').subscribe((order) => console.log(order.id));
 * await hub.topic<{ id: number }>('orders').publish({ id: 1 }); // every instance logs 1, once
 * ```
 */
export function redisBus(options: RedisBusOptions): Bus {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object');
  checkKnownOptions(options, ['url', 'client', 'prefix', 'onError'], 'redisBus');
  const o = options as Record<string, unknown>;
  const prefix = o.prefix ?? 'rxjet:';
  if (typeof prefix !== 'string') throw new InvalidOptionError('prefix', `a string, got ${describe(prefix)}`);
  const onError = functionOption<(error: Error) => void>(o, 'onError') ?? ignore;
  const { url, client } = options;
  if ((url === undefined) === (client === undefined)) {
    throw new InvalidOptionError('url', 'either a url or a client, not both');
  }
  if (client !== undefined) {
    if (typeof client !== 'object' || client === null || typeof client.duplicate !== 'function') {
      throw new InvalidOptionError('client', 'a client of the redis package');
    }
    return new RedisBus(client, false, prefix, onError);
  }
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    throw new InvalidOptionError('url', `a redis:// or rediss:// URL, got ${describe(url)}`);
  }
  const redis = loadRedis();
  return new RedisBus(redis.createClient({ url }), true, prefix, onError);
}

/** Loads `redis` only when a bus needs it, so that rxjet works without it installed. */
function loadRedis(): { createClient(options: { url: string }): RedisClientLike } {
  return optionalPackage('redis', 'redisBus({ url })') as { createClient(options: { url: string }): RedisClientLike };
}

const ignore = (): void => undefined;

/** Ends a client, which may have ended already. */
function destroy(client: RedisClientLike): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

/** The longest frame sent as a string rather than as bytes (see `publish`). */
const shortFrame = 256;

/** How long closing waits for the replies to publishes already sent before it cuts the connection. */
const CLOSE_GRACE = 2000;

class RedisBus implements Bus {
  readonly #publisher: RedisClientLike;
  readonly #ownsPublisher: boolean;
  readonly #prefix: string;
  readonly #onError: (error: Error) => void;
  /** Made on the first subscription. */
  #subscriber: RedisClientLike | undefined;
  readonly #listeners = new Map<string, (message: Buffer) => void>();
  #opened = false;
  #closed = false;

  constructor(publisher: RedisClientLike, ownsPublisher: boolean, prefix: string, onError: (error: Error) => void) {
    this.#publisher = publisher;
    this.#ownsPublisher = ownsPublisher;
    this.#prefix = prefix;
    this.#onError = onError;
  }

  publish(topic: string, message: Uint8Array, signal: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The Redis bus is closed.'));
    this.#open();
    const bytes = Buffer.isBuffer(message)
      ? message
      : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    // Sent in call order on one connection; while it is down the command waits in the client's
    // queue, and the hub's signal takes it off at the timeout, so it is never sent late. While it
    // is up the command is written at once: the signal, which costs the client about 7 µs a
    // command (a listener added and removed), is given only when it can matter.
    // node-redis writes a string argument into the command's own chunk and a Buffer as chunks of
    // their own: a short frame that is UTF-8 text (every string and JSON message is) goes as the
    // same bytes in a string, about 0.3 µs less a message. Longer frames are cheaper as bytes.
    const payload = bytes.byteLength <= shortFrame && isUtf8(bytes) ? bytes.toString('utf8') : bytes;
    const args = ['PUBLISH', this.#prefix + topic, payload];
    const sent = this.#publisher.isReady
      ? this.#publisher.sendCommand(args)
      : this.#publisher.sendCommand(args, { abortSignal: signal });
    return sent.then(ignore);
  }

  subscribe(topic: string, deliver: (message: Uint8Array) => void): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('The Redis bus is closed.'));
    const listener = (message: Buffer): void => deliver(message);
    this.#listeners.set(topic, listener);
    return this.#subscriberClient().subscribe(this.#prefix + topic, listener, true);
  }

  unsubscribe(topic: string): Promise<void> | undefined {
    const listener = this.#listeners.get(topic);
    if (listener === undefined || this.#subscriber === undefined || this.#closed) return undefined;
    this.#listeners.delete(topic);
    return this.#subscriber.unsubscribe(this.#prefix + topic, listener, true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    if (this.#subscriber !== undefined) destroy(this.#subscriber);
    if (!this.#ownsPublisher || !this.#opened) return;
    if (this.#publisher.isReady) {
      let timer: NodeJS.Timeout | undefined;
      const closed = this.#publisher.close().then(
        () => true,
        () => false,
      );
      const graced = await Promise.race([
        closed,
        new Promise<false>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE, false))),
      ]);
      clearTimeout(timer);
      if (graced) return;
    }
    destroy(this.#publisher);
  }

  /** Connects the publisher the bus made, once: commands given meanwhile wait in the client's queue. */
  #open(): void {
    if (this.#opened || !this.#ownsPublisher) return;
    this.#opened = true;
    this.#publisher.on('error', this.#onError);
    this.#publisher.connect().catch(ignore);
  }

  #subscriberClient(): RedisClientLike {
    if (this.#subscriber === undefined) {
      this.#subscriber = this.#publisher.duplicate();
      this.#subscriber.on('error', this.#onError);
      this.#subscriber.connect().catch(ignore);
    }
    return this.#subscriber;
  }
}
