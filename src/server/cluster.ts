// `cluster()`: one server per core, in workers that a primary forks, replaces when they die and closes on a signal.
import { InvalidOptionError } from '../internal/errors.js';
import { nodeCluster } from '../internal/packages.js';
import { resolveClusterOptions, type ClusterOptions } from './cluster-options.js';
import { ClusterPrimary } from './cluster-primary.js';
import { runWorker } from './cluster-worker.js';

/**
 * Runs `start()` in `workers` processes forked with node:cluster, typically one `serve()` each on
 * a port they share (node hands each connection to one worker; port 0 picks one free port for all).
 * Call it at the top of your entry script: the workers run that script again.
 *
 * - In the primary it forks the workers and resolves with a {@link ClusterPrimary} once each has
 *   listened (its `start()` resolved). The primary serves nothing. A worker that dies is replaced:
 *   at once if it had listened, else after `restartDelay` ms, doubled for each further death at
 *   start in a row up to `maxRestartDelay` (100, 200, 400 … 30000 ms by default). On SIGTERM or
 *   SIGINT every worker closes what its `start()` resolved to with `close({ timeout: closeTimeout })`
 *   (a `Server` lets in-flight requests finish and closes WebSockets with 1001) and exits; then
 *   the primary exits with code 0. A worker still there `closeTimeout` + 2 s later is killed; a
 *   second signal kills every worker at once and exits with code 1.
 * - In a worker it calls `start()` and resolves with its result. SIGTERM or SIGINT sent to one
 *   worker closes it the same way; the primary then replaces it. A `start()` that throws or
 *   rejects ends the worker with code 1, and the primary reports the error (see `onEvent`).
 *
 * Options are checked at once, in every process: a bad one throws an `InvalidOptionError`
 * synchronously, as does a second call while a cluster runs in this process.
 *
 * @param options - what each worker starts, how many, and the close timeout (see {@link ClusterOptions})
 * @returns in the primary, a Promise of the {@link ClusterPrimary} once every worker listens; in a
 *   worker, a Promise of what `start()` resolved to
 * @example
 * ```ts
 * import { cluster, serve } from 'rxjet/server';
 *
 * // Every core answers on port 8080; SIGTERM closes them all gracefully, within 5 s.
 * await cluster({
 *   closeTimeout: 5000,
 *   start: () => serve({ port: 8080, host: '0.0.0.0', handler: () => ({ body: `hello from ${process.pid}` }) }),
 * });
 * ```
 */
export function cluster<T>(options: ClusterOptions<T>): Promise<T | ClusterPrimary> {
  const config = resolveClusterOptions(options);
  if (running) {
    throw new InvalidOptionError(
      'cluster',
      'one call per process while its cluster runs; this process already called it',
    );
  }
  running = true;
  if (nodeCluster().isWorker) return runWorker(config);
  return new Promise((resolve) => {
    let closing = false;
    let forced = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (forced) return;
      if (closing) {
        // A second signal: the user will not wait.
        forced = true;
        for (const pid of primary.pids) process.kill(pid, 'SIGKILL');
        process.exit(1);
      }
      closing = true;
      void primary.shutdown(signal).then(() => process.exit(0));
    };
    const primary: ClusterPrimary = new ClusterPrimary(
      config,
      () => resolve(primary),
      () => {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        running = false;
      },
    );
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Whether this process runs a cluster: `cluster()` forks one set of workers per process at a time. */
let running = false;
