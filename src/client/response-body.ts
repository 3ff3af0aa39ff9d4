// The response body a user sees: an Observable and an async iterable over one chunk source.
import type { Subscriber, TeardownLogic } from 'rxjs';
import { type BodySource, OnceBody } from '../internal/once-body.js';
import { type ChunkSource, iterateSource, type ReadOptions, subscribeSource } from './chunk-source.js';
import type { ClientResponseBody } from './types.js';

/**
 * A streamed response body: subscribe (push) or `for await` (pull, so a slow consumer slows the
 * socket), once. Unsubscribing, or stopping the loop, aborts the response, which closes its
 * connection. A body nobody claims by the end of the event-loop turn in which its response was
 * delivered is let go (a short rest read and dropped, a long one aborted), so unread bodies never
 * starve the pool.
 */
export function responseBody(source: ChunkSource, reading: ReadOptions): ClientResponseBody {
  const body = new ResponseBodySource(source, reading);
  if (unclaimed === undefined) {
    unclaimed = [body];
    setImmediate(releaseUnclaimed);
  } else unclaimed.push(body);
  return body.body;
}

/** Bodies delivered in this turn, checked together at its end: one Immediate, not one each. */
let unclaimed: ResponseBodySource[] | undefined;

function releaseUnclaimed(): void {
  const bodies = unclaimed!;
  unclaimed = undefined;
  for (const body of bodies) body.releaseUnread();
}

/** A response body's two faces over its chunk source. */
class ResponseBodySource implements BodySource {
  readonly body = new OnceBody(this, 'The response body');

  constructor(
    private readonly source: ChunkSource,
    private readonly reading: ReadOptions,
  ) {}

  subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic {
    return subscribeSource(this.source, subscriber, this.reading);
  }

  iterate(): AsyncIterator<Uint8Array> {
    return iterateSource(this.source, this.reading);
  }

  releaseUnread(): void {
    if (this.body.release()) this.source.discard();
  }
}
