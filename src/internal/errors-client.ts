/** Errors of the HTTP client and of `eventSource`, each naming the request that failed. */
import { RxjetError, type RxjetErrorOptions } from './errors-base.js';

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
