// `pullable()`: an Observable the response writer pulls, for large bodies with backpressure.
import { InvalidOptionError, describe } from '../internal/errors.js';
import { type Pullable, pullableOf as brand } from '../internal/pull.js';

/**
 * What {@link pullable} reads: an iterable or an async iterable.
 * @inline
 */
type Source<T> = Iterable<T> | AsyncIterable<T>;

/**
 * An Observable of the values of an iterable or async iterable that can also be pulled. As a
 * response body, rxjet's writer pulls it, one chunk per `drain` of the socket, so a large body
 * keeps its backpressure; everyone else subscribes to it as to any Observable (or pulls it with
 * `for await`). A plain push Observable, such as RxJS's `from(generator())`, emits as fast as it
 * can and is bounded by `highWaterMark` instead.
 *
 * Give a function to make it cold (each subscription or loop calls it for a fresh iterable); an
 * iterable object such as a generator can be read once.
 *
 * @param source - an iterable, an async iterable, or a function returning one
 * @returns an Observable that is also an async iterable
 * @example
 * ```ts
 * import { pullable, serve } from 'rxjet/server';
 * async function* chunks() {
 *   for (let i = 0; i < 16384; i++) yield Buffer.alloc(64 * 1024); // 1 GiB, at the client's pace
 * }
 * await serve({ port: 8080, handler: () => ({ body: pullable(chunks) }) });
 * ```
 */
export function pullable<T>(source: Source<T> | (() => Source<T>)): Pullable<T> {
  const open = (): Source<T> => {
    const made = typeof source === 'function' ? source() : source;
    if (!isIterable(made))
      throw new InvalidOptionError('source', `an iterable or async iterable, got ${describe(made)}`);
    return made;
  };
  if (typeof source !== 'function') open(); // checks it at call time
  const iterate = (): AsyncIterator<T> => {
    const made = open();
    if (Symbol.asyncIterator in made) return made[Symbol.asyncIterator]();
    const iterator = made[Symbol.iterator]();
    return {
      next: () => Promise.resolve(iterator.next()),
      return: () => Promise.resolve(iterator.return?.() ?? { value: undefined, done: true }),
    };
  };
  return brand<T>((subscriber) => {
    const iterator = iterate();
    let stopped = false;
    const step = (): void => {
      iterator.next().then(
        (result) => {
          if (stopped) return;
          if (result.done === true) {
            subscriber.complete();
            return;
          }
          subscriber.next(result.value);
          if (!subscriber.closed) step();
        },
        (error: unknown) => {
          if (!stopped) subscriber.error(error);
        },
      );
    };
    step();
    return () => {
      stopped = true;
      void iterator.return?.();
    };
  }, iterate);
}

function isIterable<T>(value: unknown): value is Source<T> {
  return (
    value !== null &&
    typeof value === 'object' &&
    (Symbol.asyncIterator in value || Symbol.iterator in value) &&
    typeof value !== 'string'
  );
}
