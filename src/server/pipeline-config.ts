// The response pipeline's settings, shared by `serve` and `inject`.
import type { JetRequest } from './types.js';

/** What to do when a push body gets more than `highWaterMark` bytes ahead of the client. */
export type OverflowPolicy = 'error' | 'drop';

/** Options of the response pipeline, shared by `serve` and `inject`. */
export interface ResponseOptions {
  /**
   * Bytes a push (plain Observable) body may get ahead of a slow client before `overflow`
   * applies. Pull bodies (async iterables, streams, rxjet bodies) never buffer beyond the
   * socket's own buffer: they are read only as fast as the client reads.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /**
   * Past `highWaterMark`: `'error'` destroys the response and reports a
   * `BodyOverflowError`; `'drop'` drops chunks until the client catches up (for live data).
   * @default 'error'
   */
  overflow?: OverflowPolicy;
  /**
   * Milliseconds a handler may take to answer (first emission, resolution) before it is
   * unsubscribed, `req.signal` aborts and a 503 is sent; 0 turns it off.
   * @default 0
   */
  handlerTimeout?: number;
  /**
   * Called once for each unexpected error (a handler failing, an invalid response, a body
   * failing mid-stream, a handler timeout); never for `HttpError`s. The default writes it to
   * stderr. Error details never reach the client.
   * @default the `logger`'s `error`, else one line on stderr
   */
  onError?: (error: Error, req: JetRequest) => void;
  /**
   * Where unexpected errors go when there is no `onError`: a pino-style logger (pino, bunyan,
   * or anything with `error(object, message)`), called as
   * `logger.error({ err, req: { method, url, remoteAddress } }, message)`.
   * @default none: errors go to stderr
   */
  logger?: Logger;
}

/** The part of a pino-style logger rxjet uses. */
export interface Logger {
  /**
   * Logs at error level: a merging object first (rxjet gives `err` and `req`), then the message.
   *
   * @param object - `{ err, req: { method, url, remoteAddress } }`
   * @param message - one line saying which request failed
   */
  error(object: Record<string, unknown>, message?: string): void;
}

/**
 * Marks a response body that has no end of its own and is ended cleanly when the server closes
 * (an `sse()` stream): its client reconnects, to another instance, instead of waiting out
 * `close()`'s timeout.
 */
export const kEndsOnClose: unique symbol = Symbol('rxjet.endsOnClose');

/** A running response that `close()` can end cleanly. */
export interface Endable {
  /** Ends the response now as if its body had completed. */
  endEarly(): void;
}

/** The resolved pipeline settings; `closing` flips when the server starts closing. */
export interface PipelineConfig {
  readonly highWaterMark: number;
  readonly overflow: OverflowPolicy;
  readonly handlerTimeout: number;
  readonly report: (error: Error, req: JetRequest) => void;
  closing: boolean;
  /** Exchanges that outlived their handler call (async answers, streams) and have not closed yet. */
  active: number;
  /** Called when such an exchange closes while the server is closing. */
  onSettled?: () => void;
  /** Responses whose body is marked {@link kEndsOnClose}, running now. */
  readonly endOnClose: Set<Endable>;
}
