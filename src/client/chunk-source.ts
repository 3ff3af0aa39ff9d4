// The chunk source: a response body as it comes off the connection, and the ways to read one.
import type { Subscriber, TeardownLogic } from 'rxjs';
import { PullQueue } from '../internal/pull-queue.js';

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

/** Where a response body's chunks go, one reader at a time. */
export interface ChunkSink {
  /** A chunk; returning false asks the source to pause until {@link ChunkSource.resume}. */
  data(chunk: Uint8Array): boolean;
  end(): void;
  error(cause: unknown): void;
}

/**
 * True for a response that never has content, whatever its headers say (RFC 9112 section 6.3):
 * the answer to a HEAD, a 204 or a 304. Its Content-Length and Content-Encoding describe the
 * representation it stands for, so neither decoding nor size limits apply to it.
 */
export function hasNoContent(method: string, status: number): boolean {
  return status === 204 || status === 304 || method === 'HEAD';
}

/** The body of a response that has no content: it ends as soon as it is claimed. */
export const emptyBody: ChunkSource = {
  claim: (sink) => sink.end(),
  resume: () => undefined,
  abort: () => undefined,
  discard: () => undefined,
};

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
  const queue = new PullQueue<Uint8Array>();
  let claimed = false;
  const sink: ChunkSink = {
    data(chunk) {
      if (queue.isStopped) return false;
      options.counted?.(chunk.byteLength);
      queue.push(chunk);
      return false; // paused until the consumer asks for the next one
    },
    end: () => queue.end(),
    error: (cause) => queue.fail(options.failure(cause)),
  };
  const ask = (): void => {
    if (claimed) source.resume();
    else {
      claimed = true;
      source.claim(sink);
    }
  };
  return {
    next: () => queue.next(ask),
    return(): Promise<IteratorResult<Uint8Array>> {
      if (!queue.isOver) source.abort();
      queue.stop();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}
