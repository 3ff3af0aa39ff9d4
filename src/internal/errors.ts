/** The errors entry: every error rxjet raises, by area, and {@link errorCodes}, the one list of their codes. */
import { InvalidOptionError } from './errors-base.js';
import {
  BodyConsumedError,
  BodyOverflowError,
  ClientAbortedError,
  ContentLengthMismatchError,
  HandlerError,
  HandlerTimeoutError,
  HttpError,
  InvalidChunkError,
  InvalidEventError,
  InvalidHeaderError,
  InvalidResponseError,
  PartAbortedError,
  PartSkippedError,
  ResponseStreamError,
} from './errors-server.js';
import {
  InvalidMessageError,
  WebSocketClosedError,
  WebSocketConnectError,
  WebSocketHandshakeError,
  WebSocketHeartbeatError,
  WebSocketOverflowError,
  WebSocketProtocolError,
} from './errors-websocket.js';
import {
  AbortError,
  DecodeError,
  EventSourceResponseError,
  EventTooLargeError,
  NetworkError,
  RedirectError,
  ResponseTooLargeError,
  TimeoutError,
} from './errors-client.js';
import { BusError, HubClosedError, MissingPackageError, UnencodableMessageError } from './errors-pubsub.js';

export * from './errors-base.js';
export * from './errors-server.js';
export * from './errors-websocket.js';
export * from './errors-client.js';
export * from './errors-pubsub.js';

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
  /** A multipart file body read after it was skipped. */
  RXJET_ERR_PART_SKIPPED: PartSkippedError,
  /** A multipart file body cut off because its parts were unsubscribed. */
  RXJET_ERR_PART_ABORTED: PartAbortedError,
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
  /** A value `publish` cannot send as it was (a BigInt, a cycle, a function). */
  RXJET_ERR_INVALID_MESSAGE: UnencodableMessageError,
  /** A publish or subscription on a closed hub. */
  RXJET_ERR_HUB_CLOSED: HubClosedError,
  /** A bus that did not take a message in time, or failed. */
  RXJET_ERR_BUS: BusError,
  /** An optional package a feature needs is not installed. */
  RXJET_ERR_MISSING_PACKAGE: MissingPackageError,
} as const;

/** A code from {@link errorCodes}. */
export type ErrorCode = keyof typeof errorCodes;
