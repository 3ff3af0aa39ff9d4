// `backoff()`: exponential delays with jitter for `retry({ delay })`.
import { timer, type Observable } from 'rxjs';
import { InvalidOptionError } from './errors.js';

/** Options of {@link backoff}. */
export interface BackoffOptions {
  /**
   * Milliseconds before the first retry.
   * @default 100
   */
  initial?: number;
  /**
   * Each delay is the previous one times this.
   * @default 2
   */
  factor?: number;
  /**
   * Longest delay, in milliseconds.
   * @default 30000
   */
  max?: number;
  /**
   * Share of each delay that is random, from 0 (none) to 1 (anywhere from 0 to the delay), so
   * that many clients do not retry in step.
   * @default 0.2
   */
  jitter?: number;
}

/**
 * An exponential backoff for RxJS's `retry({ delay })`: waits `initial`, then `initial *
 * factor`, … up to `max` milliseconds, each less a random share of up to `jitter`.
 *
 * @param options - see {@link BackoffOptions}
 * @returns a `delay` function for `retry`
 * @example
 * ```ts
 * import { websocket, backoff } from 'rxjet/websocket';
 * import { retry, switchMap } from 'rxjs';
 * websocket('ws://127.0.0.1:8080/feed')
 *   .pipe(retry({ delay: backoff({ initial: 200, max: 10_000 }) }), switchMap((conn) => conn.in$))
 *   .subscribe(console.log);
 * ```
 */
export function backoff(options: BackoffOptions = {}): (error: unknown, retryCount: number) => Observable<0> {
  const { initial = 100, factor = 2, max = 30_000, jitter = 0.2 } = options;
  if (!(initial >= 0)) throw new InvalidOptionError('initial', 'a number of milliseconds >= 0');
  if (!(factor >= 1)) throw new InvalidOptionError('factor', 'a number >= 1');
  if (!(max >= initial)) throw new InvalidOptionError('max', 'a number of milliseconds >= initial');
  if (!(jitter >= 0 && jitter <= 1)) throw new InvalidOptionError('jitter', 'a number from 0 to 1');
  return (_error, retryCount) => {
    const delay = Math.min(max, initial * factor ** (retryCount - 1));
    return timer(Math.round(delay * (1 - jitter * Math.random())));
  };
}
