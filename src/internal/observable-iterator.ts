import type { Observable, Subscription } from 'rxjs';

/**
 * Iterates an Observable with `for await`. The Observable cannot be paused, so values that
 * arrive before they are asked for queue up: use it only where the source is bounded (test
 * bodies), never for network input.
 */
export function iterateObservable<T>(source: Observable<T>): AsyncIterableIterator<T> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let pending: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  let subscription: Subscription | undefined;

  const settle = (): void => {
    if (pending === undefined) return;
    const waiter = pending;
    if (queue.length > 0) {
      pending = undefined;
      waiter.resolve({ value: queue.shift()!, done: false });
    } else if (failure !== undefined) {
      pending = undefined;
      waiter.reject(failure.error);
    } else if (done) {
      pending = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  };

  return {
    next(): Promise<IteratorResult<T>> {
      if (!done)
        subscription ??= source.subscribe({
          next: (value) => {
            queue.push(value);
            settle();
          },
          error: (error: unknown) => {
            failure = { error };
            settle();
          },
          complete: () => {
            done = true;
            settle();
          },
        });
      return new Promise((resolve, reject) => {
        pending = { resolve, reject };
        settle();
      });
    },
    return(): Promise<IteratorResult<T>> {
      done = true;
      queue.length = 0;
      subscription?.unsubscribe();
      settle();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
