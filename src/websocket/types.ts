import type { Observable, Subject } from 'rxjs';
import type { WebSocket } from 'ws';
import type { JetRequest } from '../server/types.js';

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

/**
 * A WebSocket handler: runs once the connection is open. If it returns an Observable, its
 * messages are sent on `out$` (its completion closes the socket) until the socket closes; a
 * Promise it returns that rejects closes the socket with 1011. Anything else it returns is ignored.
 *
 * @param conn - the open connection
 * @returns nothing, or an Observable of messages to send, or a Promise
 * @example
 * ```ts
 * import { serve } from 'rxjet/server';
 * import type { WebSocketHandler } from 'rxjet/websocket';
 * import { map } from 'rxjs';
 *
 * const echo: WebSocketHandler = (conn) => conn.in$.pipe(map((message) => `echo: ${String(message)}`));
 * await serve({ port: 8080, websocketHandler: echo });
 * ```
 */
export type WebSocketHandler = (conn: WebSocketConnection) => unknown;

/** What to do when outbound messages get more than `highWaterMark` bytes ahead of the peer. */
export type WebSocketOverflowPolicy = 'close' | 'drop';

/** Options shared by the WebSocket server and client. */
export interface WebSocketOptions {
  /**
   * Largest message in bytes (after inflating); a larger one closes the socket with 1009.
   * @default 1048576 (1 MiB; ws: 100 MiB)
   */
  maxPayload?: number;
  /**
   * Most fragments of one message.
   * @default 16384
   */
  maxFragments?: number;
  /**
   * Most buffered frame chunks while a message is assembled.
   * @default 262144
   */
  maxBufferedChunks?: number;
  /**
   * Milliseconds between heartbeat pings; a peer that has not answered the previous ping is
   * terminated (close 1006, with a `WebSocketHeartbeatError` on `ctrl$`). 0 turns it off.
   * @default 30000
   */
  heartbeat?: number;
  /**
   * Milliseconds to wait for the peer's close frame before the socket is destroyed.
   * @default 30000
   */
  closeTimeout?: number;
  /**
   * Pings answered but whose pong is not yet written before ws terminates the socket (without a
   * close frame): a peer flooding pings faster than they can be answered is cut off.
   * @default 60
   */
  maxPendingAutoPongs?: number;
  /**
   * Bytes of received messages queued for a slow (or absent) consumer before reads pause.
   * @default 1048576
   */
  inboundHighWaterMark?: number;
  /**
   * Bytes of sent messages that may wait for the peer before `overflow` applies.
   * @default 1048576
   */
  highWaterMark?: number;
  /**
   * Past `highWaterMark`: `'close'` closes with 1008 and puts a `WebSocketOverflowError` on
   * `ctrl$`; `'drop'` drops messages until the peer catches up (for live data).
   * @default 'close'
   */
  overflow?: WebSocketOverflowPolicy;
  /**
   * permessage-deflate: off by default (as ws's server); `true` or ws's options to offer it.
   * `maxPayload` applies to the inflated size.
   * @default false
   */
  perMessageDeflate?: boolean | Record<string, unknown>;
}
