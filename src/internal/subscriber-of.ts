// A Subscriber from an observer object, without a closure per callback.
import { Subscriber, type Observer } from 'rxjs';

/**
 * A Subscriber made before subscribing, so that it can be unsubscribed while a synchronous
 * source is still emitting into it (a `for` loop that checks `subscriber.closed` stops at once).
 * `subscribe(observer)` would hand back its Subscription only after such a source has finished.
 */
export function subscriberOf<T>(observer: Observer<T>): Subscriber<T> {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- the constructor is the only way to hold the Subscriber before subscribe() returns
  return new Subscriber<T>(observer);
}
