// The hub: topics as hot Observables, joined and left by subscribing, over one bus.
import { Observable, type Subscriber } from 'rxjs';
import { BusError, HubClosedError, InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions, integerOption } from '../internal/validate.js';
import type { Bus } from './bus.js';
import { decode, encode } from './codec.js';
import { Deadlines } from './deadlines.js';
import { memoryBus } from './memory-bus.js';

/** Options of {@link createHub}. */
export interface HubOptions {
  /**
   * What carries messages between instances: {@link memoryBus} (this process only),
   * {@link clusterBus} (node:cluster workers), {@link redisBus} (processes and hosts), or your own
   * {@link Bus}. A bus belongs to one hub, which closes it.
   * @default memoryBus()
   */
  bus?: Bus;
  /**
   * Milliseconds `publish` waits for the bus to take a message (for Redis: the server's reply,
   * after the first connection) before it rejects with a `BusError`; the message is then dropped,
   * never sent later. Publishes begun within a tenth of it (at most 100 ms) share one timer, so
   * one may be refused up to that much sooner, never later.
   * @default 5000
   */
  publishTimeout?: number;
}

/**
 * A named topic of a hub: a hot Observable of the values published on it from now on, anywhere
 * on the bus (no replay), with {@link Publisher.publish}. Subscribing joins the topic and
 * unsubscribing leaves it; the hub joins the bus once per topic however many subscribe, and
 * leaves when the last one goes. Subscribers are called synchronously, one after another, with
 * the same decoded value (treat it as read-only). It completes when the hub closes.
 */
export type Topic<T> = Observable<T> & Publisher<T>;

/** What a {@link Topic} adds to its Observable: its name and `publish`. */
export interface Publisher<T> {
  /** The topic's name, exactly as given: no patterns, no prefix matching. */
  readonly name: string;
  /**
   * Publishes a value to every subscriber of the topic on every instance of the bus, this one
   * included, at most once each. The values of one hub's `publish` calls on one topic arrive in
   * call order, awaited or not.
   *
   * @param value - a string, bytes (`Uint8Array`, views byte-exact) or a JSON value (plain objects,
   *   arrays, finite numbers, booleans, `null`; `toJSON` applies, so a `Date` arrives as its string)
   * @returns a Promise that resolves once the bus has taken the value; it rejects with an
   *   `InvalidMessageError` for a value that cannot be encoded (nothing is delivered), a
   *   `BusError` when the bus cannot take it within `publishTimeout`, a `HubClosedError` after
   *   `close()`
   */
  publish(value: T): Promise<void>;
}

/** A hub of topics over one bus; made by {@link createHub}. */
export interface Hub {
  /**
   * The topic of that name. Calling it again with the same name gives a topic over the same
   * subscribers.
   *
   * @param name - the topic's name, a non-empty string
   * @returns the topic: a hot Observable with `publish`
   */
  topic<T = unknown>(name: string): Topic<T>;
  /**
   * Leaves every topic, completes every subscription and closes the bus (and the connections it
   * made). Afterwards `publish` rejects and a new subscription errors, with a `HubClosedError`.
   *
   * @returns a Promise that resolves when the bus is closed; the same one on every call
   */
  close(): Promise<void>;
  /** Whether `close()` was called. */
  readonly closed: boolean;
}

/**
 * Creates a hub: named topics that any number of subscribers join, over a bus that carries them
 * to every other instance (the default, {@link memoryBus}, stays in this process). Delivery is
 * at most once, in publish order per hub and topic, with no replay for late subscribers.
 *
 * @param options - the bus and the publish timeout
 * @returns the hub
 * @example
 * ```ts
 * import { createHub, redisBus } from 'rxjet/pubsub';
 * import { serve } from 'rxjet/server';
 *
 * const hub = createHub({ bus: redisBus({ url: 'redis://127.0.0.1:6379' }) });
 * await serve({
 *   port: 8080,
 *   handler: (req) => {
 *     const room = hub.topic<string>(`room:${req.query}`);
 *     // Every message from one client reaches every client of the room, on every server.
 *     return {
 *       websocket: (conn) => {
 *         // publish rejects while Redis is down: handle it, or Node ends the process.
 *         conn.in$.subscribe((m) => room.publish(String(m)).catch((error) => console.error(error)));
 *         return room;
 *       },
 *     };
 *   },
 * });
 * ```
 */
export function createHub(options: HubOptions = {}): Hub {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('options', 'an object');
  checkKnownOptions(options, ['bus', 'publishTimeout'], 'createHub');
  const publishTimeout = integerOption(options as Record<string, unknown>, 'publishTimeout', 5000, 1, 2 ** 31 - 1);
  const bus = options.bus ?? memoryBus();
  if (
    typeof bus !== 'object' ||
    bus === null ||
    !(['publish', 'subscribe', 'unsubscribe', 'close'] as const).every((name) => typeof bus[name] === 'function')
  ) {
    throw new InvalidOptionError('bus', 'a Bus: an object with publish, subscribe, unsubscribe and close');
  }
  if (owned.has(bus)) throw new InvalidOptionError('bus', 'a bus no other hub uses');
  owned.add(bus);
  return new TopicHub(bus, publishTimeout);
}

/** Buses already given to a hub: each hub closes its bus, so two hubs cannot share one. */
const owned = new WeakSet<Bus>();

/** One topic's local side: its subscribers (copied on change, so a delivery walks a stable list). */
interface TopicState {
  subscribers: Subscriber<unknown>[];
  /** While the bus joins the topic: settles when it has; this hub's publishes wait for it. */
  joining: Promise<void> | undefined;
}

const resolved = Promise.resolve();

class TopicHub implements Hub {
  readonly #bus: Bus;
  readonly #deadlines: Deadlines;
  readonly #topics = new Map<string, TopicState>();
  #closing: Promise<void> | undefined;

  constructor(bus: Bus, publishTimeout: number) {
    this.#bus = bus;
    this.#deadlines = new Deadlines(publishTimeout, (topic, cause, timedOut) => {
      if (timedOut) return new BusError(topic, 'publish', { timeout: publishTimeout });
      return cause instanceof BusError ? cause : new BusError(topic, 'publish', { cause });
    });
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  topic<T = unknown>(name: string): Topic<T> {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError('name', 'a non-empty string');
    return new HubTopic<T>(name, this);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    const states = [...this.#topics.values()];
    this.#topics.clear();
    this.#closing = resolved.then(() => this.#bus.close());
    for (const state of states) for (const subscriber of state.subscribers) subscriber.complete();
    return this.#closing;
  }

  /** A subscriber joins: the first of a topic makes the bus join it. Returns the leave. */
  join(name: string, subscriber: Subscriber<unknown>): (() => void) | undefined {
    if (this.closed) {
      subscriber.error(new HubClosedError(name, 'subscribe'));
      return undefined;
    }
    let state = this.#topics.get(name);
    if (state === undefined) {
      state = { subscribers: [subscriber], joining: undefined };
      this.#topics.set(name, state);
      this.#busSubscribe(name, state);
    } else {
      state.subscribers = [...state.subscribers, subscriber];
    }
    const joined = state;
    return () => this.#leave(name, joined, subscriber);
  }

  publish(name: string, value: unknown): Promise<void> {
    if (this.closed) return Promise.reject(new HubClosedError(name, 'publish'));
    let message: Uint8Array;
    try {
      message = encode(name, value);
    } catch (error) {
      if (!(error instanceof Error)) throw error; // encode throws UnencodableMessageErrors only
      return Promise.reject(error);
    }
    const window = this.#deadlines.begin();
    const { signal } = window;
    const joining = this.#topics.get(name)?.joining;
    let taken: void | Promise<void>;
    try {
      taken =
        joining === undefined
          ? this.#bus.publish(name, message, signal)
          : joining.then(() => {
              if (!signal.aborted) return this.#bus.publish(name, message, signal);
            });
    } catch (cause) {
      window.release();
      return Promise.reject(new BusError(name, 'publish', { cause }));
    }
    if (taken === undefined) {
      window.release();
      return resolved;
    }
    return window.bound(taken, name);
  }

  #leave(name: string, state: TopicState, subscriber: Subscriber<unknown>): void {
    state.subscribers = state.subscribers.filter((s) => s !== subscriber);
    if (state.subscribers.length > 0 || this.#topics.get(name) !== state) return;
    this.#topics.delete(name);
    try {
      // A failed leave changes nothing for the subscribers: they are gone.
      Promise.resolve(this.#bus.unsubscribe(name)).catch(ignore);
    } catch {
      // as above
    }
  }

  #busSubscribe(name: string, state: TopicState): void {
    let joined: void | Promise<void>;
    try {
      joined = this.#bus.subscribe(name, (message) => deliver(state, message));
    } catch (cause) {
      this.#failJoin(name, state, cause);
      return;
    }
    if (joined === undefined) return;
    const joining: Promise<void> = joined.then(
      () => {
        if (state.joining === joining) state.joining = undefined;
      },
      (cause: unknown) => {
        if (state.joining === joining) state.joining = undefined;
        this.#failJoin(name, state, cause);
      },
    );
    state.joining = joining;
  }

  /** The bus could not join: the topic's subscribers error, and the next subscriber tries again. */
  #failJoin(name: string, state: TopicState, cause: unknown): void {
    if (this.#topics.get(name) === state) this.#topics.delete(name);
    const error = new BusError(name, 'subscribe', { cause });
    for (const subscriber of state.subscribers) subscriber.error(error);
  }
}

/** One message from the bus to a topic's subscribers, decoded once for all of them. */
function deliver(state: TopicState, message: Uint8Array): void {
  const subscribers = state.subscribers;
  if (subscribers.length === 0) return;
  let value: unknown;
  try {
    value = decode(message);
  } catch {
    return; // not a message of an rxjet hub: dropped, as at-most-once delivery allows
  }
  for (const subscriber of subscribers) subscriber.next(value);
}

const ignore = (): void => undefined;

/** A topic: an Observable whose subscription joins the hub's topic, with `publish`. */
class HubTopic<T> extends Observable<T> implements Topic<T> {
  readonly name: string;
  readonly #hub: TopicHub;

  constructor(name: string, hub: TopicHub) {
    super((subscriber) => hub.join(name, subscriber));
    this.name = name;
    this.#hub = hub;
  }

  publish(value: T): Promise<void> {
    return this.#hub.publish(this.name, value);
  }
}
