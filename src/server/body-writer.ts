// Writing a response body: a push body (a plain Observable) bounded by highWaterMark, a pull
// body (an async iterable, a Readable, an rxjet body) read only as fast as the client reads.
import { Readable } from 'node:stream';
import type { Observable, Unsubscribable } from 'rxjs';
import {
  BodyOverflowError,
  ContentLengthMismatchError,
  InvalidChunkError,
  ResponseStreamError,
} from '../internal/errors.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import { subscriberOf } from '../internal/subscriber-of.js';
import { kEndsOnClose, type Endable, type PipelineConfig } from './pipeline-config.js';
import type { ResponseTarget } from './response-target.js';
import type { BodyChunk } from './types.js';

/** What a body writer needs of its exchange. */
export interface BodyWriting extends Endable {
  readonly res: ResponseTarget;
  readonly config: PipelineConfig;
  /** `'GET /path'`, for messages. */
  where(): string;
  /** Whether the exchange has ended (answered, broken or abandoned). */
  ended(): boolean;
  /** Starts watching for the client going away; false if it already has. */
  watch(): boolean;
  /** Keeps what runs for the body, to be stopped if the exchange ends first. */
  hold(live: Unsubscribable | undefined): void;
  /** Whether the head still waits for the body's first byte. */
  headPending(): boolean;
  /** Writes the waiting head; false if node refused it. */
  openHead(): boolean;
  /** The body failed: a failing handler's answer while nothing is on the wire, else a cut connection. */
  bodyFailed(error: unknown): void;
  /** The body ended after `written` bytes, `declared` by its content-length (or -1). */
  finish(declared: number, written: number): void;
}

export function writePush(x: BodyWriting, body: Observable<BodyChunk>, declared: number): void {
  if (!x.watch()) return;
  const { res } = x;
  const { highWaterMark, overflow } = x.config;
  let written = 0;
  const subscriber = subscriberOf<BodyChunk>({
    next: (chunk) => {
      if (x.ended()) return;
      const size = byteSize(chunk);
      if (size <= 0) {
        if (size < 0) x.bodyFailed(new InvalidChunkError(x.where(), chunk));
        return;
      }
      const buffered = res.writableLength;
      if (buffered > 0 && buffered + size > highWaterMark) {
        if (overflow === 'error') x.bodyFailed(new BodyOverflowError(x.where(), highWaterMark));
        return;
      }
      if (declared >= 0 && written + size > declared) {
        x.bodyFailed(new ContentLengthMismatchError(x.where(), declared, 'has more than'));
        return;
      }
      if (!x.openHead()) return;
      written += size;
      res.write(chunk);
    },
    error: (error: unknown) => x.bodyFailed(new ResponseStreamError(x.where(), error)),
    complete: () => x.finish(declared, written),
  });
  x.hold(subscriber);
  if ((body as { [kEndsOnClose]?: true })[kEndsOnClose] === true) x.config.endOnClose.add(x);
  body.subscribe(subscriber);
  // Nothing came during subscribe: send the head now, so that the client sees it while it waits.
  if (!x.ended() && x.headPending() && x.openHead()) res.flushHeaders();
}

export async function writePull(
  x: BodyWriting,
  body: AsyncIterable<BodyChunk> | Readable,
  declared: number,
): Promise<void> {
  if (!x.watch()) return;
  let iterator: AsyncIterator<unknown>;
  try {
    iterator =
      body instanceof Readable
        ? iterateReadable(body, {
            destroyOnReturn: true,
            failure: (cause) => new ResponseStreamError(x.where(), cause ?? new Error('the stream closed early')),
          })
        : body[Symbol.asyncIterator]();
  } catch (error) {
    x.bodyFailed(error);
    return;
  }
  x.hold({ unsubscribe: () => closeIterator(iterator) });
  const { res } = x;
  let written = 0;
  try {
    for (;;) {
      const step = await iterator.next();
      if (x.ended()) return;
      if (step.done === true) break;
      const chunk: unknown = step.value;
      const size = byteSize(chunk);
      if (size <= 0) {
        if (size < 0) {
          x.bodyFailed(new InvalidChunkError(x.where(), chunk));
          return;
        }
        continue;
      }
      if (declared >= 0 && written + size > declared) {
        x.bodyFailed(new ContentLengthMismatchError(x.where(), declared, 'has more than'));
        return;
      }
      if (!x.openHead()) return;
      written += size;
      if (!res.write(chunk as BodyChunk)) {
        await drained(res);
        if (x.ended()) return;
      }
    }
    x.hold(undefined);
    x.finish(declared, written);
  } catch (error) {
    x.hold(undefined);
    x.bodyFailed(error);
  }
}

/** Resolves when the client has taken what was written, or has gone. */
function drained(res: ResponseTarget): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Bytes in a chunk, or -1 for something that is not a chunk. */
export function byteSize(chunk: unknown): number {
  if (typeof chunk === 'string') return chunk.length === 0 ? 0 : Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return -1;
}

function closeIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const closing = iterator.return?.();
    if (closing !== undefined) closing.then(undefined, () => undefined);
  } catch {
    // the source failed while closing; the exchange is over either way
  }
}
