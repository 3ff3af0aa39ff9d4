/**
 * Publish/subscribe across processes and hosts: a hub of named topics (hot Observables with
 * `publish`) over a bus, in one process ({@link memoryBus}), between node:cluster workers
 * ({@link clusterBus}) or over Redis ({@link redisBus}).
 *
 * @module rxjet/pubsub
 */
// The declarations name node's types (Buffer): load them for a user whose tsconfig lists no
// `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { createHub, type Hub, type HubOptions, type Publisher, type Topic } from './hub.js';
export type { Bus } from './bus.js';
export { memoryBus } from './memory-bus.js';
export { clusterBus } from './cluster-bus.js';
export { redisBus, type RedisBusOptions, type RedisClientLike } from './redis-bus.js';
export {
  BusError,
  HubClosedError,
  MissingPackageError,
  UnencodableMessageError,
  InvalidMessageError,
} from '../internal/errors.js';
