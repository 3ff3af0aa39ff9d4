// `serve()` and the running `Server`: listening, request dispatch, stats and graceful close.
import { createServer, type IncomingMessage, type Server as NodeServer, type ServerResponse } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { InvalidOptionError } from '../internal/errors.js';
import { Exchange } from './exchange.js';
import { Http2Front, listeningOn, type Listening } from './http2.js';
import { IdleWatch, traffic } from './idle-watch.js';
import { resolveServeOptions, type ServeOptions, type ServerConfig } from './options.js';
import { IncomingRequest } from './request.js';
import { UpgradeAwareMessage } from './upgrade-message.js';
import { ambiguous } from './framing.js';
import { UpgradeHandler } from './upgrade-handler.js';
import type { ResponseTarget } from './response-target.js';
import type { Http2ServerRequest } from 'node:http2';

/**
 * Starts an HTTP server that answers every request with `handler`.
 *
 * Options are checked at once: a bad one throws an `InvalidOptionError` synchronously.
 *
 * @param options - the handler, where to listen, and limits (see {@link ServeOptions})
 * @returns a Promise of the running {@link Server}, once it listens
 * @example
 * ```ts
 * import { serve } from 'rxjet/server';
 * import { interval, map, take } from 'rxjs';
 *
 * const server = await serve({
 *   port: 8080,
 *   handler: (req) =>
 *     req.path === '/count'
 *       ? { body: interval(100).pipe(take(10), map((i) => `${i}\n`)) }
 *       : { headers: { 'content-type': 'text/plain' }, body: 'hello' },
 * });
 * console.log(`listening on ${server.url}`);
 * ```
 */
export function serve(options: ServeOptions): Promise<Server> {
  const config = resolveServeOptions(options);
  const { pipeline } = config;
  const { handler } = config;
  const maxHeaderFields = config.maxHeadersCount * 2;
  const { scheme } = config;
  const settings = {
    headersTimeout: config.headersTimeout,
    requestTimeout: config.requestTimeout,
    connectionsCheckingInterval: config.connectionsCheckingInterval,
    keepAliveTimeout: config.keepAliveTimeout,
    maxHeaderSize: config.maxHeaderSize,
    noDelay: true,
    IncomingMessage: UpgradeAwareMessage,
  };
  const listener = (raw: IncomingMessage | Http2ServerRequest, res: ServerResponse | ResponseTarget): void => {
    // A request pipelined behind a malformed one is never routed: that connection's framing
    // cannot be trusted. It is left unanswered; the refusal's `connection: close` ends it.
    if ((raw.socket as Refusing | null)?.[kMalformed] === true) return;
    const req = new IncomingRequest(raw, scheme, config, res);
    const exchange = new Exchange(req, res, pipeline);
    if (pipeline.closing) exchange.refuse(503);
    // Node 24 answers 431 past maxHeadersCount; node 20 drops the rest. Answer 431 on both.
    else if (raw.rawHeaders.length > maxHeaderFields) malformed(raw, exchange, 431);
    else if (ambiguous(raw.httpVersionMajor === 1 && raw.httpVersionMinor === 0, raw.rawHeaders)) {
      malformed(raw, exchange, 400);
    } else exchange.run(handler);
  };
  const node: NodeServer =
    config.tls === undefined || config.http2
      ? createServer(settings, listener)
      : process.getBuiltinModule('node:https').createServer({ ...config.tls, ...settings }, listener);
  const listening = config.http2 ? new Http2Front(node, config, listener) : listeningOn(node);
  const { front } = listening;
  const upgrades = new UpgradeHandler(config);
  node.maxHeadersCount = config.maxHeadersCount;
  if (config.idleTimeout > 0) {
    // Between requests (a response written, none in flight: node:http clears `_httpMessage`) a
    // connection is keepAliveTimeout's, as documented, even when that is longer than idleTimeout.
    // A new connection that has not sent a request yet is not: headersTimeout only starts with
    // its first byte.
    const { keepAliveTimeout } = config;
    const idle = new IdleWatch<Socket>(
      config.idleTimeout,
      traffic,
      (socket) =>
        keepAliveTimeout > 0 &&
        (socket as Socket & { _httpMessage?: unknown })._httpMessage == null &&
        socket.bytesWritten > 0,
    );
    // The socket node:http serves, and later hands to 'upgrade': over https the TLS socket, which
    // node's TLS server gives once its handshake is done (before that, its handshakeTimeout holds).
    const served = config.tls !== undefined && !config.http2 ? 'secureConnection' : 'connection';
    node.on(served, (socket: Socket) => idle.watch(socket));
    // A WebSocket has heartbeats; its handshake, a timeout of its own.
    node.on('upgrade', (_req: IncomingMessage, socket: Socket) => idle.forget(socket));
  }
  node.on('upgrade', upgrades.onUpgrade);
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    front.once('error', onError);
    front.listen(config.port, config.host, () => {
      front.off('error', onError);
      resolve(new Server(node, listening, config, upgrades));
    });
  });
}

/** Where `inject` finds a server's handler and settings. */
export const kConfig: unique symbol = Symbol('rxjet.server');

/** Options of {@link Server.close}. */
export interface CloseOptions {
  /**
   * Milliseconds in-flight requests get to finish before their connections are destroyed.
   * @default 10000
   */
  timeout?: number;
}

/** What a server holds at a moment: see {@link Server.stats}. */
export interface ServerStats {
  /** Open TCP connections: keep-alive, in flight, and upgraded to WebSocket. */
  connections: number;
  /** Requests still running after their handler call (pending answers and streaming bodies). */
  requests: number;
  /** Open WebSocket connections. */
  websockets: number;
  /**
   * The same count as `requests`, under its old name (not enumerable).
   * @deprecated use `requests`; `exchanges` named an internal class
   */
  readonly exchanges: number;
}

/**
 * A running rxjet server, as {@link serve} resolves it.
 *
 * @example
 * ```ts
 * import { serve } from 'rxjet/server';
 *
 * const server = await serve({ handler: () => ({ body: 'hello' }) });
 * console.log(server.url); // http://127.0.0.1:PORT
 * console.log(await server.stats()); // { connections: 0, requests: 0, websockets: 0 }
 * await server.close();
 * ```
 */
export class Server {
  /** @internal */
  readonly [kConfig]: ServerConfig;
  /**
   * The node:http (or node:https) server underneath, for advanced use. With `http2` it serves
   * the HTTP/1.1 connections a front server hands it; see {@link Server.http2}.
   */
  readonly node: NodeServer;
  /** With `http2`, the node:http2 server of the HTTP/2 connections; otherwise undefined. */
  readonly http2: Http2Server | undefined;
  private closing: Promise<void> | undefined;

  private readonly upgrades: UpgradeHandler;
  private readonly listening: Listening;

  /** @internal */
  constructor(node: NodeServer, listening: Listening, config: ServerConfig, upgrades: UpgradeHandler) {
    this.node = node;
    this.listening = listening;
    this.http2 = listening instanceof Http2Front ? listening.http2 : undefined;
    this[kConfig] = config;
    this.upgrades = upgrades;
  }

  /** The port the server is bound to. */
  get port(): number {
    return (this.listening.front.address() as AddressInfo).port;
  }

  /** The URL to reach it, e.g. `'http://127.0.0.1:8080'` (`https:` with `tls`). */
  get url(): string {
    const host = this[kConfig].host;
    const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
    return `${this[kConfig].scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${this.port}`;
  }

  /**
   * What the server holds right now, for monitoring and for tests that check nothing leaks.
   * `requests` counts requests whose answer outlived the handler call (a pending Promise or
   * Observable, a streaming body): each holds a subscription and maybe a timer, and is released
   * when it ends or its client goes away.
   *
   * @returns a Promise of the open connections (HTTP and WebSocket), running requests and WebSockets
   * @example
   * ```ts
   * const { connections, requests, websockets } = await server.stats();
   * ```
   */
  stats(): Promise<ServerStats> {
    const requests = this[kConfig].pipeline.active;
    const websockets = this.upgrades.size;
    return new Promise((resolve, reject) =>
      this.listening.front.getConnections((error, connections) =>
        error ? reject(error) : resolve(withOldName({ connections, requests, websockets })),
      ),
    );
  }

  /**
   * Closes gracefully: stops accepting connections, closes idle keep-alive connections, answers
   * requests that still arrive on open connections with 503 and `connection: close`, lets
   * in-flight requests finish, and after `timeout` destroys whatever is left (which tears down
   * its handlers and bodies). Resolves once every connection is gone; calling it again returns
   * the same Promise.
   *
   * @param options - `timeout` in milliseconds (default 10000)
   * @returns a Promise that resolves when the server and all its connections are closed
   * @example
   * ```ts
   * process.on('SIGTERM', () => void server.close({ timeout: 5000 }));
   * ```
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    const timeout = options.timeout ?? 10_000;
    if (!Number.isInteger(timeout) || timeout < 0) {
      throw new InvalidOptionError('timeout', `a non-negative integer, got ${String(timeout)}`);
    }
    const { listening } = this;
    const pipeline = this[kConfig].pipeline;
    pipeline.closing = true;
    const { upgrades } = this;
    let sweep: NodeJS.Immediate | undefined;
    let nodeClosed = false;
    let done: () => void = () => undefined;
    const settle = (): void => {
      if (nodeClosed && pipeline.active === 0 && upgrades.size === 0) done();
    };
    pipeline.onSettled = () => {
      // A finished exchange leaves its connection idle: close it now rather than at keep-alive's end.
      sweep ??= setImmediate(() => {
        sweep = undefined;
        listening.closeIdle();
      });
      settle();
    };
    this.closing = new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        listening.closeAll();
        upgrades.terminateAll();
      }, timeout);
      done = () => {
        clearTimeout(force);
        if (sweep !== undefined) clearImmediate(sweep);
        resolve();
      };
      listening.front.close(() => {
        nodeClosed = true;
        settle();
      });
      listening.closeIdle();
      upgrades.closeAll();
      // Server-Sent Events never end by themselves: end them cleanly, so that their clients
      // reconnect (to another instance) at once, as WebSockets get 1001.
      for (const exchange of [...pipeline.endOnClose]) exchange.endEarly();
    });
    return this.closing;
  }
}

/** Marks an HTTP/1.1 connection whose framing failed: nothing more is read from it as a request. */
const kMalformed = Symbol('rxjet.malformed');

type Refusing = { [kMalformed]?: boolean };

/** Refuses a malformed request and, over HTTP/1.x, every request behind it on its connection. */
function malformed(raw: IncomingMessage | Http2ServerRequest, exchange: Exchange, status: 400 | 431): void {
  if (raw.httpVersionMajor === 1) (raw.socket as Refusing)[kMalformed] = true;
  exchange.refuse(status);
}

/** Adds the deprecated `exchanges`, not enumerable, so that `{ connections, requests, websockets }` is what is seen. */
function withOldName(stats: Omit<ServerStats, 'exchanges'>): ServerStats {
  return Object.defineProperty(stats, 'exchanges', { value: stats.requests, enumerable: false }) as ServerStats;
}
