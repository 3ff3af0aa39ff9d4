import type { IncomingMessage } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { Exchange } from '../server/exchange.js';
import { type InjectedResponse, MemoryResponse } from '../server/memory-response.js';
import type { PipelineConfig } from '../server/pipeline-config.js';
import { IncomingRequest, type RequestLimits } from '../server/request.js';
import type { Handler } from '../server/types.js';
import { type Connection, type ConnectionSettings, createConnection } from './connection.js';
import { runWebSocketHandler } from './handler.js';
import type { WebSocketServerConfig } from './options.js';
import { contextOf } from '../server/request-context.js';
import { ClientAbortedError } from '../internal/errors.js';
import type { WebSocketHandler } from './types.js';
import { UpgradeRequest } from './upgrade-request.js';

/**
 * The server's WebSocket side: answers node's `upgrade` events with the root
 * `websocketHandler`, or with the HTTP handler's answer (`{ websocket }` accepts; any other
 * response refuses with that status and body), and keeps the open sockets for `close()`.
 */
export class Upgrades {
  private server: WebSocketServer | undefined;
  private readonly connections = new Set<Connection>();
  /** One settings object for every connection of this server. */
  private readonly settings: ConnectionSettings;
  /** One heartbeat timer for every socket, as ws's README recipe does it. */
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: WebSocketServerConfig,
    private readonly pipeline: PipelineConfig,
    private readonly limits: RequestLimits,
    private readonly handler: Handler,
    private readonly websocketHandler: WebSocketHandler | undefined,
    private readonly scheme: 'http' | 'https' = 'http',
  ) {
    this.settings = {
      ...config.connection,
      sharedHeartbeat: true,
      report: (error, req) => pipeline.report(error, req),
      released: (conn) => {
        contextOf(conn.request)?.abort(new ClientAbortedError(`the WebSocket ${conn.request.url}`));
        this.connections.delete(conn);
        if (this.connections.size === 0) this.stopHeartbeat();
        if (pipeline.closing) pipeline.onSettled?.();
      },
    };
  }

  /** Open WebSocket connections. */
  get size(): number {
    return this.connections.size;
  }

  /** node's `upgrade` listener. */
  readonly onUpgrade = (raw: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A shared function: a closure here would share this scope's context and keep the request alive.
    socket.on('error', destroySocket);
    const req = new IncomingRequest(raw, this.scheme, this.limits);
    if (this.pipeline.closing) return refuse(socket, 503, 'Service Unavailable');
    const origin = raw.headers.origin;
    const { origins } = this.config;
    if (origins !== undefined && (origin === undefined || !origins.includes(origin))) {
      return refuse(socket, 403, 'Origin not allowed');
    }
    if (this.websocketHandler !== undefined) {
      this.accept(req, socket, head, this.websocketHandler);
      return;
    }
    const res = new MemoryResponse(
      (response) => write(socket, response),
      () => socket.destroy(),
    );
    socket.once('close', () => res.disconnect());
    new Exchange(req, res, this.pipeline, (websocket) => this.accept(req, socket, head, websocket)).run(this.handler);
  };

  /** Closes every socket with 1001 (going away). */
  closeAll(): void {
    for (const conn of this.connections) conn.close(1001, 'server closing');
  }

  /** Destroys every socket that is still open. */
  terminateAll(): void {
    for (const conn of this.connections) conn.ws.terminate();
  }

  private accept(
    upgrade: IncomingRequest<IncomingMessage>,
    socket: Duplex,
    head: Buffer,
    handler: WebSocketHandler,
  ): void {
    if (socket.destroyed) return;
    this.server ??= this.createServer();
    this.server.handleUpgrade(upgrade.raw, socket, head, (ws) => this.open(ws, new UpgradeRequest(upgrade), handler));
  }

  // Its own function, so that nothing long-lived shares a closure context with the upgrade request.
  private open(ws: WebSocket, req: UpgradeRequest, handler: WebSocketHandler): void {
    dropClearedTimer((ws as unknown as { _socket?: object })._socket);
    const conn = createConnection(ws, req, this.settings);
    this.connections.add(conn);
    this.startHeartbeat();
    runWebSocketHandler(conn, handler);
    req.release();
  }

  private startHeartbeat(): void {
    const interval = this.config.connection.heartbeat;
    if (interval === 0 || this.heartbeat !== undefined) return;
    this.heartbeat = setInterval(() => {
      for (const conn of this.connections) conn.beat();
    }, interval);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private createServer(): WebSocketServer {
    const { ws, protocols } = this.config;
    return new WebSocketServer({
      noServer: true,
      clientTracking: false,
      ...ws,
      handleProtocols:
        protocols === undefined
          ? () => false
          : (offered: Set<string>, raw: IncomingMessage) => {
              const list = [...offered];
              if (typeof protocols === 'function') {
                return protocols(list, new IncomingRequest(raw, this.scheme, this.limits));
              }
              return protocols.find((p) => offered.has(p)) ?? false;
            },
    });
  }
}

/**
 * ws turns the socket's timeout off (heartbeats watch a WebSocket instead), but node keeps the
 * cleared timer, set by the server's idle timeout, on the socket: about 170 bytes per open
 * WebSocket. Let it go; if node's internals differ, nothing happens.
 */
function dropClearedTimer(socket: object | undefined): void {
  if (socket === undefined) return;
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== 'timeout') continue;
    const timer = (socket as Record<symbol, { _idleTimeout?: number } | null>)[key];
    if (timer !== null && timer?._idleTimeout === -1) (socket as Record<symbol, unknown>)[key] = null;
  }
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Answers an upgrade request with a plain HTTP response and closes the socket. */
function write(socket: Duplex, response: InjectedResponse): void {
  if (socket.destroyed) return;
  let head = `HTTP/1.1 ${response.status} ${STATUS_CODES[response.status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(response.headers)) {
    for (const item of Array.isArray(value) ? value : [value]) head += `${name}: ${item}\r\n`;
  }
  socket.end(Buffer.concat([Buffer.from(`${head}connection: close\r\n\r\n`, 'latin1'), response.rawBody]));
}

function refuse(socket: Duplex, status: number, message: string): void {
  const body = Buffer.from(message);
  write(socket, {
    status,
    headers: { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.byteLength) },
    body: message,
    rawBody: body,
  });
}
