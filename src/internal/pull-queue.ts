// A queue between a producer and an async iterator's pulls.

/**
 * The consumer's side of an async iterator over a push source: values that have arrived, how the
 * source ended, and the one `next()` waiting for either. The iterators over Readables, response
 * bodies and Observables are this queue plus the way each asks its source for more.
 */
export class PullQueue<T> {
  private readonly ready: T[] = [];
  private ended = false;
  private stopped = false;
  private failure: { error: unknown } | undefined;
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;

  /** The consumer stopped (`return()`): what is queued is dropped and `next()` is done from now on. */
  get isStopped(): boolean {
    return this.stopped;
  }

  /** The source has nothing more to give: it ended, failed, or the consumer stopped. */
  get isOver(): boolean {
    return this.ended || this.stopped || this.failure !== undefined;
  }

  push(value: T): void {
    this.ready.push(value);
    this.settle();
  }

  end(): void {
    this.ended = true;
    this.settle();
  }

  /** The source failed; the first failure is the one raised, after the values already queued. */
  fail(error: unknown): void {
    this.failure ??= { error };
    this.settle();
  }

  stop(): void {
    this.stopped = true;
    this.ready.length = 0;
    this.settle();
  }

  /**
   * The next result: a queued value, the end, the failure, or a wait; `ask` runs when the
   * consumer has to wait (to resume or start the source), after the wait has begun.
   */
  next(ask?: () => void): Promise<IteratorResult<T>> {
    const next = new Promise<IteratorResult<T>>((resolve, reject) => (this.waiting = { resolve, reject }));
    if (this.ready.length === 0 && !this.isOver) ask?.();
    this.settle();
    return next;
  }

  private settle(): void {
    const waiter = this.waiting;
    if (waiter === undefined) return;
    if (this.ready.length > 0) {
      this.waiting = undefined;
      waiter.resolve({ value: this.ready.shift()!, done: false });
    } else if (this.stopped || (this.ended && this.failure === undefined)) {
      this.waiting = undefined;
      waiter.resolve(done);
    } else if (this.failure !== undefined) {
      this.waiting = undefined;
      waiter.reject(this.failure.error);
    }
  }
}

const done: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
