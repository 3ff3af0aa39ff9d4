// The embedded bus: topics of one hub in one process, with no dependency.
import type { Bus } from './bus.js';
import { deliveryQueue } from './delivery-queue.js';

/**
 * The bus of one process and one hub, and the default of {@link createHub}: a message is
 * delivered to the hub's subscribers at once, inside `publish`. For workers of one machine use
 * {@link clusterBus}; for several processes or hosts, {@link redisBus}.
 *
 * @returns a new bus, for one hub
 * @example
 * ```ts
 * import { createHub, memoryBus } from 'rxjet/pubsub';
 *
 * const hub = createHub({ bus: memoryBus() }); // the same as createHub()
 * hub.topic<string>('news').subscribe((headline) => console.log(headline));
 * await hub.topic<string>('news').publish('rxjet scales out'); // logs: rxjet scales out
 * ```
 */
export function memoryBus(): Bus {
  const deliveries = new Map<string, (message: Uint8Array) => void>();
  const queue = deliveryQueue((topic, message) => deliveries.get(topic)?.(message));
  return {
    publish: (topic, message) => queue(topic, message),
    subscribe: (topic, deliver) => void deliveries.set(topic, deliver),
    unsubscribe: (topic) => void deliveries.delete(topic),
    close: () => {
      deliveries.clear();
      return Promise.resolve();
    },
  };
}
