// The shared types every area builds on: the request map, its body, and a WebSocket connection.
// This file imports no area of the package; server/, websocket/ and client/ import it.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { Observable, Subject } from 'rxjs';
import type { WebSocket } from 'ws';

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

/** A WebSocket message: text frames are strings, binary frames Uint8Arrays. */
export type Message = string | Uint8Array;

/** What happens on a connection besides messages. */
export type CtrlEvent =
  | {
      /** The socket is open (the first event). */
      type: 'open';
    }
  | {
      /** The socket closed (the last event, exactly once). */
      type: 'close';
      /** The close code, e.g. 1000 (normal), 1001 (going away) or 1006 (no close frame). */
      code: number;
      /** The close reason the peer gave, `''` when none. */
      reason: string;
    }
  | {
      /** Something went wrong; the socket may stay open (a message sent too late, say). */
      type: 'error';
      /** A typed `RxjetError`, such as `WebSocketClosedError` or `WebSocketProtocolError`. */
      error: Error;
    }
  | {
      /** A ping or pong frame arrived. */
      type: 'ping' | 'pong';
      /** Its payload. */
      data: Uint8Array;
    };

/**
 * A WebSocket connection, the same on the server and the client: Jet's in/out/ctrl channels as
 * Observables.
 */
export interface WebSocketConnection {
  /** The upgrade request (on the client: the URL and headers it sent). */
  readonly request: JetRequest;
  /**
   * Messages from the peer, in order: text as strings, binary as Uint8Arrays. Completes when
   * the socket closes. Messages that arrive while nobody subscribes are queued, and reads pause
   * while the queue is over `inboundHighWaterMark`; `for await` pulls at the consumer's pace.
   */
  readonly in$: Observable<Message> & AsyncIterable<Message>;
  /**
   * `next()` sends (strings as text, bytes as binary); `complete()` closes with 1000 once
   * everything queued is sent; `error()` closes with 1011. Piping an Observable into it
   * (`source$.subscribe(conn.out$)`) sends it and closes when it completes, as in Jet.
   */
  readonly out$: Subject<Message>;
  /** `open`, `ping`, `pong`, `error` events, then exactly one `close`, then completes; a late subscriber still sees the close. */
  readonly ctrl$: Observable<CtrlEvent>;
  /**
   * Sends the messages of an async iterable one at a time, each once the previous one is
   * written: a stream at the socket's pace. Cold; completes when all are sent.
   *
   * @param source - the messages, e.g. an async generator or a `Readable`
   * @returns a cold Observable that sends on subscribe and completes once the last message is written
   */
  send(source: AsyncIterable<Message>): Observable<never>;
  /** The underlying `ws` WebSocket, for advanced use. */
  readonly ws: WebSocket;
}
