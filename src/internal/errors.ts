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
 * if (err instanceof RxjetError && err.code === 'RXJET_ERR_BODY_CONSUMED') retryLater();
 * ```
 */
export class RxjetError extends Error {
  /** A stable `RXJET_ERR_*` code. */
  readonly code: string;

  constructor(code: string, message: string, options?: RxjetErrorOptions) {
    super(message, options);
    this.code = code;
  }

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

/** A function was given an option or argument it cannot use: a programmer error, thrown at call time. */
export class InvalidOptionError extends RxjetError {
  /** The option or argument at fault. */
  readonly option: string;

  constructor(option: string, expected: string) {
    super('RXJET_ERR_INVALID_OPTION', `Invalid option "${option}": expected ${expected}.`);
    this.option = option;
  }
}

/** A handler threw, rejected or errored before the response head was sent (answered with a 500). */
export class HandlerError extends RxjetError {
  constructor(where: string, cause: unknown) {
    super('RXJET_ERR_HANDLER', `The handler failed for ${where}.`, { cause });
  }
}

/** A handler did not answer within `handlerTimeout` (answered with a 503). */
export class HandlerTimeoutError extends RxjetError {
  constructor(where: string, timeout: number) {
    super('RXJET_ERR_HANDLER_TIMEOUT', `The handler did not answer ${where} within ${timeout} ms.`);
  }
}

/** A handler answered with something that is not a valid response (answered with a 500). */
export class InvalidResponseError extends RxjetError {
  constructor(where: string, problem: string) {
    super('RXJET_ERR_INVALID_RESPONSE', `Invalid response for ${where}: ${problem}.`);
  }
}

/** A response header name or value cannot be sent (e.g. CR or LF in a value): answered with a 500, never sent. */
export class InvalidHeaderError extends RxjetError {
  /** The header name as given. */
  readonly header: string;

  constructor(where: string, header: string, problem: string) {
    super('RXJET_ERR_INVALID_HEADER', `Invalid response header "${header}" for ${where}: ${problem}.`);
    this.header = header;
  }
}

/** A streaming body emitted something other than a string or bytes; the connection is destroyed. */
export class InvalidChunkError extends RxjetError {
  constructor(where: string, chunk: unknown) {
    super(
      'RXJET_ERR_INVALID_CHUNK',
      `Invalid body chunk for ${where}: expected a string or Uint8Array, got ${describe(chunk)}.`,
    );
  }
}

/** A streaming body failed after the response head was sent; the connection is destroyed so the client sees a broken response. */
export class ResponseStreamError extends RxjetError {
  constructor(where: string, cause: unknown) {
    super('RXJET_ERR_RESPONSE_STREAM', `The response body for ${where} failed after the head was sent.`, {
      cause,
    });
  }
}

/** The body did not match the `content-length` the handler set; the connection is destroyed. */
export class ContentLengthMismatchError extends RxjetError {
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
 */
export class BodyOverflowError extends RxjetError {
  constructor(where: string, highWaterMark: number) {
    super(
      'RXJET_ERR_BODY_OVERFLOW',
      `The body for ${where} got more than ${highWaterMark} bytes ahead of the client. ` +
        'Use a pull source (async iterable or stream), raise highWaterMark, or set overflow: "drop".',
    );
  }
}

/** A request body (or other single-use stream) was subscribed to a second time. */
export class BodyConsumedError extends RxjetError {
  constructor(what: string) {
    super('RXJET_ERR_BODY_CONSUMED', `${what} can be read only once and was already read.`);
  }
}

/** The client went away before the exchange completed; the reason of `req.signal`. */
export class ClientAbortedError extends RxjetError {
  constructor(where: string, options?: RxjetErrorOptions) {
    super('RXJET_ERR_CLIENT_ABORTED', `The client went away during ${where}.`, options);
  }
}

/** A WebSocket handshake was refused: the server answered with an HTTP status instead of upgrading. */
export class WebSocketHandshakeError extends RxjetError {
  /** The HTTP status the server answered with. */
  readonly status: number;
  /** The start of the response body (at most 64 KiB), decoded as UTF-8. */
  readonly body: string;
  /** The response headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;

  constructor(url: string, status: number, headers: Record<string, string | string[] | undefined>, body: string) {
    super('RXJET_ERR_WS_HANDSHAKE', `The WebSocket handshake with ${url} was refused with status ${status}.`);
    this.status = status;
    this.headers = headers;
    this.body = body;
  }
}

/** A WebSocket could not be opened: the connection failed or the handshake timed out. */
export class WebSocketConnectError extends RxjetError {
  constructor(url: string, cause: unknown) {
    super('RXJET_ERR_WS_CONNECT', `Could not open a WebSocket to ${url}.`, { cause });
  }
}

/** A message was sent on a WebSocket that is closing or closed; it was not sent. */
export class WebSocketClosedError extends RxjetError {
  constructor(where: string) {
    super('RXJET_ERR_WS_CLOSED', `A message was sent on the closed WebSocket ${where}; it was dropped.`);
  }
}

/** `out$` was given something other than a string or bytes; it was not sent. */
export class InvalidMessageError extends RxjetError {
  constructor(where: string, message: unknown) {
    super(
      'RXJET_ERR_WS_INVALID_MESSAGE',
      `Invalid WebSocket message on ${where}: expected a string or Uint8Array, got ${describe(message)}.`,
    );
  }
}

/** Outbound messages got more than `highWaterMark` bytes ahead of the peer under `overflow: 'close'`; the socket was closed with 1008. */
export class WebSocketOverflowError extends RxjetError {
  constructor(where: string, highWaterMark: number) {
    super(
      'RXJET_ERR_WS_OVERFLOW',
      `Outbound messages on ${where} got more than ${highWaterMark} bytes ahead of the peer; closing with 1008.`,
    );
  }
}

/** The peer did not answer a heartbeat ping in time; the socket was terminated (close code 1006). */
export class WebSocketHeartbeatError extends RxjetError {
  constructor(where: string, interval: number) {
    super('RXJET_ERR_WS_HEARTBEAT', `The peer of ${where} did not answer a ping within ${interval} ms.`);
  }
}

/** The peer broke the WebSocket protocol (bad frame, invalid UTF-8, oversize message); `closeCode` is the code sent. */
export class WebSocketProtocolError extends RxjetError {
  /** The close code the socket was closed with, e.g. 1002, 1007 or 1009. */
  readonly closeCode: number;

  constructor(where: string, closeCode: number, cause: unknown) {
    super('RXJET_ERR_WS_PROTOCOL', `The peer of ${where} broke the WebSocket protocol (close ${closeCode}).`, {
      cause,
    });
    this.closeCode = closeCode;
  }
}

/** Where a client request failed: its method and URL, on every client error. */
export interface RequestTarget {
  readonly method: string;
  readonly url: string;
}

/** A phase of a client request that can time out. */
export type TimeoutPhase = 'connect' | 'headers' | 'body' | 'total';

/** A client request took longer than its timeout for one phase (`phase` says which). */
export class TimeoutError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly phase: TimeoutPhase,
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

/** A client request failed on the network: refused, reset, DNS, TLS, or a malformed response. */
export class NetworkError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
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

/** A client request was aborted by its `signal`. */
export class AbortError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
    readonly url: string,
    cause?: unknown,
  ) {
    super('RXJET_ERR_ABORTED', `${method} ${url} was aborted.`, cause === undefined ? undefined : { cause });
  }
}

/** A response read whole (`as: 'text' | 'json' | 'bytes'`) was larger than `maxResponseSize`. */
export class ResponseTooLargeError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly limit: number,
  ) {
    super('RXJET_ERR_RESPONSE_TOO_LARGE', `The response to ${method} ${url} is larger than ${limit} bytes.`);
  }
}

/** A response body could not be decoded as asked (`as: 'json'` on invalid JSON, say). */
export class DecodeError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
    readonly url: string,
    what: string,
    cause: unknown,
  ) {
    super('RXJET_ERR_DECODE', `The response to ${method} ${url} is not valid ${what}.`, { cause });
  }
}

/** Redirects went on past `followRedirects` hops, came back to a URL already visited, or led to an invalid or non-HTTP URL. */
export class RedirectError extends RxjetError implements RequestTarget {
  constructor(
    readonly method: string,
    readonly url: string,
    problem: string,
  ) {
    super('RXJET_ERR_REDIRECT', `${method} ${url}: ${problem}.`);
  }
}

/**
 * Every code rxjet raises, with the class that carries it. A spec checks this against the
 * README's "Error codes" table.
 */
export const errorCodes = {
  RXJET_ERR_HTTP: HttpError,
  RXJET_ERR_INVALID_OPTION: InvalidOptionError,
  RXJET_ERR_HANDLER: HandlerError,
  RXJET_ERR_HANDLER_TIMEOUT: HandlerTimeoutError,
  RXJET_ERR_INVALID_RESPONSE: InvalidResponseError,
  RXJET_ERR_INVALID_HEADER: InvalidHeaderError,
  RXJET_ERR_INVALID_CHUNK: InvalidChunkError,
  RXJET_ERR_RESPONSE_STREAM: ResponseStreamError,
  RXJET_ERR_CONTENT_LENGTH_MISMATCH: ContentLengthMismatchError,
  RXJET_ERR_BODY_OVERFLOW: BodyOverflowError,
  RXJET_ERR_BODY_CONSUMED: BodyConsumedError,
  RXJET_ERR_CLIENT_ABORTED: ClientAbortedError,
  RXJET_ERR_WS_HANDSHAKE: WebSocketHandshakeError,
  RXJET_ERR_WS_CONNECT: WebSocketConnectError,
  RXJET_ERR_WS_CLOSED: WebSocketClosedError,
  RXJET_ERR_WS_INVALID_MESSAGE: InvalidMessageError,
  RXJET_ERR_WS_OVERFLOW: WebSocketOverflowError,
  RXJET_ERR_WS_HEARTBEAT: WebSocketHeartbeatError,
  RXJET_ERR_WS_PROTOCOL: WebSocketProtocolError,
  RXJET_ERR_TIMEOUT: TimeoutError,
  RXJET_ERR_NETWORK: NetworkError,
  RXJET_ERR_ABORTED: AbortError,
  RXJET_ERR_RESPONSE_TOO_LARGE: ResponseTooLargeError,
  RXJET_ERR_DECODE: DecodeError,
  RXJET_ERR_REDIRECT: RedirectError,
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
