// This process's end of the node:cluster bus: the primary relays between workers, a worker talks to the primary.
import { Buffer } from 'node:buffer';
import type { Worker } from 'node:cluster';
import { nodeCluster } from '../internal/packages.js';
import { deliveryQueue } from './delivery-queue.js';

/** What crosses the IPC channel: JSON, so bytes travel as base64 whatever the cluster's serialization. */
interface Envelope {
  rxjet: 'pubsub';
  op: 'sub' | 'unsub' | 'pub';
  topic: string;
  data?: string;
}

type Deliver = (message: Uint8Array) => void;

/**
 * Characters of messages the primary holds for one worker, written to its channel and not yet
 * taken by it (a worker whose event loop is blocked reads nothing). Past it, the primary drops
 * what is published for that worker until it reads again: at most once, as a slow subscriber's
 * queue does, rather than queueing without bound in the primary.
 */
const relayHighWaterMark = 8 * 1024 * 1024;

const isEnvelope = (value: unknown): value is Envelope =>
  typeof value === 'object' &&
  value !== null &&
  (value as Envelope).rxjet === 'pubsub' &&
  typeof (value as Envelope).topic === 'string';

/**
 * The process's one link, shared by every clusterBus in it (so that two relays never double a
 * message), held while one of them is open.
 */
export class ClusterLink {
  /** The hubs of this process, by topic. */
  readonly #local = new Map<string, Set<Deliver>>();
  /** In the primary: the workers that have a subscriber, by topic. */
  readonly #workers = new Map<string, Set<Worker>>();
  /** In the primary: characters sent to each worker that its channel has not taken yet. */
  readonly #unread = new Map<Worker, number>();
  readonly #cluster = nodeCluster();
  readonly #isWorker = this.#cluster.isWorker;
  #holders = 0;
  readonly #deliverLocal = deliveryQueue((topic, message) => {
    const delivers = this.#local.get(topic);
    if (delivers !== undefined) for (const deliver of [...delivers]) deliver(message);
  });

  hold(): void {
    if (this.#holders++ > 0) return;
    if (this.#isWorker) {
      process.on('message', this.#fromPrimary);
    } else {
      this.#cluster.on('message', this.#fromWorker);
      this.#cluster.on('exit', this.#exited);
    }
  }

  release(): void {
    if (--this.#holders > 0) return;
    if (this.#isWorker) {
      process.off('message', this.#fromPrimary);
    } else {
      this.#cluster.off('message', this.#fromWorker);
      this.#cluster.off('exit', this.#exited);
      this.#workers.clear();
      this.#unread.clear();
    }
  }

  subscribe(topic: string, deliver: Deliver): void {
    let delivers = this.#local.get(topic);
    if (delivers === undefined) {
      if (this.#isWorker) {
        if (!process.connected) throw new Error('The IPC channel to the cluster primary is closed.');
        this.#toPrimary({ rxjet: 'pubsub', op: 'sub', topic }).catch(ignore);
      }
      delivers = new Set();
      this.#local.set(topic, delivers);
    }
    delivers.add(deliver);
  }

  unsubscribe(topic: string, deliver: Deliver): void {
    const delivers = this.#local.get(topic);
    if (delivers === undefined || !delivers.delete(deliver) || delivers.size > 0) return;
    this.#local.delete(topic);
    if (this.#isWorker && process.connected) this.#toPrimary({ rxjet: 'pubsub', op: 'unsub', topic }).catch(ignore);
  }

  /** Delivers here at once, then sends on: to the primary from a worker, to the workers from the primary. */
  publish(topic: string, message: Uint8Array): void | Promise<void> {
    this.#deliverLocal(topic, message);
    const data = Buffer.from(message.buffer, message.byteOffset, message.byteLength).toString('base64');
    const envelope: Envelope = { rxjet: 'pubsub', op: 'pub', topic, data };
    if (this.#isWorker) return this.#toPrimary(envelope);
    this.#relay(envelope, undefined);
  }

  #toPrimary(envelope: Envelope): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!process.connected || process.send === undefined) {
        reject(new Error('The IPC channel to the cluster primary is closed.'));
        return;
      }
      process.send(envelope, undefined, {}, (error: Error | null) => (error === null ? resolve() : reject(error)));
    });
  }

  readonly #fromPrimary = (envelope: unknown): void => {
    if (isEnvelope(envelope) && envelope.op === 'pub' && typeof envelope.data === 'string') {
      this.#deliverLocal(envelope.topic, Buffer.from(envelope.data, 'base64'));
    }
  };

  readonly #fromWorker = (worker: Worker, envelope: unknown): void => {
    if (!isEnvelope(envelope)) return;
    const { op, topic } = envelope;
    if (op === 'sub') {
      let workers = this.#workers.get(topic);
      if (workers === undefined) this.#workers.set(topic, (workers = new Set()));
      workers.add(worker);
    } else if (op === 'unsub') {
      this.#forget(topic, worker);
    } else if (op === 'pub' && typeof envelope.data === 'string') {
      if (this.#local.has(topic)) this.#deliverLocal(topic, Buffer.from(envelope.data, 'base64'));
      this.#relay(envelope, worker);
    }
  };

  /**
   * Sends a publish to every worker with a subscriber of its topic but the one it came from, and
   * drops it for a worker that has {@link relayHighWaterMark} unread.
   */
  #relay(envelope: Envelope, from: Worker | undefined): void {
    const workers = this.#workers.get(envelope.topic);
    if (workers === undefined) return;
    const size = envelope.topic.length + envelope.data!.length;
    for (const worker of workers) {
      if (worker === from || !worker.isConnected()) continue;
      const unread = this.#unread.get(worker) ?? 0;
      if (unread > 0 && unread + size > relayHighWaterMark) continue;
      this.#unread.set(worker, unread + size);
      // The callback runs once the channel has taken the message (or failed to: a worker going
      // away then fails that send instead of emitting 'error').
      worker.send(envelope, undefined, () => this.#taken(worker, size));
    }
  }

  #taken(worker: Worker, size: number): void {
    const left = (this.#unread.get(worker) ?? 0) - size;
    if (left > 0) this.#unread.set(worker, left);
    else this.#unread.delete(worker);
  }

  readonly #exited = (worker: Worker): void => {
    for (const topic of [...this.#workers.keys()]) this.#forget(topic, worker);
    this.#unread.delete(worker);
  };

  #forget(topic: string, worker: Worker): void {
    const workers = this.#workers.get(topic);
    if (workers?.delete(worker) === true && workers.size === 0) this.#workers.delete(topic);
  }
}

const ignore = (): void => undefined;

let link: ClusterLink | undefined;

/** The process's link, made on first use. */
export function clusterLink(): ClusterLink {
  return (link ??= new ClusterLink());
}
