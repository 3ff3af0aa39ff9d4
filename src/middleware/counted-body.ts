// Counting a streaming response body's bytes as they pass, without changing how it is sent:
// a push Observable stays one, a pull body is still read only as fast as the client reads.
import { Readable } from 'node:stream';
import { isObservable, Observable } from 'rxjs';
import { ResponseStreamError } from '../internal/errors.js';
import { isAsyncIterable, isPullable, pullableOf } from '../internal/pull.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import { kEndsOnClose } from '../server/pipeline-config.js';
import type { BodyChunk, ResponseBody } from '../server/types.js';

/** What a counted body tells as it is read. */
export interface BodyCounter {
  /** The body was opened (subscribed, or its iterator made). */
  opened(): void;
  /** A chunk passed. */
  count(chunk: unknown): void;
  /** The body ended. */
  completed(): void;
  /** The body failed. */
  failed(error: unknown): void;
  /** The body was stopped before its end (unsubscribed, or its iterator returned). */
  stopped(): void;
  /** `'GET /path'`, for messages. */
  requestLine(): string;
}

/** A streaming body that counts what passes into `entry`, sent as the original would be; else undefined. */
export function countedBody(body: ResponseBody, entry: BodyCounter): ResponseBody | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  let counted: ResponseBody;
  if (isObservable(body)) {
    const push = countedPush(body, entry);
    counted = isPullable(body)
      ? pullableOf<BodyChunk>(
          (subscriber) => push.subscribe(subscriber),
          () => countedPull(() => (body as AsyncIterable<BodyChunk>)[Symbol.asyncIterator](), entry),
        )
      : push;
  } else if (body instanceof Readable) {
    // Read as the server reads a Readable: paused while a chunk waits, destroyed when stopped.
    const failure = (cause?: unknown): Error =>
      new ResponseStreamError(entry.requestLine(), cause ?? new Error('the stream closed early'));
    counted = {
      [Symbol.asyncIterator]: () => countedPull(() => iterateReadable(body, { destroyOnReturn: true, failure }), entry),
    };
  } else if (isAsyncIterable(body)) {
    const iterable = body as AsyncIterable<BodyChunk>;
    counted = { [Symbol.asyncIterator]: () => countedPull(() => iterable[Symbol.asyncIterator](), entry) };
  } else {
    return undefined;
  }
  // An `sse()` body ends cleanly when the server closes; its counted form must too.
  if ((body as { [kEndsOnClose]?: true })[kEndsOnClose] === true) Object.assign(counted, { [kEndsOnClose]: true });
  return counted;
}

/** A push body that counts its chunks as they pass and tells `entry` how it ended. */
function countedPush(body: Observable<BodyChunk>, entry: BodyCounter): Observable<BodyChunk> {
  return new Observable<BodyChunk>((subscriber) => {
    entry.opened();
    let over = false;
    const subscription = body.subscribe({
      next: (chunk) => {
        entry.count(chunk);
        subscriber.next(chunk);
      },
      error: (error: unknown) => {
        over = true;
        subscriber.error(error);
        entry.failed(error);
      },
      complete: () => {
        over = true;
        subscriber.complete();
        entry.completed();
      },
    });
    return () => {
      subscription.unsubscribe();
      if (!over) {
        over = true;
        entry.stopped();
      }
    };
  });
}

/**
 * A pull body's iterator that counts each chunk it hands out. A plain iterator object rather
 * than an async generator: a generator's `return()` waits behind a pending `next()`, so a
 * client leaving would not reach the source until it produced again; this one passes
 * `return()` on at once.
 */
function countedPull(open: () => AsyncIterator<unknown>, entry: BodyCounter): AsyncIterator<BodyChunk> {
  entry.opened();
  let iterator: AsyncIterator<unknown>;
  try {
    iterator = open();
  } catch (error) {
    entry.failed(error);
    throw error;
  }
  let over = false;
  const failed = (error: unknown): never => {
    if (!over) {
      over = true;
      entry.failed(error);
    }
    throw error;
  };
  return {
    next: () => {
      let step: Promise<IteratorResult<unknown>>;
      try {
        step = Promise.resolve(iterator.next());
      } catch (error) {
        return failed(error);
      }
      return step.then((result) => {
        if (!over) {
          if (result.done === true) {
            over = true;
            entry.completed();
          } else {
            entry.count(result.value);
          }
        }
        return result as IteratorResult<BodyChunk>;
      }, failed);
    },
    return: (value?: unknown) => {
      if (!over) {
        over = true;
        entry.stopped();
      }
      const closing = iterator.return?.(value);
      return closing === undefined
        ? Promise.resolve({ done: true, value: undefined })
        : (closing as Promise<IteratorResult<BodyChunk>>);
    },
  };
}
