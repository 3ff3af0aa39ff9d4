// The WebSocket options, shared by the server and the client: defaults and checks.
import { InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions, choiceOption, integerOption } from '../internal/validate.js';
import type { JetRequest } from '../types.js';
import type { ConnectionSettings } from './connection.js';
import type { WebSocketOptions } from './types.js';

/** Options of the WebSocket server: `serve({ websocket: { … } })`. */
export interface WebSocketServerOptions extends WebSocketOptions {
  /**
   * Subprotocols the server speaks, in order of preference, or a function that picks one of
   * those the client offered (or `false` for none). Without it no subprotocol is selected.
   */
  protocols?: readonly string[] | ((offered: string[], req: JetRequest) => string | false);
  /**
   * Origins allowed to connect (`'https://example.com'`); an upgrade from any other origin gets
   * 403. Without it every origin is allowed: set it for browser-facing servers that use cookies.
   */
  origins?: readonly string[];
}

/** Settings the `ws` library takes, shared by server and client. */
export interface WsLimits {
  maxPayload: number;
  maxFragments: number;
  maxBufferedChunks: number;
  closeTimeout: number;
  maxPendingAutoPongs: number;
  perMessageDeflate: boolean | Record<string, unknown>;
}

/** Resolves the options both sides share; throws {@link InvalidOptionError} on a bad one. */
export function resolveShared(options: WebSocketOptions): { ws: WsLimits; connection: ConnectionSettings } {
  const o = options as Record<string, unknown>;
  const perMessageDeflate = o.perMessageDeflate ?? false;
  if (typeof perMessageDeflate !== 'boolean' && (typeof perMessageDeflate !== 'object' || perMessageDeflate === null)) {
    throw new InvalidOptionError('perMessageDeflate', 'a boolean or an object of ws permessage-deflate options');
  }
  return {
    ws: {
      maxPayload: integerOption(o, 'maxPayload', 1024 * 1024, 1),
      maxFragments: integerOption(o, 'maxFragments', 16 * 1024, 1),
      maxBufferedChunks: integerOption(o, 'maxBufferedChunks', 256 * 1024, 1),
      closeTimeout: integerOption(o, 'closeTimeout', 30_000, 1, 2 ** 31 - 1),
      maxPendingAutoPongs: integerOption(o, 'maxPendingAutoPongs', 60, 1),
      perMessageDeflate: perMessageDeflate as boolean | Record<string, unknown>,
    },
    connection: {
      heartbeat: integerOption(o, 'heartbeat', 30_000, 0, 2 ** 31 - 1),
      inboundHighWaterMark: integerOption(o, 'inboundHighWaterMark', 1024 * 1024, 1),
      highWaterMark: integerOption(o, 'highWaterMark', 1024 * 1024, 1),
      overflow: choiceOption(o, 'overflow', ['close', 'drop'], 'close'),
    },
  };
}

export const sharedOptionNames = [
  'maxPayload',
  'maxFragments',
  'maxBufferedChunks',
  'heartbeat',
  'closeTimeout',
  'maxPendingAutoPongs',
  'inboundHighWaterMark',
  'highWaterMark',
  'overflow',
  'perMessageDeflate',
] as const;

/** The resolved server side. */
export interface WebSocketServerConfig {
  ws: WsLimits;
  connection: ConnectionSettings;
  protocols: WebSocketServerOptions['protocols'];
  origins: readonly string[] | undefined;
}

/** Resolves `serve({ websocket })`. */
export function resolveServerOptions(options: WebSocketServerOptions | undefined): WebSocketServerConfig {
  const o = options ?? {};
  if (typeof o !== 'object') throw new InvalidOptionError('websocket', 'an object of WebSocket options');
  checkKnownOptions(o, [...sharedOptionNames, 'protocols', 'origins'], 'websocket');
  const { protocols, origins } = o;
  if (protocols !== undefined && typeof protocols !== 'function' && !Array.isArray(protocols)) {
    throw new InvalidOptionError('websocket.protocols', 'an array of subprotocol names or a function');
  }
  if (origins !== undefined && !Array.isArray(origins)) {
    throw new InvalidOptionError('websocket.origins', 'an array of origins');
  }
  return { ...resolveShared(o), protocols, origins };
}
