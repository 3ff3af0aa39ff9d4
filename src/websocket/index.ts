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
