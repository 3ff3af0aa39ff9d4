import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { OutgoingHeaders } from '../internal/headers.js';
import type { WebSocketHandler } from '../websocket/types.js';

/** A chunk of a streaming response body. */
export type BodyChunk = string | Uint8Array;

/**
 * A response body: sent whole (`string`, bytes, nothing) or streamed chunk by chunk
 * (Observable, async iterable, Node Readable).
 */
export type ResponseBody =
  string | Uint8Array | null | undefined | Observable<BodyChunk> | AsyncIterable<BodyChunk> | Readable;

/**
 * What a handler answers: Jet's Ring response map.
 *
 * @example
 * ```ts
 * const res: JetResponse = { status: 201, headers: { 'content-type': 'text/plain' }, body: 'made' };
 * ```
 */
export interface JetResponse {
  /**
   * The status code, 200-999.
   * @default 200
   */
  status?: number;
  /** Header values are sent exactly as given; an array sends the header once per value; `undefined` leaves the header out. */
  headers?: OutgoingHeaders;
  /** The body; `null` or absent sends an empty one. */
  body?: ResponseBody;
}

/**
 * A request as handlers see it: Jet's Ring request map.
 *
 * `headers`, `body` and `signal` are computed on first use, through the prototype: derive a
 * request for middleware with `deriveRequest(req, { path: '/x' })`, which shares them, never
 * with a spread (`{ ...req }` keeps none of the three, on served and `mockRequest` requests
 * alike).
 */
export interface JetRequest {
  /** Upper-case method, e.g. `'GET'`. */
  readonly method: string;
  /** The request target as sent, e.g. `'/a?x=1'`. */
  readonly url: string;
  /** The path of the target, without the query, not decoded: `'/a'`. */
  readonly path: string;
  /** The query string without `?`: `'x=1'`, or `''` when there is none. */
  readonly query: string;
  /** Lower-case names; repeated headers joined with `', '` (`cookie` with `'; '`). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The request body: lazy (nothing is read until subscribed), read once (a second
   * subscription errors with `RXJET_ERR_BODY_CONSUMED`), and async-iterable, so a consumer
   * that pulls with `for await` slows the upload to its own pace.
   */
  readonly body: RequestBody;
  /** The peer's IP address, IPv4-mapped IPv6 forms unwrapped: `'127.0.0.1'`. */
  readonly remoteAddress: string;
  /** `'http'`, or `'https'` on a TLS server. */
  readonly scheme: 'http' | 'https';
  /** `'HTTP/1.1'`, or `'HTTP/2.0'` on a server with `http2`. */
  readonly protocol: string;
  /** Aborted, with a `ClientAbortedError` as its reason, when the client goes away. */
  readonly signal: AbortSignal;
  /**
   * The node request underneath: an `IncomingMessage`, or node:http2's `Http2ServerRequest`
   * for a request over HTTP/2; `undefined` for requests made by `mockRequest` (rxjet/testing).
   */
  readonly raw: IncomingMessage | Http2ServerRequest | undefined;
}

/** A request body: an Observable of byte chunks that can also be pulled with `for await`. */
export type RequestBody = Observable<Uint8Array> & AsyncIterable<Uint8Array>;

/** What a handler may return: a response, nothing (404), a Promise of either, or an Observable (first value wins). */
export type HandlerResult =
  | JetResponse
  | WebSocketResponse
  | null
  | undefined
  | PromiseLike<JetResponse | WebSocketResponse | null | undefined>
  | Observable<JetResponse | WebSocketResponse>;

/**
 * Accepts a WebSocket upgrade on this path: the connection is handed to `websocket` once open.
 * Answered to a request that is not an upgrade, it gives 426.
 */
export interface WebSocketResponse {
  /** Called with the open connection; what it returns (an Observable) is sent, as a `websocketHandler`'s is. */
  websocket: WebSocketHandler;
}

/**
 * A request handler: Jet's Ring handler, answering a request map with a response map (or a
 * Promise or Observable of one, or nothing for a 404). Generic over its request, so a router can
 * hand its routes a request with typed fields of its own (`params`) without casts.
 *
 * @param req - the request
 * @returns the response, `null`/`undefined` (404), a Promise of either, or an Observable whose first value is the response
 * @example
 * ```ts
 * const handler: Handler = (req) => ({ body: `hello ${req.path}` });
 * ```
 */
export type Handler<R extends JetRequest = JetRequest> = (req: R) => HandlerResult;
