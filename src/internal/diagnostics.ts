import { channel, subscribe, type Channel } from 'node:diagnostics_channel';
import { debuglog, format } from 'node:util';
import type { JetRequest } from '../server/types.js';
import type { WebSocketConnection } from '../websocket/types.js';

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
  serverRequestStart: 'rxjet:server:request:start',
  serverResponseHead: 'rxjet:server:response:head',
  serverRequestEnd: 'rxjet:server:request:end',
  serverRequestError: 'rxjet:server:request:error',
  websocketOpen: 'rxjet:websocket:open',
  websocketClose: 'rxjet:websocket:close',
  clientRequestStart: 'rxjet:client:request:start',
  clientRequestHeaders: 'rxjet:client:request:headers',
  clientRequestEnd: 'rxjet:client:request:end',
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
  request: JetRequest;
}

/** `rxjet:server:response:head` and `rxjet:server:request:end`: a request and its status. */
export interface ServerResponseMessage {
  request: JetRequest;
  status: number;
}

/** `rxjet:server:request:error`: what went wrong (a `ClientAbortedError` when the client left). */
export interface ServerRequestErrorMessage {
  request: JetRequest;
  error: Error;
}

/** `rxjet:websocket:open`: a connection and the request it was opened with. */
export interface WebSocketOpenMessage {
  connection: WebSocketConnection;
  request: JetRequest;
}

/** `rxjet:websocket:close`: a connection and its close code and reason. */
export interface WebSocketCloseMessage {
  connection: WebSocketConnection;
  code: number;
  reason: string;
}

/** The request of a client message. */
export interface ClientRequestInfo {
  method: string;
  url: string;
}

/** `rxjet:client:request:start` and `rxjet:client:request:end`. */
export interface ClientRequestMessage {
  request: ClientRequestInfo;
}

/** `rxjet:client:request:headers`: the response's status and headers (after redirects). */
export interface ClientResponseMessage {
  request: ClientRequestInfo;
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** `rxjet:client:request:error`: the typed error the request failed with. */
export interface ClientRequestErrorMessage {
  request: ClientRequestInfo;
  error: Error;
}
