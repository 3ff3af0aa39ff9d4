// The options of `cluster()`, the events its primary reports, their checks and the default reporter.
import { InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions, functionOption, integerOption } from '../internal/validate.js';
import { availableParallelism } from 'node:os';

/**
 * Options of {@link cluster}. The same options are given in the primary and in every worker (the
 * workers run the same script): `start` runs in the workers only, the rest in the primary.
 */
export interface ClusterOptions<T> {
  /**
   * What each worker runs, typically one `serve()` on a port they share. Called in workers only.
   * What it resolves to is closed, when the cluster shuts down, with
   * `close({ timeout: closeTimeout })` if it has a `close` method (a `Server` has): return an
   * object whose `close` closes everything the worker opened. A throw or a rejection counts as
   * the worker dying at start: it exits with code 1 and is restarted with backoff.
   */
  start: () => T | Promise<T>;
  /**
   * How many worker processes to fork, from 1 to 1024.
   * @default the number of cores, `os.availableParallelism()`
   */
  workers?: number;
  /**
   * Milliseconds each worker's `close()` gets to let in-flight requests finish before it forces
   * what is left. The primary kills a worker that has still not exited 2 s
   * ({@link clusterCloseMargin}) after that, and then exits.
   * @default 10000
   */
  closeTimeout?: number;
  /**
   * Milliseconds before restarting a worker that died before it listened (its `start()` threw,
   * or the process died first); each further such death of that worker in a row doubles the
   * delay, up to `maxRestartDelay`. A worker that dies after it listened is replaced at once,
   * and its count starts again.
   * @default 100
   */
  restartDelay?: number;
  /**
   * The longest delay, in milliseconds, before restarting a worker that keeps dying at start.
   * @default 30000
   */
  maxRestartDelay?: number;
  /**
   * Called in the primary with everything it does and sees (see {@link ClusterEvent}). Giving it
   * replaces the default, which writes one line on stderr for each worker that fails to start or
   * dies, and for each straggler killed at shutdown.
   * @default failures on stderr
   */
  onEvent?: (event: ClusterEvent) => void;
}

/**
 * Milliseconds the primary of a {@link cluster} waits past `closeTimeout` for its workers to
 * exit before it kills them (SIGKILL) and exits.
 *
 * @example
 * ```ts
 * import { clusterCloseMargin } from 'rxjet/server';
 * // A process manager should allow the primary this long after SIGTERM:
 * const grace = 10_000 + clusterCloseMargin;
 * ```
 */
export const clusterCloseMargin = 2000;

/** Something the primary of a {@link cluster} did or saw, given to `onEvent`. */
export type ClusterEvent = ClusterWorkerEvent | ClusterExitEvent | ClusterRestartEvent | ClusterStateEvent;

/** A worker forked, listening (its `start()` resolved), or killed at shutdown for not exiting in time. */
export interface ClusterWorkerEvent {
  /** What happened to the worker. */
  type: 'fork' | 'listening' | 'kill';
  /** Which worker, from 0 to `workers - 1`; a replacement keeps the number of the worker it replaces. */
  worker: number;
  /** Its process id. */
  pid: number;
}

/** A worker exited. */
export interface ClusterExitEvent {
  /** What happened to the worker. */
  type: 'exit';
  /** Which worker, from 0 to `workers - 1`. */
  worker: number;
  /** Its process id. */
  pid: number;
  /**
   * Why: `'closed'` when the cluster was shutting down, `'start'` when it died before listening
   * (it is restarted with backoff), `'died'` when it died after (it is replaced at once).
   */
  reason: 'closed' | 'start' | 'died';
  /** Its exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null. */
  signal: string | null;
  /** When its `start()` threw or rejected: that error's stack (or text), as the worker sent it. */
  error?: string;
}

/** A worker that died is forked again after `delay` milliseconds. */
export interface ClusterRestartEvent {
  /** What the primary does. */
  type: 'restart';
  /** Which worker, from 0 to `workers - 1`. */
  worker: number;
  /** Milliseconds until the new fork: 0 after a death once listening, else the backoff's. */
  delay: number;
  /** How many times in a row this worker has died before listening. */
  failures: number;
}

/** The cluster as a whole: every worker listening, a shutdown begun, or every worker gone. */
export interface ClusterStateEvent {
  /** `'ready'` once every worker has listened; `'closing'` when a shutdown begins; `'closed'` once every worker has exited. */
  type: 'ready' | 'closing' | 'closed';
  /** The process ids of the workers alive at that moment. */
  pids: number[];
  /** With `'closing'`: the signal that began it, if one did. */
  signal?: NodeJS.Signals;
}

/** The options of `cluster()`, checked and with their defaults. */
export interface ClusterConfig<T> {
  start: () => T | Promise<T>;
  workers: number;
  closeTimeout: number;
  restartDelay: number;
  maxRestartDelay: number;
  report: (event: ClusterEvent) => void;
}

const known = ['start', 'workers', 'closeTimeout', 'restartDelay', 'maxRestartDelay', 'onEvent'] as const;

/** Checks the options of `cluster()` at call time, each failure an InvalidOptionError naming the option. */
export function resolveClusterOptions<T>(options: ClusterOptions<T>): ClusterConfig<T> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError('options', 'an object with a start function');
  }
  checkKnownOptions(options, known, 'cluster');
  const record = options as unknown as Record<string, unknown>;
  const start = functionOption<() => T | Promise<T>>(record, 'start');
  if (start === undefined)
    throw new InvalidOptionError('start', 'a function that starts a worker, e.g. () => serve(…)');
  const restartDelay = integerOption(record, 'restartDelay', 100, 1, 3_600_000);
  const maxRestartDelay = integerOption(record, 'maxRestartDelay', Math.max(30_000, restartDelay), 1, 3_600_000);
  if (maxRestartDelay < restartDelay) {
    throw new InvalidOptionError('maxRestartDelay', `an integer >= restartDelay (${restartDelay})`);
  }
  const onEvent = functionOption<(event: ClusterEvent) => void>(record, 'onEvent');
  return {
    start,
    workers: integerOption(record, 'workers', availableParallelism(), 1, 1024),
    closeTimeout: integerOption(record, 'closeTimeout', 10_000, 0, 3_600_000),
    restartDelay,
    maxRestartDelay,
    report: guarded(onEvent ?? reportFailures),
  };
}

/** The delay before the next start of a worker that has died `failures` times in a row at start. */
export function restartDelayFor(failures: number, initial: number, max: number): number {
  return failures === 0 ? 0 : Math.min(max, initial * 2 ** (failures - 1));
}

/** The default `onEvent`: one line on stderr for each failure, nothing for the rest. */
function reportFailures(event: ClusterEvent): void {
  if (event.type === 'exit' && event.reason !== 'closed') {
    const how = event.signal === null ? `code ${event.code}` : event.signal;
    const what = event.reason === 'start' ? 'failed to start' : 'died';
    console.error(`rxjet cluster: worker ${event.worker} (pid ${event.pid}) ${what} (${how})${detail(event.error)}`);
  } else if (event.type === 'restart' && event.delay > 0) {
    console.error(`rxjet cluster: restarting worker ${event.worker} in ${event.delay} ms`);
  } else if (event.type === 'kill') {
    console.error(`rxjet cluster: worker ${event.worker} (pid ${event.pid}) did not exit in time, killed`);
  }
}

const detail = (error: string | undefined): string => (error === undefined ? '' : `: ${error}`);

/** A reporter that cannot throw into the primary's event handlers. */
function guarded(report: (event: ClusterEvent) => void): (event: ClusterEvent) => void {
  return (event) => {
    try {
      report(event);
    } catch (error) {
      console.error('rxjet cluster: onEvent threw', error, 'on', event);
    }
  };
}
