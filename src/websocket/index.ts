/**
 * WebSockets as Observables: a connection is `in$`, `out$` and `ctrl$`, the same on both ends.
 * `connect` and `websocket` are the client; the server side is `serve({ websocketHandler })`.
 *
 * @module rxjet/websocket
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { connect, websocket, type WebSocketClientOptions } from './client.js';
export { backoff, type BackoffOptions } from '../internal/backoff.js';
export type { WebSocketServerOptions } from './options.js';
export type {
  CtrlEvent,
  Message,
  WebSocketConnection,
  WebSocketHandler,
  WebSocketOptions,
  WebSocketOverflowPolicy,
} from './types.js';
