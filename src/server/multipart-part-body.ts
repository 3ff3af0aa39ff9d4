// The body of a file part: read once, pushed or pulled, at the pace of its reader.
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { BodyConsumedError, PartSkippedError } from '../internal/errors.js';
import { kPull } from '../internal/pull.js';

/** What a part body tells the multipart reader it belongs to. */
export interface PartBodyHost {
  /** The body can take bytes again after `feed` said no. */
  room(): void;
  /** Its reader has seen its end, or it was dropped to its end: the next part may come. */
  done(body: PartBody): void;
}

/** Bytes a pulled body holds before the parser waits for its reader. */
const highWaterMark = 64 * 1024;

type Mode =
  /** Delivered (or about to be) and not claimed yet: what arrives waits, and the parser with it. */
  | 'waiting'
  /** Subscribed: bytes go to the subscriber as they arrive. */
  | 'pushing'
  /** Iterated: bytes queue up to the high-water mark for the reader's `next()`. */
  | 'pulling'
  /** Skipped, or its reader left: bytes are dropped until its end. */
  | 'dropping'
  /** Its end was handed out or dropped, or it failed. */
  | 'over';

/**
 * A file part's body, `Observable<Uint8Array> & AsyncIterable<Uint8Array>`: the parser feeds it,
 * and it says when it can take no more, so the request is read at its reader's pace. Read once;
 * skipped (its bytes dropped) when nobody claims it in time. Pullable, so that a response that
 * returns it as its body is written at the client's pace.
 */
export class PartBody extends Observable<Uint8Array> implements AsyncIterable<Uint8Array> {
  private mode: Mode = 'waiting';
  private claimed = false;
  private skipped = false;
  private readonly chunks: Uint8Array[] = [];
  private bytes = 0;
  /** The parser reached the part's end. */
  private ended = false;
  private failure: { error: unknown } | undefined;
  /** `feed` said no, so the parser waits for `room()`. */
  private owed = false;
  private subscriber: Subscriber<Uint8Array> | undefined;
  private waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;

  constructor(
    /** Names the body in errors: `The body of part "avatar" of POST /upload`. */
    readonly what: string,
    private readonly host: PartBodyHost,
  ) {
    super();
  }

  get [kPull](): true {
    return true;
  }

  /** Whether the parser may go on feeding it. */
  get hasRoom(): boolean {
    return (
      this.mode === 'pushing' || this.mode === 'dropping' || (this.mode === 'pulling' && this.bytes < highWaterMark)
    );
  }

  /** Bytes from the parser; false when it should wait for `room()`. */
  feed(chunk: Uint8Array): boolean {
    switch (this.mode) {
      case 'pushing':
        this.subscriber!.next(chunk);
        return true;
      case 'pulling':
        if (this.waiter !== undefined) {
          const waiter = this.waiter;
          this.waiter = undefined;
          waiter.resolve({ value: chunk, done: false });
          return true;
        }
        this.chunks.push(chunk);
        this.bytes += chunk.byteLength;
        return this.owe(this.bytes < highWaterMark);
      case 'waiting':
        this.chunks.push(chunk);
        this.bytes += chunk.byteLength;
        return this.owe(false);
      default:
        return true;
    }
  }

  /** The parser reached the part's end. */
  end(): void {
    this.ended = true;
    if (this.mode === 'pushing') {
      const subscriber = this.subscriber!;
      subscriber.complete();
      this.finish();
    } else if (this.mode === 'dropping' || (this.mode === 'pulling' && this.chunks.length === 0 && this.waiter)) {
      const waiter = this.waiter;
      this.waiter = undefined;
      this.finish();
      waiter?.resolve(finished);
    }
  }

  /** The upload failed or was left: its reader sees `error` (a later reader too), never an end. */
  fail(error: unknown): void {
    if (this.mode === 'over' || this.mode === 'dropping') return;
    this.failure = { error };
    const { subscriber, waiter } = this;
    this.mode = 'over';
    this.chunks.length = 0;
    this.waiter = undefined;
    subscriber?.error(error);
    waiter?.reject(error);
  }

  /** Nobody claimed it in time: its bytes are dropped and a later reader gets a `PartSkippedError`. */
  skipUnclaimed(): void {
    if (this.claimed || this.mode !== 'waiting') return;
    this.skipped = true;
    this.drop();
  }

  protected _subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic {
    const refused = this.claim();
    if (refused !== undefined) {
      subscriber.error(refused);
      return undefined;
    }
    this.mode = 'pushing';
    this.subscriber = subscriber;
    while (this.chunks.length > 0 && this.mode === 'pushing') subscriber.next(this.chunks.shift()!);
    this.bytes = 0;
    if (this.mode === 'pushing') {
      if (this.ended) {
        subscriber.complete();
        this.finish();
      } else {
        this.repay();
      }
    }
    return () => {
      if (this.mode === 'pushing') this.drop();
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const refused = this.claim();
    if (refused !== undefined) return { next: () => Promise.reject(refused) };
    this.mode = 'pulling';
    return {
      next: () => this.pull(),
      return: () => {
        if (this.mode === 'pulling') this.drop();
        return Promise.resolve(finished);
      },
    };
  }

  private pull(): Promise<IteratorResult<Uint8Array>> {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the failure is passed on as it came
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    const chunk = this.chunks.shift();
    if (chunk !== undefined) {
      this.bytes -= chunk.byteLength;
      if (this.bytes < highWaterMark) this.repay();
      return Promise.resolve({ value: chunk, done: false });
    }
    if (this.mode !== 'pulling') return Promise.resolve(finished);
    if (this.ended) {
      this.finish();
      return Promise.resolve(finished);
    }
    const next = new Promise<IteratorResult<Uint8Array>>((resolve, reject) => (this.waiter = { resolve, reject }));
    this.repay();
    return next;
  }

  private claim(): Error | undefined {
    if (this.skipped) return new PartSkippedError(this.what);
    if (this.claimed) return new BodyConsumedError(this.what);
    this.claimed = true;
    if (this.failure !== undefined) return this.failure.error as Error;
    return undefined;
  }

  /** Drops what is held and what is still to come; done at once if the end was already read. */
  private drop(): void {
    this.mode = 'dropping';
    this.subscriber = undefined;
    this.chunks.length = 0;
    this.bytes = 0;
    if (this.ended) this.finish();
    else this.repay();
  }

  private owe(more: boolean): boolean {
    if (!more) this.owed = true;
    return more;
  }

  /** Tells the parser it may go on, if it is waiting for this body. */
  private repay(): void {
    if (!this.owed) return;
    this.owed = false;
    this.host.room();
  }

  private finish(): void {
    if (this.mode === 'over') return;
    this.mode = 'over';
    this.subscriber = undefined;
    this.host.done(this);
  }
}

const finished: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });
