// Tracing on diagnostics_channel: the channels, their messages and NODE_DEBUG=rxjet.
import { channel, subscribe, type Channel } from 'node:diagnostics_channel';
import { debuglog, format } from 'node:util';
import type { JetRequest } from '../types.js';
import type { WebSocketConnection } from '../types.js';

/**
 * The names of the `diagnostics_channel` channels rxjet publishes on. Messages are built only when a channel
 * has subscribers, so tracing costs nothing while nobody listens. Subscribe with
 * `diagnostics_channel.subscribe(name, listener)`; the message types are in `rxjet`'s
 * message types below (`ServerRequestMessage` and the rest).
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * import { diagnosticsChannels, type ServerResponseMessage } from 'rxjet';
 *
 * subscribe(diagnosticsChannels.serverRequestEnd, (message) => {
 *   const { request, status } = message as ServerResponseMessage;
 *   console.log(request.method, request.url, status);
 * });
 * ```
 *
 * | channel                           | message                              | when                                           |
 * | --------------------------------- | ------------------------------------ | ---------------------------------------------- |
 * | `rxjet:server:request:start`      | `{ request }`                        | a request reaches the server, before its handler |
 * | `rxjet:server:response:head`      | `{ request, status }`                | the response head is written                   |
 * | `rxjet:server:request:end`        | `{ request, status }`                | the whole response has been handed to node     |
 * | `rxjet:server:request:error`      | `{ request, error }`                 | a handler or body failed, or the client left   |
 * | `rxjet:websocket:open`            | `{ connection, request }`            | a WebSocket opened (server or client side)     |
 * | `rxjet:websocket:close`           | `{ connection, code, reason }`       | it closed                                      |
 * | `rxjet:client:request:start`      | `{ request }` (`method`, `url`)      | a client request is subscribed                 |
 * | `rxjet:client:request:headers`    | `{ request, status, headers }`       | its response (after redirects) has its headers |
 * | `rxjet:client:request:end`        | `{ request }`                        | its response body has been received            |
 * | `rxjet:client:request:error`      | `{ request, error }`                 | it failed                                      |
 */
export const diagnosticsChannels = {
  /** A request reached the server, before its handler runs: {@link ServerRequestMessage}. */
  serverRequestStart: 'rxjet:server:request:start',
  /** A response head was written: {@link ServerResponseMessage}. */
  serverResponseHead: 'rxjet:server:response:head',
  /** A whole response was handed to node: {@link ServerResponseMessage}. */
  serverRequestEnd: 'rxjet:server:request:end',
  /** A handler or body failed, or the client left: {@link ServerRequestErrorMessage}. */
  serverRequestError: 'rxjet:server:request:error',
  /** A WebSocket opened, on the server or the client: {@link WebSocketOpenMessage}. */
  websocketOpen: 'rxjet:websocket:open',
  /** A WebSocket closed: {@link WebSocketCloseMessage}. */
  websocketClose: 'rxjet:websocket:close',
  /** A client request was subscribed: {@link ClientRequestMessage}. */
  clientRequestStart: 'rxjet:client:request:start',
  /** A client response (after redirects) has its headers: {@link ClientResponseMessage}. */
  clientRequestHeaders: 'rxjet:client:request:headers',
  /** A client response body was received whole: {@link ClientRequestMessage}. */
  clientRequestEnd: 'rxjet:client:request:end',
  /** A client request failed: {@link ClientRequestErrorMessage}. */
  clientRequestError: 'rxjet:client:request:error',
} as const;

/** The channels themselves, by the same keys. @internal */
export const channels = Object.fromEntries(
  Object.entries(diagnosticsChannels).map(([key, name]) => [key, channel(name)]),
) as { readonly [K in keyof typeof diagnosticsChannels]: Channel };

/** One line per traced event, written by `NODE_DEBUG=rxjet`. */
function describeEvent(name: string, message: unknown): string {
  const { request, status, code, error } = message as {
    request?: { method?: string; url?: string };
    status?: number;
    code?: number;
    error?: unknown;
  };
  const parts: string[] = [];
  if (request !== undefined) parts.push(`${request.method ?? ''} ${request.url ?? ''}`.trim());
  if (status !== undefined) parts.push(`${status}`);
  if (code !== undefined) parts.push(`code ${code}`);
  if (error !== undefined) parts.push(format('%s', error));
  return `${name.slice('rxjet:'.length)} ${parts.join(' ')}`;
}

/**
 * `NODE_DEBUG=rxjet` logs every traced event through `util.debuglog`, by subscribing to the
 * channels above: one code path for both, and nothing runs when it is off.
 */
const debug = debuglog('rxjet');
if (debug.enabled) {
  for (const name of Object.values(diagnosticsChannels)) {
    subscribe(name, (message) => debug(describeEvent(name, message)));
  }
}

/** `rxjet:server:request:start` and `rxjet:server:request:end`: a request. */
export interface ServerRequestMessage {
  /** The request. */
  request: JetRequest;
}

/** `rxjet:server:response:head` and `rxjet:server:request:end`: a request and its status. */
export interface ServerResponseMessage {
  /** The request. */
  request: JetRequest;
  /** The response status. */
  status: number;
}

/** `rxjet:server:request:error`: what went wrong (a `ClientAbortedError` when the client left). */
export interface ServerRequestErrorMessage {
  /** The request. */
  request: JetRequest;
  /** The typed error, e.g. a `HandlerError` or `ClientAbortedError`. */
  error: Error;
}

/** `rxjet:websocket:open`: a connection and the request it was opened with. */
export interface WebSocketOpenMessage {
  /** The connection that opened. */
  connection: WebSocketConnection;
  /** The upgrade request (on the client: its URL and headers). */
  request: JetRequest;
}

/** `rxjet:websocket:close`: a connection and its close code and reason. */
export interface WebSocketCloseMessage {
  /** The connection that closed. */
  connection: WebSocketConnection;
  /** The close code. */
  code: number;
  /** The close reason, `''` when none. */
  reason: string;
}

/** The request of a client message. */
export interface ClientRequestInfo {
  /** The request method, e.g. `'GET'`. */
  method: string;
  /** The request URL. */
  url: string;
}

/** `rxjet:client:request:start` and `rxjet:client:request:end`. */
export interface ClientRequestMessage {
  /** The request. */
  request: ClientRequestInfo;
}

/** `rxjet:client:request:headers`: the response's status and headers (after redirects). */
export interface ClientResponseMessage {
  /** The request. */
  request: ClientRequestInfo;
  /** The response status. */
  status: number;
  /** The response headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
}

/** `rxjet:client:request:error`: the typed error the request failed with. */
export interface ClientRequestErrorMessage {
  /** The request. */
  request: ClientRequestInfo;
  /** The typed error, e.g. a `TimeoutError` or `NetworkError`. */
  error: Error;
}
