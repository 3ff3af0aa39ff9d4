/** Errors of the WebSocket server and client, the `RXJET_ERR_WS_*` codes. */
import { describe, RxjetError } from './errors-base.js';

/**
 * A WebSocket handshake was refused: the server answered with an HTTP status instead of upgrading.
 *
 * @example
 * ```ts
 * import { WebSocketHandshakeError } from 'rxjet';
 * import { connect } from 'rxjet/websocket';
 *
 * try {
 *   await connect('ws://127.0.0.1:8080/admin', () => {});
 * } catch (err) {
 *   if (err instanceof WebSocketHandshakeError) console.log(err.status, err.body); // 401 log in first
 * }
 * ```
 */
export class WebSocketHandshakeError extends RxjetError {
  /** The HTTP status the server answered with. */
  readonly status: number;
  /** The start of the response body (at most 64 KiB), decoded as UTF-8. */
  readonly body: string;
  /** The response headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;

  /**
   * @param url - the URL the client tried to open
   * @param status - the HTTP status the server answered with
   * @param headers - the response headers
   * @param body - the start of the response body
   */
  constructor(url: string, status: number, headers: Record<string, string | string[] | undefined>, body: string) {
    super('RXJET_ERR_WS_HANDSHAKE', `The WebSocket handshake with ${url} was refused with status ${status}.`);
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * A WebSocket could not be opened: the connection failed or the handshake timed out.
 *
 * @example
 * ```ts
 * import { WebSocketConnectError } from 'rxjet';
 * import { connect } from 'rxjet/websocket';
 *
 * // Nothing listens on port 1.
 * await connect('ws://127.0.0.1:1/', () => {}).catch((err: unknown) => {
 *   console.log(err instanceof WebSocketConnectError, (err as Error).cause); // true Error: connect ECONNREFUSED …
 * });
 * ```
 */
export class WebSocketConnectError extends RxjetError {
  /**
   * @param url - the URL the client tried to open
   * @param cause - the network error, or the handshake timeout
   */
  constructor(url: string, cause: unknown) {
    super('RXJET_ERR_WS_CONNECT', `Could not open a WebSocket to ${url}.`, { cause });
  }
}

/**
 * A WebSocket is closed. Two uses: a message sent on a socket that is closing or closed (put on
 * `ctrl$`, never thrown; it was not sent), and the cold client `websocket()` ending any other way
 * than a normal close (1000, or 1005: a close frame without a code) or a close asked for on this
 * side: a dropped connection (1006), a server going away or failing (1001, 1011, 1012, 1013), an
 * application code. The cold form errors with it, carrying the close in `closeCode` and
 * `reason`, so `retry({ delay })` reconnects (and its `delay` may look at the code). (`code` is
 * the error's own `RXJET_ERR_WS_CLOSED`, as on every rxjet error.)
 *
 * @example
 * ```ts
 * import { WebSocketClosedError } from 'rxjet';
 * import { backoff, websocket } from 'rxjet/websocket';
 * import { retry, switchMap, throwError } from 'rxjs';
 *
 * websocket('ws://127.0.0.1:8080/feed')
 *   .pipe(
 *     switchMap((conn) => conn.in$),
 *     retry({
 *       delay: (error: unknown, attempt) =>
 *         error instanceof WebSocketClosedError && error.closeCode === 1008
 *           ? throwError(() => error) // refused by policy: do not come back
 *           : backoff({ initial: 100, max: 30_000 })(error, attempt),
 *     }),
 *   )
 *   .subscribe((message) => console.log(message));
 * ```
 */
export class WebSocketClosedError extends RxjetError {
  /** The close code of a connection that ended (1006 when no close frame came); undefined for a message sent too late. */
  readonly closeCode: number | undefined;
  /** The close reason the peer gave, `''` when none; undefined for a message sent too late. */
  readonly reason: string | undefined;

  /**
   * @param where - the connection, by its URL
   * @param close - how the connection ended, for the cold client's error; absent for a message sent too late
   */
  constructor(where: string, close?: { code: number; reason: string }) {
    super(
      'RXJET_ERR_WS_CLOSED',
      close === undefined
        ? `A message was sent on the closed WebSocket ${where}; it was dropped.`
        : `The WebSocket ${where} closed with ${close.code}${close.reason === '' ? '' : ` (${close.reason})`}.`,
    );
    this.closeCode = close?.code;
    this.reason = close?.reason;
  }
}

/**
 * `out$` was given something other than a string or bytes; it was not sent. It is put on
 * `ctrl$`, never thrown.
 *
 * @example
 * ```ts
 * import { InvalidMessageError } from 'rxjet';
 * import { connect } from 'rxjet/websocket';
 *
 * const conn = await connect('ws://127.0.0.1:8080/chat', () => {});
 * conn.ctrl$.subscribe((event) => {
 *   if (event.type === 'error' && event.error instanceof InvalidMessageError) console.log(event.error.message);
 * });
 * conn.out$.next({ not: 'a message' } as unknown as string); // reported, not sent
 * ```
 */
export class InvalidMessageError extends RxjetError {
  /**
   * @param where - the connection, by its URL
   * @param message - what `out$` was given (only its type goes into the message)
   */
  constructor(where: string, message: unknown) {
    super(
      'RXJET_ERR_WS_INVALID_MESSAGE',
      `Invalid WebSocket message on ${where}: expected a string or Uint8Array, got ${describe(message)}.`,
    );
  }
}

/**
 * Outbound messages got more than `highWaterMark` bytes ahead of the peer under `overflow: 'close'`; the socket was closed with 1008.
 *
 * @example
 * ```ts
 * import { WebSocketOverflowError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * await serve({
 *   port: 8080,
 *   websocket: { highWaterMark: 64 * 1024 },
 *   websocketHandler: (conn) => {
 *     conn.ctrl$.subscribe((event) => {
 *       if (event.type === 'error' && event.error instanceof WebSocketOverflowError) console.log('a slow peer was cut off');
 *     });
 *     for (let i = 0; i < 100; i++) conn.out$.next(Buffer.alloc(16 * 1024));
 *   },
 * });
 * ```
 */
export class WebSocketOverflowError extends RxjetError {
  /**
   * @param where - the connection, by its URL
   * @param highWaterMark - the bound that was passed, in bytes
   */
  constructor(where: string, highWaterMark: number) {
    super(
      'RXJET_ERR_WS_OVERFLOW',
      `Outbound messages on ${where} got more than ${highWaterMark} bytes ahead of the peer; closing with 1008.`,
    );
  }
}

/**
 * The peer did not answer a heartbeat ping in time; the socket was terminated (close code 1006).
 *
 * @example
 * ```ts
 * import { WebSocketHeartbeatError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * await serve({
 *   port: 8080,
 *   websocket: { heartbeat: 10_000 },
 *   websocketHandler: (conn) =>
 *     conn.ctrl$.subscribe((event) => {
 *       if (event.type === 'error' && event.error instanceof WebSocketHeartbeatError) console.log('a peer vanished');
 *     }),
 * });
 * ```
 */
export class WebSocketHeartbeatError extends RxjetError {
  /**
   * @param where - the connection, by its URL
   * @param interval - the `heartbeat` interval, in milliseconds
   */
  constructor(where: string, interval: number) {
    super('RXJET_ERR_WS_HEARTBEAT', `The peer of ${where} did not answer a ping within ${interval} ms.`);
  }
}

/**
 * The peer broke the WebSocket protocol (bad frame, invalid UTF-8, oversize message); `closeCode` is the code sent.
 *
 * @example
 * ```ts
 * import { WebSocketProtocolError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * await serve({
 *   port: 8080,
 *   websocket: { maxPayload: 64 * 1024 },
 *   websocketHandler: (conn) =>
 *     conn.ctrl$.subscribe((event) => {
 *       if (event.type === 'error' && event.error instanceof WebSocketProtocolError) console.log(event.error.closeCode); // 1009 for a larger message
 *     }),
 * });
 * ```
 */
export class WebSocketProtocolError extends RxjetError {
  /** The close code the socket was closed with, e.g. 1002, 1007 or 1009. */
  readonly closeCode: number;

  /**
   * @param where - the connection, by its URL
   * @param closeCode - the close code sent to the peer
   * @param cause - the protocol error `ws` raised
   */
  constructor(where: string, closeCode: number, cause: unknown) {
    super('RXJET_ERR_WS_PROTOCOL', `The peer of ${where} broke the WebSocket protocol (close ${closeCode}).`, {
      cause,
    });
    this.closeCode = closeCode;
  }
}
