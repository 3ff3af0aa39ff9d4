// The node:cluster bus: topics between the workers of one machine over the built-in IPC channel.
import type { Bus } from './bus.js';
import { clusterLink } from './cluster-link.js';

/**
 * A bus between the node:cluster workers of one machine, over the IPC channel node gives each
 * worker: no server to run. A worker delivers its own publishes to its subscribers at once and
 * sends them to the primary, which relays them to the other workers that have subscribers of the
 * topic (each worker tells the primary which topics it follows). Hubs of one process share the
 * process's link, so they see each other's messages too.
 *
 * The primary relays only while a `clusterBus()` made there is open: create the hub where both
 * the primary and the workers run it (at the top of the module that forks, as below). Made in
 * the primary, it relays and may publish and subscribe as well; outside a cluster it acts as a
 * {@link memoryBus} shared by the process's hubs. Messages travel as JSON on the channel (bytes
 * as base64), whatever the cluster's `serialization`. For a worker that stops reading its channel
 * (its event loop blocked), the primary holds at most 8 MiB of messages and drops what is
 * published for it past that, until it reads again: delivery is at most once, and one stuck
 * worker never grows the primary's memory without bound.
 *
 * @returns a bus, for one hub
 * @example
 * ```ts
 * import { createHub, clusterBus } from 'rxjet/pubsub';
 * import { cluster, serve } from 'rxjet/server';
 *
 * const hub = createHub({ bus: clusterBus() }); // in the primary: the relay; in each worker: its hub
 * await cluster({
 *   workers: 4,
 *   start: () =>
 *     serve({
 *       port: 8080,
 *       handler: () => ({
 *         websocket: (conn) => {
 *           const room = hub.topic<string>('lobby');
 *           conn.in$.subscribe((message) => {
 *             room.publish(String(message)).catch((error) => console.error(error));
 *           });
 *           return room; // every worker's clients get every message once
 *         },
 *       }),
 *     }),
 * });
 * ```
 */
export function clusterBus(): Bus {
  const link = clusterLink();
  const delivers = new Map<string, (message: Uint8Array) => void>();
  let open = true;
  link.hold();
  return {
    publish: (topic, message) => {
      if (!open) throw new Error('The cluster bus is closed.');
      return link.publish(topic, message);
    },
    subscribe: (topic, deliver) => {
      delivers.set(topic, deliver);
      link.subscribe(topic, deliver);
    },
    unsubscribe: (topic) => {
      const deliver = delivers.get(topic);
      if (deliver === undefined) return;
      delivers.delete(topic);
      link.unsubscribe(topic, deliver);
    },
    close: () => {
      if (open) {
        open = false;
        for (const [topic, deliver] of delivers) link.unsubscribe(topic, deliver);
        delivers.clear();
        link.release();
      }
      return Promise.resolve();
    },
  };
}
