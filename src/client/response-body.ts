import type { Readable } from 'node:stream';
import { BodyConsumedError } from '../internal/errors.js';
import { pullable } from '../internal/pull.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import type { ResponseBody } from './types.js';

/** What a response body needs from its request. */
export interface BodyHooks {
  /** Turns a stream error (or an early close, with no argument) into the typed error to raise. */
  failure: (cause?: unknown) => Error;
  /** Runs once the body has ended, failed or been let go: stops the request's timers. */
  settled?: (() => void) | undefined;
  /** Sees the size of each chunk handed out (download progress). */
  counted?: ((size: number) => void) | undefined;
}

/** Bodies delivered in this turn, checked together at its end: one Immediate, not one each. */
let unclaimed: { stream: Readable; check: () => boolean }[] | undefined;

function releaseUnclaimed(): void {
  const bodies = unclaimed!;
  unclaimed = undefined;
  for (const { stream, check } of bodies) {
    if (!check()) continue;
    const dump = (stream as Readable & { dump?: (options?: { limit?: number }) => Promise<void> }).dump;
    if (typeof dump === 'function') dump.call(stream, { limit: 64 * 1024 }).catch(() => stream.destroy());
    else stream.destroy();
  }
}

/**
 * A streamed response body: subscribe (push) or `for await` (pull, so a slow consumer slows the
 * socket), once. Unsubscribing, or stopping the loop, destroys the stream, which aborts the
 * response and frees its connection. A body nobody claims by the end of the event-loop turn in
 * which its response was delivered is let go (read and discarded, or destroyed), so unread
 * bodies never starve the pool.
 */
export function responseBody(stream: Readable, hooks: BodyHooks): ResponseBody {
  let claimed = false;
  let released = false;
  const claim = (): Error | undefined => {
    if (released)
      return new BodyConsumedError('The response body was not read in the turn it arrived and was released; it');
    if (claimed) return new BodyConsumedError('The response body');
    claimed = true;
    return undefined;
  };
  const { settled } = hooks;
  if (settled !== undefined) stream.once('close', settled);
  // An error with nobody listening would crash the process; whoever claims the body hears it too.
  stream.on('error', ignore);
  const entry = {
    stream,
    check: (): boolean => {
      if (claimed) return false;
      released = true;
      return true;
    },
  };
  if (unclaimed === undefined) {
    unclaimed = [entry];
    setImmediate(releaseUnclaimed);
  } else unclaimed.push(entry);
  return pullable<Uint8Array>(
    (subscriber) => {
      const refused = claim();
      if (refused !== undefined) {
        subscriber.error(refused);
        return;
      }
      let ended = false;
      const { counted } = hooks;
      const onData =
        counted === undefined
          ? (chunk: Uint8Array): void => subscriber.next(chunk)
          : (chunk: Uint8Array): void => {
              counted(chunk.byteLength);
              subscriber.next(chunk);
            };
      const onEnd = (): void => {
        ended = true;
        subscriber.complete();
      };
      const onError = (cause: unknown): void => subscriber.error(hooks.failure(cause));
      const onClose = (): void => {
        if (!ended) subscriber.error(hooks.failure());
      };
      stream.on('data', onData);
      stream.once('end', onEnd);
      stream.once('error', onError);
      stream.once('close', onClose);
      return () => {
        stream.off('data', onData);
        stream.off('end', onEnd);
        stream.off('error', onError);
        stream.off('close', onClose);
        if (!ended) stream.destroy();
      };
    },
    () => {
      const refused = claim();
      if (refused !== undefined) return { next: () => Promise.reject(refused) };
      const { counted } = hooks;
      return iterateReadable(stream, {
        destroyOnReturn: true,
        failure: hooks.failure,
        inspect: counted === undefined ? undefined : (chunk) => counted(chunk.byteLength),
      });
    },
  );
}

function ignore(): void {
  // errors reach whoever claimed the body through their own listener
}
