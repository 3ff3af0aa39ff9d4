// The server's public types: handlers, responses and bodies.
import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { OutgoingHeaders } from '../internal/headers.js';
import type { JetRequest } from '../types.js';
import type { WebSocketHandler } from '../websocket/types.js';

export type { JetRequest, RequestBody } from '../types.js';

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
 * Answered to a request that is not an upgrade, it gives 426. It is a {@link JetResponse} too, so
 * middleware that adds headers with a spread (`{ ...res, headers }`) passes it on unchanged: its
 * `headers` go out with the 101 (a request id, a cookie), except those the handshake sets itself
 * (`upgrade`, `connection`, `sec-websocket-*`); its `status` and `body` are not used.
 */
export interface WebSocketResponse extends JetResponse {
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
