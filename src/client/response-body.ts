import { once } from '../internal/once-body.js';
import { type ChunkSource, iterateSource, type ReadOptions, subscribeSource } from './source.js';
import type { ResponseBody } from './types.js';

/** Bodies delivered in this turn, checked together at its end: one Immediate, not one each. */
let unclaimed: { source: ChunkSource; release: () => boolean }[] | undefined;

function releaseUnclaimed(): void {
  const bodies = unclaimed!;
  unclaimed = undefined;
  for (const { source, release } of bodies) if (release()) source.discard();
}

/**
 * A streamed response body: subscribe (push) or `for await` (pull, so a slow consumer slows the
 * socket), once. Unsubscribing, or stopping the loop, aborts the response, which closes its
 * connection. A body nobody claims by the end of the event-loop turn in which its response was
 * delivered is let go (a short rest read and dropped, a long one aborted), so unread bodies never
 * starve the pool.
 */
export function responseBody(source: ChunkSource, reading: ReadOptions): ResponseBody {
  const { body, release } = once(
    {
      subscribe: (subscriber) => subscribeSource(source, subscriber, reading),
      iterate: () => iterateSource(source, reading),
    },
    'The response body',
  );
  if (unclaimed === undefined) {
    unclaimed = [{ source, release }];
    setImmediate(releaseUnclaimed);
  } else unclaimed.push({ source, release });
  return body;
}
