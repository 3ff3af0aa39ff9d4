// The primary of `cluster()`: forks the workers, replaces those that die, and closes them all on a signal.
import type { Worker } from 'node:cluster';
import { nodeCluster } from '../internal/packages.js';
import { clusterCloseMargin, restartDelayFor, type ClusterConfig } from './cluster-options.js';
import { isClusterMessage, kClusterMessage, type ClusterMessage } from './cluster-worker.js';

/** One of the `workers` places: the process in it now, and how it has fared. */
interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  listening: boolean;
  /** Deaths before listening in a row, for the backoff. */
  failures: number;
  restart: NodeJS.Timeout | undefined;
}

/**
 * The primary of a {@link cluster}, as `cluster()` resolves it in the primary process: the
 * workers' process ids, and `close()`. The primary serves nothing itself.
 *
 * @example
 * ```ts
 * import { cluster, ClusterPrimary, serve } from 'rxjet/server';
 *
 * const started = await cluster({ workers: 2, start: () => serve({ handler: () => ({ body: 'hi' }), port: 8080 }) });
 * if (started instanceof ClusterPrimary) console.log(`workers ${started.pids.join(', ')} listen on 8080`);
 * ```
 */
export class ClusterPrimary {
  private readonly slots: Slot[];
  private readonly config: ClusterConfig<unknown>;
  private closing: Promise<void> | undefined;
  private ready = false;
  private readonly onReady: () => void;
  private readonly onClosed: () => void;

  /** @internal */
  constructor(config: ClusterConfig<unknown>, onReady: () => void, onClosed: () => void) {
    this.config = config;
    this.onReady = onReady;
    this.onClosed = onClosed;
    this.slots = Array.from({ length: config.workers }, (_, index) => ({
      index,
      worker: undefined,
      listening: false,
      failures: 0,
      restart: undefined,
    }));
    for (const slot of this.slots) this.fork(slot);
  }

  /** The process ids of the workers alive now, in worker order (a worker being restarted is missing). */
  get pids(): number[] {
    return this.alive().map((worker) => worker.process.pid!);
  }

  /**
   * Closes the cluster gracefully without ending the primary: each worker closes what its
   * `start()` resolved to with `close({ timeout: closeTimeout })` and exits; a worker that has
   * not exited `closeTimeout` + {@link clusterCloseMargin} milliseconds later is killed. No worker
   * is replaced any more. SIGTERM and SIGINT do this and then end the primary with exit code 0.
   * Calling it again returns the same Promise.
   *
   * @returns a Promise that resolves once every worker has exited
   * @example
   * ```ts
   * import { cluster, ClusterPrimary, serve } from 'rxjet/server';
   *
   * const started = await cluster({ start: () => serve({ handler: () => ({ body: 'hi' }), port: 8080 }) });
   * if (started instanceof ClusterPrimary) await started.close();
   * ```
   */
  close(): Promise<void> {
    return this.shutdown(undefined);
  }

  /** @internal Begins the shutdown, once; `signal` says what asked for it. */
  shutdown(signal: NodeJS.Signals | undefined): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const { config } = this;
    config.report({ type: 'closing', pids: this.pids, ...(signal === undefined ? {} : { signal }) });
    for (const slot of this.slots) {
      clearTimeout(slot.restart);
      slot.restart = undefined;
    }
    const stragglers = this.alive();
    this.closing = new Promise<void>((resolve) => {
      const kill = setTimeout(() => {
        for (const worker of this.alive()) {
          const slot = this.slotOf(worker)!;
          config.report({ type: 'kill', worker: slot.index, pid: worker.process.pid! });
          worker.process.kill('SIGKILL');
        }
      }, config.closeTimeout + clusterCloseMargin);
      const done = (): void => {
        clearTimeout(kill);
        config.report({ type: 'closed', pids: [] });
        this.onClosed();
        resolve();
      };
      let left = stragglers.length;
      if (left === 0) done();
      for (const worker of stragglers) {
        worker.once('exit', () => {
          left -= 1;
          if (left === 0) done();
        });
        tellWorker(worker, { [kClusterMessage]: 'close', timeout: config.closeTimeout });
      }
    });
    return this.closing;
  }

  private alive(): Worker[] {
    return this.slots.flatMap((slot) => (slot.worker !== undefined && !slot.worker.isDead() ? [slot.worker] : []));
  }

  private slotOf(worker: Worker): Slot | undefined {
    return this.slots.find((slot) => slot.worker === worker);
  }

  private fork(slot: Slot): void {
    const { config } = this;
    const worker = nodeCluster().fork();
    slot.worker = worker;
    slot.listening = false;
    const pid = worker.process.pid!;
    let startError: string | undefined;
    config.report({ type: 'fork', worker: slot.index, pid });
    worker.on('message', (message: unknown) => {
      if (!isClusterMessage(message)) return;
      if (message[kClusterMessage] === 'start-failed') startError = message.error;
      else if (message[kClusterMessage] !== 'listening' || slot.listening) return;
      else if (this.closing === undefined) this.listened(slot, pid);
      // A worker still loading when the shutdown began missed the request: ask again.
      else tellWorker(worker, { [kClusterMessage]: 'close', timeout: config.closeTimeout });
    });
    // A fork that fails (no process at all) also ends in 'exit'; its 'error' must not throw.
    worker.on('error', () => undefined);
    worker.once('exit', (code: number | null, signal: string | null) => {
      const reason = this.closing !== undefined ? 'closed' : slot.listening ? 'died' : 'start';
      config.report({
        type: 'exit',
        worker: slot.index,
        pid,
        reason,
        code,
        signal,
        ...(startError === undefined ? {} : { error: startError }),
      });
      if (slot.worker === worker) slot.worker = undefined;
      if (reason !== 'closed') this.replace(slot, reason === 'start');
    });
  }

  private listened(slot: Slot, pid: number): void {
    slot.listening = true;
    slot.failures = 0;
    this.config.report({ type: 'listening', worker: slot.index, pid });
    if (this.closing === undefined && this.slots.every((each) => each.listening)) {
      if (!this.ready) this.config.report({ type: 'ready', pids: this.pids });
      this.ready = true;
      this.onReady();
    }
  }

  /** Forks `slot` again: at once after a death once listening, with backoff after one at start. */
  private replace(slot: Slot, atStart: boolean): void {
    const { config } = this;
    slot.failures = atStart ? slot.failures + 1 : 0;
    const delay = restartDelayFor(slot.failures, config.restartDelay, config.maxRestartDelay);
    config.report({ type: 'restart', worker: slot.index, delay, failures: slot.failures });
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (this.closing === undefined) this.fork(slot);
    }, delay);
  }
}

/** Sends to a worker, ignoring a channel already closed (the worker is exiting: its 'exit' follows). */
function tellWorker(worker: Worker, message: ClusterMessage): void {
  if (!worker.isConnected()) return;
  worker.send(message, undefined, () => undefined);
}
