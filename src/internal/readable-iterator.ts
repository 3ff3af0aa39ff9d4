// Reading a node Readable as an async iterator or an Observable, with errors typed.
import type { Readable } from 'node:stream';
import type { Subscriber, TeardownLogic } from 'rxjs';
import { PullQueue } from './pull-queue.js';

/** What {@link iterateReadable} does at the edges. */
export interface ReadableIteratorOptions {
  /** Destroy the stream when the consumer stops early (true for bodies we own). */
  destroyOnReturn: boolean;
  /** Turns a stream error, or a close before the end (no argument), into the error to raise. */
  failure: (cause?: unknown) => Error;
  /** Sees each chunk before it is handed out; may throw to fail the iteration. */
  inspect?: ((chunk: Uint8Array) => void) | undefined;
  /** For a borrowed stream: true when its rest is not wanted at all, so it stays paused instead of drained. */
  unwanted?: (() => boolean) | undefined;
}

/**
 * Pulls a Readable one chunk at a time: the stream is paused while the consumer holds a
 * chunk, so a slow consumer slows the producer (the socket, for request bodies). Unlike
 * node's own iterator, `return()` takes effect at once even while a `next()` is pending, and
 * chunk boundaries are kept.
 */
export function iterateReadable(stream: Readable, options: ReadableIteratorOptions): AsyncIterableIterator<Uint8Array> {
  const queue = new PullQueue<Uint8Array>();
  let ended = false;
  let attached = false;

  const onData = (chunk: Uint8Array): void => {
    try {
      options.inspect?.(chunk);
    } catch (error) {
      release();
      queue.fail(error);
      return;
    }
    stream.pause();
    queue.push(chunk);
  };
  const onEnd = (): void => {
    ended = true;
    detach();
    queue.end();
  };
  const onError = (cause: unknown): void => {
    detach();
    queue.fail(options.failure(cause));
  };
  const onClose = (): void => {
    detach();
    if (!ended) queue.fail(options.failure());
  };
  function release(): void {
    detach();
    letGo(stream, options, ended);
  }
  function detach(): void {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
  }
  const ask = (): void => {
    if (!attached) {
      attached = true;
      if (stream.readableEnded) {
        ended = true;
        queue.end();
        return;
      }
      if (stream.destroyed) {
        queue.fail(options.failure(stream.errored ?? undefined));
        return;
      }
      stream.on('data', onData);
      stream.on('end', onEnd);
      stream.on('error', onError);
      stream.on('close', onClose);
    }
    stream.resume();
  };

  return {
    next: () => queue.next(ask),
    return(): Promise<IteratorResult<Uint8Array>> {
      if (!queue.isStopped) {
        queue.stop();
        release();
      }
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/**
 * Lets go of a stream read no further: ours is destroyed, a borrowed one is drained to nowhere,
 * unless its rest is unwanted (then whoever said so has stopped the reading below it).
 */
function letGo(stream: Readable, options: ReadableIteratorOptions, ended: boolean): void {
  if (options.destroyOnReturn) stream.destroy();
  else if (!ended && options.unwanted?.() !== true) stream.resume();
}

/**
 * The push twin of {@link iterateReadable}: hands a Readable's chunks to a subscriber as they
 * come, with the same edges (`failure`, `inspect`, and letting go of the stream when the
 * subscriber leaves before the end).
 */
export function subscribeReadable(
  stream: Readable,
  subscriber: Subscriber<Uint8Array>,
  options: ReadableIteratorOptions,
): TeardownLogic {
  if (stream.readableEnded) {
    subscriber.complete();
    return;
  }
  if (stream.destroyed) {
    subscriber.error(options.failure(stream.errored ?? undefined));
    return;
  }
  let ended = false;
  const onData = (chunk: Uint8Array): void => {
    try {
      options.inspect?.(chunk);
    } catch (error) {
      detach();
      letGo(stream, options, ended);
      subscriber.error(error);
      return;
    }
    subscriber.next(chunk);
  };
  const onEnd = (): void => {
    ended = true;
    detach();
    subscriber.complete();
  };
  const onError = (cause: unknown): void => {
    detach();
    subscriber.error(options.failure(cause));
  };
  const onClose = (): void => {
    detach();
    if (!ended) subscriber.error(options.failure());
  };
  function detach(): void {
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onError);
    stream.off('close', onClose);
  }
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onError);
  stream.on('close', onClose);
  return () => {
    detach();
    if (!ended) letGo(stream, options, ended);
  };
}
