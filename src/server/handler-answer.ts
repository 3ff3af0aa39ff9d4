// Following an Observable handler to its answer: its first value is the response, an error a
// failure, an empty end a 404.
import type { Observer, Subscriber } from 'rxjs';

/** What a {@link HandlerAnswer} reports to: the exchange. */
export interface Answerable {
  /** The handler's Observable has answered (or ended): unsubscribes it; false if it already had. */
  settle(subscriber: Subscriber<unknown>): boolean;
  /** The handler's Observable emitted its answer. */
  answer(response: unknown): void;
  /** The handler's Observable failed. */
  failWith(error: unknown): void;
  /** The handler's Observable completed empty. */
  noAnswer(): void;
}

/**
 * What the handler's Observable emits into: its first value is the response, an error a 500, an
 * empty end a 404. One object per request rather than an observer of closures.
 */
export class HandlerAnswer implements Observer<unknown> {
  subscriber!: Subscriber<unknown>;
  constructor(private readonly exchange: Answerable) {}
  next(response: unknown): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.answer(response);
  }
  error(error: unknown): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.failWith(error);
  }
  complete(): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.noAnswer();
  }
}
