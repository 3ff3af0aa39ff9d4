// The options of `serve`: their defaults, checks and resolved form.
import { HttpError, InvalidOptionError } from '../internal/errors.js';
import {
  booleanOption,
  checkKnownOptions,
  choiceOption,
  functionOption,
  integerOption,
  limitOption,
} from '../internal/validate.js';
import type { Logger, PipelineConfig, ResponseOptions } from './pipeline-config.js';
import type { Handler, JetRequest } from './types.js';
import type { SecureContextOptions, TlsOptions as TlsServerOptions } from 'node:tls';
import { resolveServerOptions, type WebSocketServerConfig, type WebSocketServerOptions } from '../websocket/options.js';
import type { WebSocketHandler } from '../websocket/types.js';

/**
 * Options of {@link serve}. Every limit has a default safer than node's own; each is named
 * after the node setting it drives where there is one.
 */
export interface ServeOptions extends ResponseOptions {
  /**
   * The request handler. It may also accept WebSocket upgrades by answering `{ websocket }`.
   * Optional when `websocketHandler` is given (plain requests then get 426).
   */
  handler?: Handler;
  /** The root handler of every WebSocket upgrade, on any path, as in Jet. */
  websocketHandler?: WebSocketHandler;
  /**
   * Serve HTTPS (and `wss:`): a PEM key and certificate, or a PKCS#12 `pfx` with its
   * `passphrase`; any other option of node's `tls.createServer` may sit beside them.
   * Requests then have `scheme: 'https'`.
   */
  tls?: TlsOptions;
  /**
   * Serve HTTP/2 beside HTTP/1.1 on the same port, to the same handler: with `tls`, clients
   * choose by ALPN (browsers take h2, others fall back to HTTP/1.1); without it, cleartext
   * HTTP/2 with prior knowledge (h2c, e.g. `curl --http2-prior-knowledge`) while HTTP/1.1
   * clients are served as before. WebSockets keep using HTTP/1.1 upgrades.
   * Requests over HTTP/2 have `protocol: 'HTTP/2.0'`.
   * @default false
   */
  http2?: boolean;
  /**
   * Most streams (requests) one HTTP/2 connection may have open at once; more are refused
   * with REFUSED_STREAM (node: 4294967295).
   * @default 100
   */
  maxConcurrentStreams?: number;
  /** WebSocket limits, subprotocols and origins (see {@link WebSocketServerOptions}). */
  websocket?: WebSocketServerOptions;
  /**
   * The port to listen on; 0 picks a free one (see `server.port`).
   * @default 0
   */
  port?: number;
  /**
   * The address to listen on. Use `'0.0.0.0'` or `'::'` to accept connections from other machines.
   * @default '127.0.0.1'
   */
  host?: string;
  /**
   * Milliseconds a client has to send all request headers (node: 60 s); then 408 and close.
   * @default 30000
   */
  headersTimeout?: number;
  /**
   * Milliseconds a client has to send the whole request, body included (node: 300 s); 0 turns it off.
   * @default 60000
   */
  requestTimeout?: number;
  /**
   * How often the two timeouts above are checked, in milliseconds (node: 30 s, so they fire late).
   * @default 1000
   */
  connectionsCheckingInterval?: number;
  /**
   * Milliseconds a socket may see no traffic either way, e.g. a client that stopped reading a
   * stream, before it is destroyed (node: off), checked four times per timeout: it goes between
   * the timeout and a quarter more after its last byte. Raise it for handlers that stay silent
   * longer; 0 turns it off.
   * @default 60000
   */
  idleTimeout?: number;
  /**
   * Milliseconds an idle keep-alive connection is kept open.
   * @default 5000
   */
  keepAliveTimeout?: number;
  /**
   * Largest request head in bytes; past it, 431.
   * @default 16384
   */
  maxHeaderSize?: number;
  /**
   * Most request header fields; a request with more is answered 431 without calling the handler.
   * @default 2000
   */
  maxHeadersCount?: number;
  /**
   * Default limit of the body helpers `text`, `json` and `form`, in bytes; past it, 413.
   * @default 1048576 (1 MiB)
   */
  maxBodySize?: number;
  /**
   * Limit of the streaming `req.body` in bytes: past it the body errors with a 413 `HttpError`.
   * @default Infinity (streaming bodies are bounded by backpressure instead)
   */
  maxRequestBodySize?: number;
}

/** Every option of {@link ServeOptions}, resolved. */
export interface ServerConfig {
  /** The handler given, or one that answers 426 on a WebSocket-only server. */
  handler: Handler;
  websocketHandler: WebSocketHandler | undefined;
  websocket: WebSocketServerConfig;
  port: number;
  host: string;
  headersTimeout: number;
  requestTimeout: number;
  connectionsCheckingInterval: number;
  idleTimeout: number;
  keepAliveTimeout: number;
  maxHeaderSize: number;
  maxHeadersCount: number;
  maxBodySize: number;
  maxRequestBodySize: number;
  pipeline: PipelineConfig;
  /** node's TLS options when serving HTTPS. */
  tls: TlsOptions | undefined;
  http2: boolean;
  maxConcurrentStreams: number;
  scheme: 'http' | 'https';
}

/** What `serve({ tls })` takes: node's TLS server options, with a key and certificate or a pfx. */
export type TlsOptions = SecureContextOptions & TlsServerOptions;

/** Resolves and checks every option of `serve`, throwing on the first bad one. */
export function resolveServeOptions(options: ServeOptions): ServerConfig {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'an object with at least a handler');
  }
  checkKnownOptions(options, serveOptionNames, 'serve');
  const o = options as unknown as Record<string, unknown>;
  const handler = functionOption<Handler>(o, 'handler');
  const websocketHandler = functionOption<WebSocketHandler>(o, 'websocketHandler');
  if (handler === undefined && websocketHandler === undefined) {
    throw new InvalidOptionError('handler', 'a function (req) => response, or a websocketHandler');
  }
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || host === '') throw new InvalidOptionError('host', 'a non-empty string');
  const maxTimer = 2 ** 31 - 1;
  const tls = tlsOption(o.tls);
  const config: ServerConfig = {
    tls,
    scheme: tls === undefined ? 'http' : 'https',
    http2: booleanOption(o, 'http2', false),
    maxConcurrentStreams: integerOption(o, 'maxConcurrentStreams', 100, 1, 2 ** 31 - 1),
    handler: handler ?? webSocketOnly,
    websocketHandler,
    websocket: resolveServerOptions(options.websocket),
    port: integerOption(o, 'port', 0, 0, 65535),
    host,
    headersTimeout: integerOption(o, 'headersTimeout', 30_000, 1, maxTimer),
    requestTimeout: integerOption(o, 'requestTimeout', 60_000, 0, maxTimer),
    connectionsCheckingInterval: integerOption(o, 'connectionsCheckingInterval', 1_000, 1, maxTimer),
    idleTimeout: integerOption(o, 'idleTimeout', 60_000, 0, maxTimer),
    keepAliveTimeout: integerOption(o, 'keepAliveTimeout', 5_000, 0, maxTimer),
    maxHeaderSize: integerOption(o, 'maxHeaderSize', 16 * 1024, 1),
    maxHeadersCount: integerOption(o, 'maxHeadersCount', 2000, 1),
    maxBodySize: limitOption(o, 'maxBodySize', 1024 * 1024),
    maxRequestBodySize: limitOption(o, 'maxRequestBodySize', Infinity),
    pipeline: resolvePipeline(options),
  };
  if (config.requestTimeout > 0 && config.headersTimeout > config.requestTimeout) {
    throw new InvalidOptionError('headersTimeout', `at most requestTimeout (${config.requestTimeout})`);
  }
  return config;
}

function tlsOption(value: unknown): TlsOptions | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw tlsProblem();
  const { key, cert, pfx } = value as Record<string, unknown>;
  if ((key === undefined || cert === undefined) && pfx === undefined) throw tlsProblem();
  return value;
}

const tlsProblem = (): InvalidOptionError =>
  new InvalidOptionError('tls', 'an object with key and cert (PEM), or pfx (and passphrase)');

const serveOptionNames = [
  'handler',
  'websocketHandler',
  'websocket',
  'tls',
  'http2',
  'maxConcurrentStreams',
  'port',
  'host',
  'headersTimeout',
  'requestTimeout',
  'connectionsCheckingInterval',
  'idleTimeout',
  'keepAliveTimeout',
  'maxHeaderSize',
  'maxHeadersCount',
  'maxBodySize',
  'maxRequestBodySize',
  'highWaterMark',
  'overflow',
  'handlerTimeout',
  'onError',
  'logger',
] as const;

/** The handler of a server that has only a `websocketHandler`. */
const webSocketOnly: Handler = () => {
  throw new HttpError(426, 'This server speaks WebSocket only.', { headers: { upgrade: 'websocket' } });
};

/** The default `onError`: one line of context and the error, on stderr. */
export function logError(error: Error, req: JetRequest): void {
  console.error(`rxjet: ${req.method} ${req.url}:`, error);
}

/** `onError` for a pino-style `logger`. */
function logTo(logger: Logger): PipelineConfig['report'] {
  return (error, req) =>
    logger.error(
      { err: error, req: { method: req.method, url: req.url, remoteAddress: req.remoteAddress } },
      `rxjet: ${req.method} ${req.url} failed`,
    );
}

function loggerOption(options: Record<string, unknown>): Logger | undefined {
  const { logger } = options;
  if (logger === undefined) return undefined;
  if (typeof logger !== 'object' || logger === null || typeof (logger as Logger).error !== 'function') {
    throw new InvalidOptionError('logger', 'a pino-style logger: an object with an error(object, message) method');
  }
  return logger as Logger;
}

/**
 * `onError`, else the `logger`, else stderr; guarded, because it is called from socket events
 * (a WebSocket failing, a response breaking) where a throw would end the process.
 */
function reportOption(options: Record<string, unknown>): PipelineConfig['report'] {
  const onError = functionOption<PipelineConfig['report']>(options, 'onError');
  const logger = loggerOption(options);
  const report = onError ?? (logger === undefined ? logError : logTo(logger));
  return (error, req) => {
    try {
      report(error, req);
    } catch (hookError) {
      console.error('rxjet: onError threw', hookError, 'while reporting', error);
    }
  };
}

/** Resolves the pipeline part of the options; throws {@link InvalidOptionError} on a bad one. */
export function resolvePipeline(options: ResponseOptions): PipelineConfig {
  const o = options as Record<string, unknown>;
  return {
    highWaterMark: integerOption(o, 'highWaterMark', 1024 * 1024, 1),
    overflow: choiceOption(o, 'overflow', ['error', 'drop'], 'error'),
    handlerTimeout: integerOption(o, 'handlerTimeout', 0, 0, 2 ** 31 - 1),
    report: reportOption(o),
    closing: false,
    active: 0,
    endOnClose: new Set(),
  };
}
