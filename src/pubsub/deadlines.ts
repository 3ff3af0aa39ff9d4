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

  /** @param timeout - milliseconds a publish may wait for its bus */
  constructor(private readonly timeout: number) {
    this.#width = Math.min(100, Math.floor(timeout / 10));
  }

  /** The window a publish starting now belongs to: its signal goes to the bus. */
  begin(): Window {
    const now = performance.now();
    let window = this.#open;
    if (window === undefined || now >= this.#openUntil) {
      const opened = new Window(this.timeout, () => {
        if (this.#open === opened) this.#open = undefined;
      });
      window = opened;
      this.#open = opened;
      this.#openUntil = now + this.#width;
    }
    window.hold();
    return window;
  }
}

/** The publishes begun in one window, and what refuses them when the timeout passes. */
export class Window {
  readonly #controller = new AbortController();
  readonly #timer: ReturnType<typeof setTimeout>;
  /** Publishes of this window not settled yet: the timer keeps the process alive only while some are. */
  #pending = 0;
  readonly #waiting: { refuse: () => void; done: boolean }[] = [];

  constructor(timeout: number, closed: () => void) {
    // Every publish of the window may listen to the one signal (a Redis client queueing while
    // disconnected does): that is by design, not a leak.
    setMaxListeners(0, this.#controller.signal);
    this.#timer = setTimeout(() => {
      closed();
      this.#controller.abort();
      const waiting = this.#waiting.splice(0);
      for (const entry of waiting) {
        if (entry.done) continue;
        entry.done = true;
        entry.refuse();
      }
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
    if (--this.#pending > 0) return;
    // Nothing left to refuse: the timer no longer holds the process, nor the window its entries.
    this.#timer.unref();
    this.#waiting.length = 0;
  }

  /**
   * Waits for `taken` (the bus taking a message), or refuses with `timedOut()` when the window's
   * timer fires first.
   *
   * @returns a Promise that settles as `taken`, or rejects with `timedOut()` or `failed(cause)`
   */
  bound(taken: Promise<void>, timedOut: () => Error, failed: (cause: unknown) => Error): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry = { refuse: () => reject(timedOut()), done: false };
      this.#waiting.push(entry);
      taken.then(
        () => {
          if (entry.done) return;
          entry.done = true;
          this.release();
          resolve();
        },
        (cause: unknown) => {
          if (entry.done) return;
          entry.done = true;
          this.release();
          reject(failed(cause));
        },
      );
    });
  }
}
