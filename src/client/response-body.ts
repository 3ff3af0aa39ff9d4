import type { Readable } from 'node:stream';
import { once } from '../internal/once-body.js';
import { iterateReadable, type ReadableIteratorOptions, subscribeReadable } from '../internal/readable-iterator.js';
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
let unclaimed: { stream: Readable; release: () => boolean }[] | undefined;

function releaseUnclaimed(): void {
  const bodies = unclaimed!;
  unclaimed = undefined;
  for (const { stream, release } of bodies) {
    if (!release()) continue;
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
  const { settled, counted } = hooks;
  if (settled !== undefined) stream.once('close', settled);
  // An error with nobody listening would crash the process; whoever claims the body hears it too.
  stream.on('error', ignore);
  const reading: ReadableIteratorOptions = {
    destroyOnReturn: true,
    failure: hooks.failure,
    inspect: counted === undefined ? undefined : (chunk) => counted(chunk.byteLength),
  };
  const { body, release } = once(
    {
      subscribe: (subscriber) => subscribeReadable(stream, subscriber, reading),
      iterate: () => iterateReadable(stream, reading),
    },
    'The response body',
  );
  if (unclaimed === undefined) {
    unclaimed = [{ stream, release }];
    setImmediate(releaseUnclaimed);
  } else unclaimed.push({ stream, release });
  return body;
}

function ignore(): void {
  // errors reach whoever claimed the body through their own listener
}
