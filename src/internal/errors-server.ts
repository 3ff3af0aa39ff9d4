/** Errors of the HTTP server: HttpError, and the handler, response, body and server-sent event errors. */
import { describe, InvalidOptionError, RxjetError, statusText, type RxjetErrorOptions } from './errors-base.js';

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

/** What an {@link HttpError} carries besides status and message. */
export interface HttpErrorOptions extends RxjetErrorOptions {
  /** Extra response headers, e.g. `allow` for a 405 or `www-authenticate` for a 401. */
  headers?: Record<string, string | readonly string[]>;
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
 * The body of a multipart file part was read after it was skipped: nobody subscribed to it
 * during the `next` call that delivered its part (or, under `for await`, before the loop asked
 * for the next part), so its bytes were read and dropped to keep the upload going.
 *
 * @example
 * ```ts
 * import { multipart, PartSkippedError } from 'rxjet/server';
 *
 * const handler = async (req) => {
 *   const files = [];
 *   for await (const part of multipart(req)) if (part.kind === 'file') files.push(part.body);
 *   // Too late: each body was skipped when the loop asked for the part after it.
 *   try {
 *     for await (const chunk of files[0]) console.log(chunk.byteLength);
 *   } catch (error) {
 *     console.log(error instanceof PartSkippedError); // true
 *   }
 *   return { status: 204 };
 * };
 * ```
 */
export class PartSkippedError extends RxjetError {
  /** @param what - the body, as `'The body of part "avatar" of POST /upload'` */
  constructor(what: string) {
    super(
      'RXJET_ERR_PART_SKIPPED',
      `${what} was skipped: it was not subscribed during the next call that delivered its part.`,
    );
  }
}

/**
 * The body of a multipart file part was cut off because the parts were unsubscribed (or their
 * iteration stopped) before it ended: a part's body lives as long as the subscription to the
 * parts, so operators that unsubscribe early (`take(1)`, `first()`) end the upload too.
 *
 * @example
 * ```ts
 * import { multipart, PartAbortedError } from 'rxjet/server';
 *
 * const handler = async (req) => {
 *   const parts = multipart(req)[Symbol.asyncIterator]();
 *   const first = await parts.next();
 *   await parts.return?.(); // the parts are left while the first file is unread
 *   if (!first.done && first.value.kind === 'file') {
 *     try {
 *       for await (const chunk of first.value.body) console.log(chunk.byteLength);
 *     } catch (error) {
 *       console.log(error instanceof PartAbortedError); // true
 *     }
 *   }
 *   return { status: 204 };
 * };
 * ```
 */
export class PartAbortedError extends RxjetError {
  /** @param what - the body, as `'The body of part "avatar" of POST /upload'` */
  constructor(what: string) {
    super('RXJET_ERR_PART_ABORTED', `${what} was cut off: its parts were unsubscribed before it ended.`);
  }
}
