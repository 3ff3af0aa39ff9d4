/**
 * The one errors module: every error rxjet raises is an {@link RxjetError} with a stable
 * `code`, listed in {@link errorCodes} and in the README's "Error codes" table.
 */

/** What an error carries besides its message. */
export interface RxjetErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * Base class of every error rxjet raises. `code` is stable across releases; match on it,
 * never on the message.
 *
 * @example
 * ```ts
 * import { RxjetError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * // Nothing listens on port 1: the request fails with a NetworkError, an RxjetError.
 * get(createClient(), 'http://127.0.0.1:1/').subscribe({
 *   error: (err: unknown) => console.log(err instanceof RxjetError ? err.code : err), // RXJET_ERR_NETWORK
 * });
 * ```
 */
export class RxjetError extends Error {
  /** A stable `RXJET_ERR_*` code. */
  readonly code: string;

  /**
   * @param code - a stable `RXJET_ERR_*` code, listed in {@link errorCodes}
   * @param message - what happened and where
   * @param options - the `cause`
   */
  constructor(code: string, message: string, options?: RxjetErrorOptions) {
    super(message, options);
    this.code = code;
  }

  /** The name of the error's class, e.g. `'TimeoutError'`, as stack traces and logs show it. */
  override get name(): string {
    return this.constructor.name;
  }
}

/** What an {@link HttpError} carries besides status and message. */
export interface HttpErrorOptions extends RxjetErrorOptions {
  /** Extra response headers, e.g. `allow` for a 405 or `www-authenticate` for a 401. */
  headers?: Record<string, string | readonly string[]>;
}

/**
 * An error that becomes an HTTP response: its `status`, its `message` as a `text/plain`
 * body and its `headers`. Thrown, rejected or emitted as an error by a handler (or raised by
 * the body helpers), it is answered as it says and is not reported to `onError`.
 *
 * @example
 * ```ts
 * import { HttpError } from 'rxjet/server';
 * const handler = (req) => {
 *   if (req.method !== 'GET') throw new HttpError(405, 'use GET', { headers: { allow: 'GET' } });
 *   return { body: 'ok' };
 * };
 * ```
 */
export class HttpError extends RxjetError {
  /** The response status, 400-599. */
  readonly status: number;
  /** Headers sent with the error response. */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;

  /**
   * @param status - an integer from 400 to 599
   * @param message - a message safe to show the client; defaults to the status text
   * @param options - `headers` for the response and the `cause`
   */
  constructor(status: number, message?: string, options?: HttpErrorOptions) {
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new InvalidOptionError('status', `an integer from 400 to 599, got ${String(status)}`);
    }
    super('RXJET_ERR_HTTP', message ?? statusText(status), options);
    this.status = status;
    this.headers = options?.headers ?? {};
  }
}

/**
 * A function was given an option or argument it cannot use: a programmer error, thrown at call time.
 *
 * @example
 * ```ts
 * import { InvalidOptionError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * try {
 *   await serve({ handler: () => null, port: 70000 });
 * } catch (err) {
 *   if (err instanceof InvalidOptionError) console.log(err.option, err.message); // port Invalid option "port": …
 * }
 * ```
 */
export class InvalidOptionError extends RxjetError {
  /** The option or argument at fault. */
  readonly option: string;

  /**
   * @param option - the name of the option or argument at fault
   * @param expected - what it should have been, e.g. `'an integer from 0 to 65535'`
   */
  constructor(option: string, expected: string) {
    super('RXJET_ERR_INVALID_OPTION', `Invalid option "${option}": expected ${expected}.`);
    this.option = option;
  }
}

/**
 * A handler threw, rejected or errored before the response head was sent (answered with a 500).
 * It reaches `onError` with the handler's error as its `cause`; the client sees none of it.
 *
 * @example
 * ```ts
 * import { HandlerError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 *
 * const handler = () => {
 *   throw new Error('boom');
 * };
 * const onError = (error: Error) => console.log(error instanceof HandlerError, error.cause); // true Error: boom
 * inject(handler, mockRequest(), { onError }).subscribe((res) => console.log(res.status)); // 500
 * ```
 */
export class HandlerError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param cause - what the handler threw, rejected or errored with
   */
  constructor(where: string, cause: unknown) {
    super('RXJET_ERR_HANDLER', `The handler failed for ${where}.`, { cause });
  }
}

/**
 * A handler did not answer within `handlerTimeout` (answered with a 503). The handler is
 * unsubscribed and `req.signal` aborts with this error as its reason.
 *
 * @example
 * ```ts
 * import { HandlerTimeoutError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 * import { NEVER } from 'rxjs';
 *
 * const onError = (error: Error) => console.log(error instanceof HandlerTimeoutError); // true
 * inject(() => NEVER, mockRequest(), { handlerTimeout: 100, onError }).subscribe((res) => console.log(res.status)); // 503
 * ```
 */
export class HandlerTimeoutError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param timeout - the `handlerTimeout` that ran out, in milliseconds
   */
  constructor(where: string, timeout: number) {
    super('RXJET_ERR_HANDLER_TIMEOUT', `The handler did not answer ${where} within ${timeout} ms.`);
  }
}

/**
 * A handler answered with something that is not a valid response (answered with a 500).
 *
 * @example
 * ```ts
 * import { InvalidResponseError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 *
 * const onError = (error: Error) => console.log(error instanceof InvalidResponseError, error.message);
 * inject(() => ({ status: 42 }), mockRequest(), { onError }).subscribe((res) => console.log(res.status)); // 500
 * ```
 */
export class InvalidResponseError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param problem - what is wrong with the response
   */
  constructor(where: string, problem: string) {
    super('RXJET_ERR_INVALID_RESPONSE', `Invalid response for ${where}: ${problem}.`);
  }
}

/**
 * A response header name or value cannot be sent (e.g. CR or LF in a value): answered with a 500, never sent.
 *
 * @example
 * ```ts
 * import { InvalidHeaderError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 *
 * const handler = () => ({ headers: { 'x-note': 'one\r\nset-cookie: evil=1' }, body: 'hi' });
 * const onError = (error: Error) => console.log(error instanceof InvalidHeaderError && error.header); // x-note
 * inject(handler, mockRequest(), { onError }).subscribe((res) => console.log(res.status)); // 500
 * ```
 */
export class InvalidHeaderError extends RxjetError {
  /** The header name as given. */
  readonly header: string;

  /**
   * @param where - the request, as `'GET /path'`
   * @param header - the header name as given
   * @param problem - what is wrong with its name or value
   */
  constructor(where: string, header: string, problem: string) {
    super('RXJET_ERR_INVALID_HEADER', `Invalid response header "${header}" for ${where}: ${problem}.`);
    this.header = header;
  }
}

/**
 * A streaming body emitted something other than a string or bytes; the connection is destroyed.
 *
 * @example
 * ```ts
 * import { InvalidChunkError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 * import { of } from 'rxjs';
 *
 * const handler = () => ({ body: of('fine', 42 as unknown as string) });
 * inject(handler, mockRequest(), { onError: () => {} }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof InvalidChunkError), // true
 * });
 * ```
 */
export class InvalidChunkError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param chunk - what the body emitted (only its type goes into the message)
   */
  constructor(where: string, chunk: unknown) {
    super(
      'RXJET_ERR_INVALID_CHUNK',
      `Invalid body chunk for ${where}: expected a string or Uint8Array, got ${describe(chunk)}.`,
    );
  }
}

/**
 * A streaming body failed after the response head was sent; the connection is destroyed so the client sees a broken response.
 *
 * @example
 * ```ts
 * import { ResponseStreamError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 * import { concat, of, throwError } from 'rxjs';
 *
 * const handler = () => ({ body: concat(of('half a '), throwError(() => new Error('the feed broke'))) });
 * inject(handler, mockRequest(), { onError: () => {} }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof ResponseStreamError && err.cause), // Error: the feed broke
 * });
 * ```
 */
export class ResponseStreamError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param cause - what the body failed with
   */
  constructor(where: string, cause: unknown) {
    super('RXJET_ERR_RESPONSE_STREAM', `The response body for ${where} failed after the head was sent.`, {
      cause,
    });
  }
}

/**
 * The body did not match the `content-length` the handler set. Found before the head is sent
 * (a whole body) it is answered with a 500; found while streaming, the connection is destroyed.
 *
 * @example
 * ```ts
 * import { ContentLengthMismatchError } from 'rxjet';
 * import { inject, mockRequest } from 'rxjet/testing';
 *
 * const handler = () => ({ headers: { 'content-length': '10' }, body: 'short' });
 * const onError = (error: Error) => console.log(error instanceof ContentLengthMismatchError); // true
 * inject(handler, mockRequest(), { onError }).subscribe((res) => console.log(res.status)); // 500
 * ```
 */
export class ContentLengthMismatchError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param declared - the `content-length` the handler set
   * @param actual - how the body differs, e.g. `'has 5'` or `'has more than'`
   */
  constructor(where: string, declared: number, actual: string) {
    super(
      'RXJET_ERR_CONTENT_LENGTH_MISMATCH',
      `The body for ${where} ${actual} bytes but content-length said ${declared}.`,
    );
  }
}

/**
 * A push (plain Observable) body got further ahead of a slow client than `highWaterMark`
 * allows, under `overflow: 'error'`; the connection is destroyed.
 *
 * @example
 * ```ts
 * import { BodyOverflowError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 * import { interval, map } from 'rxjs';
 *
 * await serve({
 *   port: 8080,
 *   highWaterMark: 256 * 1024,
 *   // A push body that never waits: a client reading slower than this is cut off.
 *   handler: () => ({ body: interval(1).pipe(map(() => Buffer.alloc(64 * 1024))) }),
 *   onError: (error) => {
 *     if (error instanceof BodyOverflowError) console.log('a client fell behind');
 *   },
 * });
 * ```
 */
export class BodyOverflowError extends RxjetError {
  /**
   * @param where - the request, as `'GET /path'`
   * @param highWaterMark - the bound that was passed, in bytes
   */
  constructor(where: string, highWaterMark: number) {
    super(
      'RXJET_ERR_BODY_OVERFLOW',
      `The body for ${where} got more than ${highWaterMark} bytes ahead of the client. ` +
        'Use a pull source (async iterable or stream), raise highWaterMark, or set overflow: "drop".',
    );
  }
}

/**
 * A request body (or other single-use stream) was subscribed to a second time.
 *
 * @example
 * ```ts
 * import { BodyConsumedError } from 'rxjet';
 * import { mockRequest } from 'rxjet/testing';
 *
 * const req = mockRequest({ method: 'POST', body: 'once' });
 * req.body.subscribe();
 * req.body.subscribe({ error: (err: unknown) => console.log(err instanceof BodyConsumedError) }); // true
 * ```
 */
export class BodyConsumedError extends RxjetError {
  /** @param what - the stream, as `'The request body of POST /items'` */
  constructor(what: string) {
    super('RXJET_ERR_BODY_CONSUMED', `${what} can be read only once and was already read.`);
  }
}

/**
 * The client went away before the exchange completed; the reason of `req.signal`, and the error
 * of a `req.body` that had not finished.
 *
 * @example
 * ```ts
 * import { ClientAbortedError } from 'rxjet';
 * import { serve } from 'rxjet/server';
 *
 * await serve({
 *   port: 8080,
 *   handler: async (req) => {
 *     req.signal.addEventListener('abort', () => {
 *       if (req.signal.reason instanceof ClientAbortedError) console.log('gone:', req.url);
 *     });
 *     await new Promise((resolve) => setTimeout(resolve, 5000));
 *     return { body: 'done' };
 *   },
 * });
 * ```
 */
export class ClientAbortedError extends RxjetError {
  /**
   * @param where - what was running, as `'GET /path'` or `'the request body of POST /items'`
   * @param options - the `cause`, e.g. the socket's error
   */
  constructor(where: string, options?: RxjetErrorOptions) {
    super('RXJET_ERR_CLIENT_ABORTED', `The client went away during ${where}.`, options);
  }
}

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

/** Where a client request failed: its method and URL, on every client error. */
export interface RequestTarget {
  /** The request method, e.g. `'GET'`. */
  readonly method: string;
  /** The request URL. */
  readonly url: string;
}

/** A phase of a client request that can time out. */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

/**
 * A client request took longer than its timeout for one phase (`phase` says which).
 *
 * @example
 * ```ts
 * import { TimeoutError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * get(createClient(), 'http://127.0.0.1:8080/slow', { timeout: { headers: 2000 } }).subscribe({
 *   error: (err: unknown) => {
 *     if (err instanceof TimeoutError) console.log(err.phase, err.timeout); // headers 2000
 *   },
 * });
 * ```
 */
export class TimeoutError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the request URL
   * @param phase - the phase that took too long
   * @param timeout - its timeout, in milliseconds
   * @param options - the `cause`
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The request URL. */
    readonly url: string,
    /** The phase that took too long. */
    readonly phase: TimeoutPhase,
    /** Its timeout, in milliseconds. */
    readonly timeout: number,
    options?: RxjetErrorOptions,
  ) {
    super(
      'RXJET_ERR_TIMEOUT',
      `${method} ${url} timed out: no ${phase === 'total' ? 'complete response' : phase === 'connect' ? 'connection' : phase === 'headers' ? 'response headers' : 'body data'} within ${timeout} ms.`,
      options,
    );
  }
}

/**
 * A client request failed on the network: refused, reset, DNS, TLS, a proxy refusing the CONNECT
 * tunnel, or a malformed response.
 *
 * @example
 * ```ts
 * import { NetworkError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * // Nothing listens on port 1.
 * get(createClient(), 'http://127.0.0.1:1/').subscribe({
 *   error: (err: unknown) => console.log(err instanceof NetworkError && err.message), // GET http://127.0.0.1:1/ failed: …
 * });
 * ```
 */
export class NetworkError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the request URL
   * @param cause - the network error undici raised
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The request URL. */
    readonly url: string,
    cause: unknown,
  ) {
    super(
      'RXJET_ERR_NETWORK',
      `${method} ${url} failed: ${(cause as { message?: string }).message ?? String(cause)}.`,
      { cause },
    );
  }
}

/**
 * A client request was aborted by its `signal`.
 *
 * @example
 * ```ts
 * import { AbortError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * get(createClient(), 'http://127.0.0.1:8080/slow', { signal: AbortSignal.timeout(100) }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof AbortError), // true
 * });
 * ```
 */
export class AbortError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the request URL
   * @param cause - the signal's reason
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The request URL. */
    readonly url: string,
    cause?: unknown,
  ) {
    super('RXJET_ERR_ABORTED', `${method} ${url} was aborted.`, cause === undefined ? undefined : { cause });
  }
}

/**
 * A response read whole (`as: 'text' | 'json' | 'bytes'`) was larger than `maxResponseSize`.
 *
 * @example
 * ```ts
 * import { ResponseTooLargeError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * const client = createClient({ maxResponseSize: 1024 });
 * get(client, 'http://127.0.0.1:8080/big', { as: 'text' }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof ResponseTooLargeError && err.limit), // 1024
 * });
 * ```
 */
export class ResponseTooLargeError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the request URL
   * @param limit - the `maxResponseSize` that was passed, in bytes
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The request URL. */
    readonly url: string,
    /** The `maxResponseSize` that was passed, in bytes. */
    readonly limit: number,
  ) {
    super('RXJET_ERR_RESPONSE_TOO_LARGE', `The response to ${method} ${url} is larger than ${limit} bytes.`);
  }
}

/**
 * A response body could not be decoded as asked (`as: 'json'` on invalid JSON, say).
 *
 * @example
 * ```ts
 * import { DecodeError } from 'rxjet';
 * import { createClient, get } from 'rxjet/client';
 *
 * get(createClient(), 'http://127.0.0.1:8080/index.html', { as: 'json' }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof DecodeError && err.cause), // SyntaxError: …
 * });
 * ```
 */
export class DecodeError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the request URL
   * @param what - what the body should have been, e.g. `'JSON'`
   * @param cause - the decoder's error
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The request URL. */
    readonly url: string,
    what: string,
    cause: unknown,
  ) {
    super('RXJET_ERR_DECODE', `The response to ${method} ${url} is not valid ${what}.`, { cause });
  }
}

/**
 * Redirects went on past `followRedirects` hops, came back to a URL already visited, or led to an invalid or non-HTTP URL.
 *
 * @example
 * ```ts
 * import { createClient, get } from 'rxjet/client';
 *
 * get(createClient(), 'http://127.0.0.1:8080/moved', { followRedirects: 2 }).subscribe({
 *   error: (err: unknown) => console.log((err as { code?: string }).code), // RXJET_ERR_REDIRECT past 2 hops
 * });
 * ```
 */
export class RedirectError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method
   * @param url - the URL of the redirect at fault
   * @param problem - what is wrong: too many hops, a loop, or a bad URL
   */
  constructor(
    /** The request method, e.g. `'GET'`. */
    readonly method: string,
    /** The URL of the redirect at fault. */
    readonly url: string,
    problem: string,
  ) {
    super('RXJET_ERR_REDIRECT', `${method} ${url}: ${problem}.`);
  }
}

/**
 * A server-sent event cannot be written: an `event` or `id` with a line break (or an `id` with
 * NUL), a `retry` that is not a non-negative integer, or `data` that does not serialize to JSON.
 * The stream is broken, as for any body that fails after its head.
 *
 * @example
 * ```ts
 * import { InvalidEventError } from 'rxjet';
 * import { sse } from 'rxjet/server';
 * import { inject, mockRequest } from 'rxjet/testing';
 * import { of } from 'rxjs';
 *
 * const handler = () => sse(of({ event: 'two\nlines', data: 'x' }));
 * inject(handler, mockRequest(), { onError: () => {} }).subscribe({
 *   // The head went out before the event, so the stream breaks with this as its cause.
 *   error: (err: unknown) => console.log((err as Error).cause instanceof InvalidEventError), // true
 * });
 * ```
 */
export class InvalidEventError extends RxjetError {
  /**
   * @param problem - what is wrong with the event
   * @param options - the `cause`, e.g. `JSON.stringify`'s error
   */
  constructor(problem: string, options?: RxjetErrorOptions) {
    super('RXJET_ERR_SSE_INVALID_EVENT', `Invalid server-sent event: ${problem}.`, options);
  }
}

/**
 * `eventSource` was answered with something that is not an event stream: a status other than 200
 * (or 204, which ends it), or a content type other than `text/event-stream`. It does not reconnect.
 *
 * @example
 * ```ts
 * import { EventSourceResponseError } from 'rxjet';
 * import { createClient, eventSource } from 'rxjet/client';
 *
 * eventSource(createClient(), 'http://127.0.0.1:8080/not-a-stream').subscribe({
 *   error: (err: unknown) => {
 *     if (err instanceof EventSourceResponseError) console.log(err.status, err.contentType); // 404 text/plain; charset=utf-8
 *   },
 * });
 * ```
 */
export class EventSourceResponseError extends RxjetError implements RequestTarget {
  /**
   * @param method - the request method, `GET`
   * @param url - the URL that answered, after any redirects
   * @param status - the status the server answered with
   * @param contentType - its `content-type`, if any
   */
  constructor(
    /** The request method, `GET`. */
    readonly method: string,
    /** The URL that answered, after any redirects. */
    readonly url: string,
    /** The status the server answered with. */
    readonly status: number,
    /** Its `content-type`, if any. */
    readonly contentType: string | undefined,
  ) {
    super(
      'RXJET_ERR_SSE_RESPONSE',
      status !== 200
        ? `${method} ${url} answered ${status}, not an event stream.`
        : `${method} ${url} answered with content-type ${contentType === undefined ? '(none)' : JSON.stringify(contentType)}, not text/event-stream.`,
    );
  }
}

/**
 * An event in a stream grew past `maxEventSize` characters before the blank line ending it; the stream is given up, without reconnecting.
 *
 * @example
 * ```ts
 * import { EventTooLargeError } from 'rxjet';
 * import { createClient, eventSource } from 'rxjet/client';
 *
 * eventSource(createClient(), 'http://127.0.0.1:8080/events', { maxEventSize: 64 * 1024 }).subscribe({
 *   error: (err: unknown) => console.log(err instanceof EventTooLargeError && err.limit), // 65536
 * });
 * ```
 */
export class EventTooLargeError extends RxjetError {
  /**
   * @param where - the stream, by its URL
   * @param limit - the `maxEventSize` that was passed, in characters
   */
  constructor(
    where: string,
    /** The limit, in characters. */
    readonly limit: number,
  ) {
    super('RXJET_ERR_SSE_EVENT_TOO_LARGE', `An event of ${where} is larger than ${limit} characters.`);
  }
}

/**
 * Every code rxjet raises, with the class that carries it. A spec checks this against the
 * README's "Error codes" table.
 *
 * @example
 * ```ts
 * import { errorCodes, type ErrorCode } from 'rxjet';
 *
 * const isRxjetCode = (code: string): code is ErrorCode => Object.hasOwn(errorCodes, code);
 * console.log(isRxjetCode('RXJET_ERR_TIMEOUT'), errorCodes.RXJET_ERR_TIMEOUT.name); // true TimeoutError
 * ```
 */
export const errorCodes = {
  /** A status and message of your choosing, or of a body helper. */
  RXJET_ERR_HTTP: HttpError,
  /** A bad option or argument, thrown at call time. */
  RXJET_ERR_INVALID_OPTION: InvalidOptionError,
  /** A handler threw, rejected or errored (500). */
  RXJET_ERR_HANDLER: HandlerError,
  /** A handler did not answer within `handlerTimeout` (503). */
  RXJET_ERR_HANDLER_TIMEOUT: HandlerTimeoutError,
  /** A handler answered something that is not a response (500). */
  RXJET_ERR_INVALID_RESPONSE: InvalidResponseError,
  /** A response header that cannot be sent (500). */
  RXJET_ERR_INVALID_HEADER: InvalidHeaderError,
  /** A body chunk that is neither a string nor bytes. */
  RXJET_ERR_INVALID_CHUNK: InvalidChunkError,
  /** A body failed after the head was sent. */
  RXJET_ERR_RESPONSE_STREAM: ResponseStreamError,
  /** A body that does not match its content-length. */
  RXJET_ERR_CONTENT_LENGTH_MISMATCH: ContentLengthMismatchError,
  /** A push body too far ahead of a slow client. */
  RXJET_ERR_BODY_OVERFLOW: BodyOverflowError,
  /** A request body read a second time. */
  RXJET_ERR_BODY_CONSUMED: BodyConsumedError,
  /** The client went away. */
  RXJET_ERR_CLIENT_ABORTED: ClientAbortedError,
  /** A WebSocket handshake refused with an HTTP status. */
  RXJET_ERR_WS_HANDSHAKE: WebSocketHandshakeError,
  /** A WebSocket that could not be opened. */
  RXJET_ERR_WS_CONNECT: WebSocketConnectError,
  /** A message sent on a closing or closed WebSocket. */
  RXJET_ERR_WS_CLOSED: WebSocketClosedError,
  /** `out$` given something other than a string or bytes. */
  RXJET_ERR_WS_INVALID_MESSAGE: InvalidMessageError,
  /** Outbound messages too far ahead of the peer (1008). */
  RXJET_ERR_WS_OVERFLOW: WebSocketOverflowError,
  /** A peer that missed a heartbeat pong (1006). */
  RXJET_ERR_WS_HEARTBEAT: WebSocketHeartbeatError,
  /** A peer that broke the WebSocket protocol. */
  RXJET_ERR_WS_PROTOCOL: WebSocketProtocolError,
  /** A client request that timed out in one phase. */
  RXJET_ERR_TIMEOUT: TimeoutError,
  /** A client request that failed on the network. */
  RXJET_ERR_NETWORK: NetworkError,
  /** A client request aborted by its `signal`. */
  RXJET_ERR_ABORTED: AbortError,
  /** A body read whole past `maxResponseSize`. */
  RXJET_ERR_RESPONSE_TOO_LARGE: ResponseTooLargeError,
  /** A body that could not be decoded as asked. */
  RXJET_ERR_DECODE: DecodeError,
  /** Redirects past the limit, in a loop, or to a bad URL. */
  RXJET_ERR_REDIRECT: RedirectError,
  /** A server-sent event that cannot be written. */
  RXJET_ERR_SSE_INVALID_EVENT: InvalidEventError,
  /** `eventSource` answered with something other than an event stream. */
  RXJET_ERR_SSE_RESPONSE: EventSourceResponseError,
  /** An event past `maxEventSize`. */
  RXJET_ERR_SSE_EVENT_TOO_LARGE: EventTooLargeError,
} as const;

/** A code from {@link errorCodes}. */
export type ErrorCode = keyof typeof errorCodes;

const statusTexts: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** The reason phrase of a status, or a generic one by class. */
export function statusText(status: number): string {
  return statusTexts[status] ?? (status < 500 ? 'Client Error' : 'Server Error');
}

/** A short description of a value for error messages, never its content. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value === 'number' ? `the number ${value}` : `a ${typeof value}`;
}
