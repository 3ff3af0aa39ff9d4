// Publish deadlines: one timer and one abort signal for the publishes begun close together.
import { setMaxListeners } from 'node:events';

/**
 * Bounds the publishes of one hub in time. The publishes begun within a short window (a tenth
 * of the timeout, at most 100 ms) share one `AbortController` and one timer, rather than a
 * timer and a controller each, which cost a busy publisher more than the publish itself. The
 * shared timer fires the timeout after the window's first publish: each publish is refused
 * within the timeout, and not before the timeout less the window.
 */
export class Deadlines {
  #open: Window | undefined;
  #openUntil = 0;
  readonly #width: number;

  /**
   * @param timeout - milliseconds a publish may wait for its bus
   * @param refusal - the error of a publish that failed or timed out
   */
  constructor(
    private readonly timeout: number,
    private readonly refusal: Refusal,
  ) {
    this.#width = Math.min(100, Math.floor(timeout / 10));
  }

  /** The window a publish starting now belongs to: its signal goes to the bus. */
  begin(): Window {
    const now = performance.now();
    let window = this.#open;
    if (window === undefined || now >= this.#openUntil) {
      const opened = new Window(
        this.timeout,
        () => {
          if (this.#open === opened) this.#open = undefined;
        },
        this.refusal,
      );
      window = opened;
      this.#open = opened;
      this.#openUntil = now + this.#width;
    }
    window.hold();
    return window;
  }
}

/** How a hub turns a publish that failed or timed out into its error. */
export type Refusal = (topic: string, cause: unknown, timedOut: boolean) => Error;

/** A publish waiting for its bus: what refuses it when the window's timer fires first. */
interface Waiting {
  readonly reject: (error: Error) => void;
  readonly topic: string;
}

/** The publishes begun in one window, and what refuses them when the timeout passes. */
export class Window {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  /** Publishes of this window not settled yet: the timer keeps the process alive only while some are. */
  #pending = 0;
  /**
   * The publishes still waiting, each removed as it settles: under a steady stream of publishes
   * a window lives for its width and more, and entries kept until the whole window settled
   * outlived the young generation (a full collection every few MiB at 100,000 publishes a second).
   */
  readonly #waiting = new Set<Waiting>();

  constructor(
    timeout: number,
    closed: () => void,
    private readonly refusal: Refusal,
  ) {
    // Every publish of the window may listen to the one signal (a Redis client queueing while
    // disconnected does): that is by design, not a leak.
    setMaxListeners(0, this.#controller.signal);
    this.#timer = setTimeout(() => {
      closed();
      this.#controller.abort();
      // A rejection settles its publish later (a microtask), so nothing leaves the set meanwhile.
      for (const entry of this.#waiting) entry.reject(this.refusal(entry.topic, undefined, true));
      this.#waiting.clear();
    }, timeout);
    this.#timer.unref();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A publish begins in this window. */
  hold(): void {
    if (this.#pending++ === 0) this.#timer.ref();
  }

  /** A publish of this window settled (at once, when its bus took it synchronously). */
  release(): void {
    // Nothing left to refuse: the timer no longer holds the process.
    if (--this.#pending === 0) this.#timer.unref();
  }

  /**
   * Waits for `taken` (the bus taking a message to `topic`), or refuses with the hub's refusal
   * when the window's timer fires first.
   *
   * @returns a Promise that settles as `taken`, or rejects with the refusal's error
   */
  bound(taken: Promise<void>, topic: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry: Waiting = { reject, topic };
      this.#waiting.add(entry);
      taken.then(
        () => {
          if (!this.#waiting.delete(entry)) return;
          this.release();
          resolve();
        },
        (cause: unknown) => {
          if (!this.#waiting.delete(entry)) return;
          this.release();
          reject(this.refusal(topic, cause, false));
        },
      );
    });
  }
}
