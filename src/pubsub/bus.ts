// The small interface between a hub and the engine that carries its messages: in-process, node:cluster IPC, Redis, or yours.

/**
 * What carries a hub's messages between instances: {@link memoryBus} (one process),
 * {@link clusterBus} (node:cluster workers of one machine) and {@link redisBus} (processes and
 * hosts) implement it, and so can another engine. A bus belongs to one hub.
 *
 * The hub encodes values into bytes before they reach the bus and decodes what the bus delivers,
 * so a bus only moves bytes by topic. It calls `subscribe` when the first local subscriber of a
 * topic joins and `unsubscribe` when the last one leaves, alternately and in order (never two
 * `subscribe`s of one topic without an `unsubscribe` between); a bus must apply its calls in the
 * order they came, and keep the messages of one `publish` caller on one topic in call order.
 *
 * @example
 * ```ts
 * import { createHub, type Bus } from 'rxjet/pubsub';
 *
 * // A bus for one process: what memoryBus() does, without its care for re-entrant publishes.
 * const deliveries = new Map<string, (message: Uint8Array) => void>();
 * const bus: Bus = {
 *   publish: (topic, message) => deliveries.get(topic)?.(message),
 *   subscribe: (topic, deliver) => void deliveries.set(topic, deliver),
 *   unsubscribe: (topic) => void deliveries.delete(topic),
 *   close: async () => deliveries.clear(),
 * };
 * const hub = createHub({ bus });
 * ```
 */
export interface Bus {
  /**
   * Carries one encoded message to every hub subscribed to `topic` on this bus, this one
   * included, at most once each.
   *
   * @param topic - the topic's name, exactly
   * @param message - the encoded value; the bus must not change it
   * @param signal - aborted when the hub stops waiting (its `publishTimeout`): a message not yet
   *   sent must then be dropped, never sent later
   * @returns nothing once the message is taken, or a Promise that resolves when the bus has taken
   *   it (rejects when it cannot)
   */
  publish(topic: string, message: Uint8Array, signal: AbortSignal): void | Promise<void>;
  /**
   * Starts delivering the messages published on `topic` from now on, on any instance, to `deliver`.
   *
   * @param topic - the topic's name, exactly (no patterns)
   * @param deliver - called with each message, in the order the bus received them
   * @returns nothing once joined, or a Promise that resolves when the subscription is in place
   *   (the hub holds back its own publishes on the topic until then), or rejects when it fails
   */
  subscribe(topic: string, deliver: (message: Uint8Array) => void): void | Promise<void>;
  /**
   * Stops delivering `topic`.
   *
   * @param topic - a topic given to `subscribe` before
   * @returns nothing, or a Promise that settles when done
   */
  unsubscribe(topic: string): void | Promise<void>;
  /**
   * Leaves every topic and ends what the bus opened (connections, listeners); never a client a
   * user passed in. Called once, by `hub.close()`.
   *
   * @returns a Promise that resolves when done
   */
  close(): Promise<void>;
}
