import type { Subscriber, TeardownLogic } from 'rxjs';

/** Where a response body's chunks go, one reader at a time. */
export interface ChunkSink {
  /** A chunk; returning false asks the source to pause until {@link ChunkSource.resume}. */
  data(chunk: Uint8Array): boolean;
  end(): void;
  error(cause: unknown): void;
}

/**
 * A response body as it comes off the connection: handed to one sink, paused when the sink asks,
 * aborted (which closes the connection) when the reader leaves early.
 */
export interface ChunkSource {
  /** Starts delivery to `sink`; called once. */
  claim(sink: ChunkSink): void;
  /** Delivery may go on after the sink returned false. */
  resume(): void;
  /** Stops the response; its connection is closed. Nothing more reaches the sink. */
  abort(reason?: Error): void;
  /** Lets an unread body go: a short rest is read and dropped (the connection is kept), a long one aborted. */
  discard(): void;
}

/** What reading a source does at the edges. */
export interface ReadOptions {
  /** Turns what the source failed with into the error to raise. */
  failure: (cause: unknown) => Error;
  /** Sees the size of each chunk handed out (download progress). */
  counted?: ((size: number) => void) | undefined;
}

/** Hands a source's chunks to a subscriber as they come; unsubscribing early aborts the source. */
export function subscribeSource(
  source: ChunkSource,
  subscriber: Subscriber<Uint8Array>,
  options: ReadOptions,
): TeardownLogic {
  let done = false;
  const { counted } = options;
  source.claim({
    data(chunk) {
      counted?.(chunk.byteLength);
      subscriber.next(chunk);
      return true;
    },
    end() {
      done = true;
      subscriber.complete();
    },
    error(cause) {
      done = true;
      subscriber.error(options.failure(cause));
    },
  });
  return () => {
    if (!done) {
      done = true;
      source.abort();
    }
  };
}

/**
 * Pulls a source one chunk at a time: it is paused while the consumer holds a chunk, so a slow
 * consumer slows the socket. `return()` takes effect at once, even while a `next()` waits.
 */
export function iterateSource(source: ChunkSource, options: ReadOptions): AsyncIterableIterator<Uint8Array> {
  const ready: Uint8Array[] = [];
  let claimed = false;
  let ended = false;
  let stopped = false;
  let error: Error | undefined;
  let waiting: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: Error) => void } | undefined;
  const settle = (): void => {
    if (waiting === undefined) return;
    const waiter = waiting;
    if (ready.length > 0) {
      waiting = undefined;
      waiter.resolve({ value: ready.shift()!, done: false });
    } else if (error !== undefined) {
      waiting = undefined;
      waiter.reject(error);
    } else if (ended || stopped) {
      waiting = undefined;
      waiter.resolve({ value: undefined, done: true });
    }
  };
  const sink: ChunkSink = {
    data(chunk) {
      if (stopped) return false;
      options.counted?.(chunk.byteLength);
      ready.push(chunk);
      settle();
      return false; // paused until the consumer asks for the next one
    },
    end() {
      ended = true;
      settle();
    },
    error(cause) {
      error ??= options.failure(cause);
      settle();
    },
  };
  return {
    next(): Promise<IteratorResult<Uint8Array>> {
      if (ready.length > 0) return Promise.resolve({ value: ready.shift()!, done: false });
      if (stopped || ended) return Promise.resolve({ value: undefined, done: true });
      if (error !== undefined) return Promise.reject(error);
      const next = new Promise<IteratorResult<Uint8Array>>((resolve, reject) => (waiting = { resolve, reject }));
      if (claimed) source.resume();
      else {
        claimed = true;
        source.claim(sink);
      }
      settle();
      return next;
    },
    return(): Promise<IteratorResult<Uint8Array>> {
      if (!stopped) {
        stopped = true;
        ready.length = 0;
        if (!ended && error === undefined) source.abort();
        settle();
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
