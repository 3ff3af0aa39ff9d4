import type { Subscriber, TeardownLogic } from 'rxjs';
import { BodyConsumedError } from './errors.js';
import { type Pullable, pullable } from './pull.js';

/** The two faces of a body source; each is used at most once, by whichever comes first. */
export interface BodySource {
  subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic;
  iterate(): AsyncIterator<Uint8Array>;
}

/** A read-once body, and a way to let it go unread. */
export interface OnceBody {
  body: Pullable<Uint8Array>;
  /** Marks the body as gone if nobody has claimed it yet (later reads error); true if it was unclaimed. */
  release: () => boolean;
}

/**
 * A body that can be read once, by subscription or by `for await`: request bodies, mock ones,
 * and the client's response bodies. `what` names it in the `BodyConsumedError` of a second read.
 */
export function once(source: BodySource, what: string): OnceBody {
  let refusal: string | undefined;
  const claim = (): Error | undefined => {
    if (refusal !== undefined) return new BodyConsumedError(refusal);
    refusal = what;
    return undefined;
  };
  const body = pullable<Uint8Array>(
    (subscriber) => {
      const refused = claim();
      if (refused === undefined) return source.subscribe(subscriber);
      subscriber.error(refused);
      return;
    },
    () => {
      const refused = claim();
      return refused === undefined ? source.iterate() : { next: () => Promise.reject(refused) };
    },
  );
  return {
    body,
    release: () => {
      if (refusal !== undefined) return false;
      refusal = `${what}, released because it was not read in the turn it arrived,`;
      return true;
    },
  };
}

/** A request body that can be read once. */
export function onceBody(source: BodySource): Pullable<Uint8Array> {
  return once(source, 'The request body').body;
}
