// Pullable Observables: the marker the response writer pulls instead of subscribing.
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';

/**
 * Marks an Observable that can also be pulled. The response writer pulls such bodies (waiting
 * for the socket to drain between chunks) instead of subscribing, which gives end-to-end
 * backpressure. A brand, not `Symbol.asyncIterator` alone, so that Observables that iterate by
 * buffering (as RxJS 8's will) are still treated as push sources.
 */
export const kPull: unique symbol = Symbol.for('rxjet.pull');

/**
 * An Observable with a pull face beside it, as {@link pullable} makes: subscribed, it pushes as
 * any Observable; as a response body, the server pulls it (`for await`) at the client's pace.
 */
export type Pullable<T> = Observable<T> &
  AsyncIterable<T> & {
    /** The brand the server looks for to pull rather than subscribe. */
    readonly [kPull]: true;
  };

/** Builds an Observable that also answers `for await`, each face from its own function. */
export function pullableOf<T>(
  subscribe: (subscriber: Subscriber<T>) => TeardownLogic,
  iterate: () => AsyncIterator<T>,
): Pullable<T> {
  const observable = new Observable<T>(subscribe) as Observable<T> & {
    [Symbol.asyncIterator]: () => AsyncIterator<T>;
    [kPull]: true;
  };
  observable[Symbol.asyncIterator] = iterate;
  observable[kPull] = true;
  return observable;
}

/** True for Observables made by {@link pullableOf}. */
export function isPullable(value: object): value is Pullable<unknown> {
  return (value as { [kPull]?: unknown })[kPull] === true;
}

/** True for anything `for await` accepts as an async iterable. */
export function isAsyncIterable(value: object): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}
