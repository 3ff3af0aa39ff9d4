// Pulling an Observable with `for await`, one value at a time.
import type { Observable, Subscription } from 'rxjs';
import { PullQueue } from './pull-queue.js';

/**
 * Iterates an Observable with `for await`. The Observable cannot be paused, so values that
 * arrive before they are asked for queue up: use it only where the source is bounded (test
 * bodies), never for network input.
 */
export function iterateObservable<T>(source: Observable<T>): AsyncIterableIterator<T> {
  const queue = new PullQueue<T>();
  let subscription: Subscription | undefined;
  const ask = (): void => {
    subscription ??= source.subscribe({
      next: (value) => queue.push(value),
      error: (error: unknown) => queue.fail(error),
      complete: () => queue.end(),
    });
  };
  return {
    next: () => queue.next(ask),
    return(): Promise<IteratorResult<T>> {
      queue.stop();
      subscription?.unsubscribe();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
