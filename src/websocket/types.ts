// The WebSocket area's public types: handlers and options.
import type { WebSocketConnection } from '../types.js';

export type { CtrlEvent, Message, WebSocketConnection } from '../types.js';

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
