// Bodies that can be read once, by subscription or by `for await`.
import { EMPTY, Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { BodyConsumedError } from './errors.js';
import { kPull, type Pullable } from './pull.js';

/** The two faces of a body source; each is used at most once, by whichever comes first. */
export interface BodySource {
  subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic;
  iterate(): AsyncIterator<Uint8Array>;
}

/**
 * A body that can be read once, by subscription or by `for await`: request bodies, mock ones,
 * and the client's response bodies. `what` names it in the `BodyConsumedError` of a second read.
 * One object per body: a class rather than an Observable of closures.
 */
export class OnceBody extends Observable<Uint8Array> implements AsyncIterable<Uint8Array> {
  private refusal: string | undefined;

  constructor(
    private readonly faces: BodySource,
    private readonly what: string,
  ) {
    super();
  }

  get [kPull](): true {
    return true;
  }

  // RxJS calls _subscribe on subscribe (its typings hide it); overriding it spares a closure.
  protected _subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic {
    const refused = this.claim();
    if (refused === undefined) return this.faces.subscribe(subscriber);
    subscriber.error(refused);
    return undefined;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const refused = this.claim();
    return refused === undefined ? this.faces.iterate() : { next: () => Promise.reject(refused) };
  }

  /** Marks the body as gone if nobody has claimed it yet (later reads error); true if it was unclaimed. */
  release(): boolean {
    if (this.refusal !== undefined) return false;
    this.refusal = `${this.what}, released because it was not read in the turn it arrived,`;
    return true;
  }

  private claim(): Error | undefined {
    if (this.refusal !== undefined) return new BodyConsumedError(this.refusal);
    this.refusal = this.what;
    return undefined;
  }
}

/** A request body that can be read once. */
export function onceBody(source: BodySource): Pullable<Uint8Array> {
  return new OnceBody(source, 'The request body');
}

/** The body of a request that has none (a WebSocket's opening request): read once, it ends at once. */
export function emptyBody(): Pullable<Uint8Array> {
  return onceBody({
    subscribe: (subscriber) => EMPTY.subscribe(subscriber),
    iterate: () => ({ next: () => Promise.resolve({ value: undefined, done: true }) }),
  });
}
