// The HTTP side of WebSocket upgrades: accepting, refusing through the handler, and closing them
// all.
import { type IncomingMessage, ServerResponse, STATUS_CODES } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocketServer, WebSocket } from 'ws';
import { Exchange } from './exchange.js';
import type { PipelineConfig } from './pipeline-config.js';
import { ambiguous } from './framing.js';
import { IncomingRequest } from './request.js';
import type { ServerConfig } from './options.js';
import { type Connection, type ConnectionSettings, createConnection } from '../websocket/connection.js';
import { runWebSocketHandler } from '../websocket/handler.js';
import type { WebSocketServerConfig } from '../websocket/options.js';
import { contextOf } from '../internal/request-context.js';
import { wsPackage } from '../internal/packages.js';
import { ClientAbortedError, HandlerError } from '../internal/errors.js';
import type { WebSocketHandler } from '../websocket/types.js';
import { UpgradeRequest } from './upgrade-request.js';

/**
 * The server's WebSocket side: answers node's `upgrade` events with the root
 * `websocketHandler`, or with the HTTP handler's answer (`{ websocket }` accepts; any other
 * response refuses with that status and body), and keeps the open sockets for `close()`.
 */
export class UpgradeHandler {
  private server: WebSocketServer | undefined;
  private readonly connections = new Set<Connection>();
  /** One settings object for every connection of this server. */
  private readonly settings: ConnectionSettings;
  /** One heartbeat timer for every socket, as ws's README recipe does it. */
  private heartbeat: NodeJS.Timeout | undefined;

  /** Handshakes the HTTP handler is deciding on or refusing: destroyed by `terminateAll`. */
  private readonly handshakes = new Set<Duplex>();
  /** Headers a handler's `{ websocket, headers }` answer adds to its 101, until ws writes it. */
  private readonly extraHeaders = new WeakMap<IncomingMessage, readonly string[]>();
  private readonly config: WebSocketServerConfig;
  private readonly pipeline: PipelineConfig;

  constructor(private readonly server$: ServerConfig) {
    const { pipeline } = server$;
    this.config = server$.websocket;
    this.pipeline = pipeline;
    this.settings = {
      ...this.config.connection,
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

  /**
   * node's `upgrade` listener. It sees WebSocket handshakes only: every other request with an
   * `Upgrade` header is served as an ordinary request (see `UpgradeAwareMessage`).
   */
  readonly onUpgrade = (raw: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A shared function: a closure here would share this scope's context and keep the request alive.
    socket.on('error', destroySocket);
    // node hands over its TCP or TLS socket; nothing else can be served.
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    const { server$ } = this;
    const req = new IncomingRequest(raw, server$.scheme, server$);
    if (this.pipeline.closing) return refuse(socket, 503, 'Service Unavailable');
    if (ambiguous(raw.httpVersionMajor === 1 && raw.httpVersionMinor === 0, raw.rawHeaders)) {
      return refuse(socket, 400, 'Bad Request');
    }
    const origin = raw.headers.origin;
    const { origins } = this.config;
    if (origins !== undefined && (origin === undefined || !origins.includes(origin))) {
      return refuse(socket, 403, 'Origin not allowed');
    }
    if (server$.websocketHandler !== undefined) {
      this.accept(req, socket, head, server$.websocketHandler);
      return;
    }
    // The HTTP handler decides. Until it does, and while a refusal is written, the socket is an
    // HTTP/1.1 exchange like any other: read (so a client that leaves is noticed), idle-timed,
    // written with backpressure through node's own response, and destroyed by close().
    const handshake = new Handshake(socket, head, server$.idleTimeout, this.handshakes);
    const res = new ServerResponse(raw);
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.destroySoon());
    new Exchange(req, res, this.pipeline, (websocket, headers) => {
      res.detachSocket(socket);
      if (headers.length > 0) this.extraHeaders.set(raw, headers);
      this.accept(req, socket, handshake.release(), websocket);
    }).run(server$.handler);
  };

  /** Closes every socket with 1001 (going away). */
  closeAll(): void {
    for (const conn of this.connections) conn.close(1001, 'server closing');
  }

  /** Destroys every socket that is still open, and every handshake still being decided or refused. */
  terminateAll(): void {
    for (const conn of this.connections) conn.ws.terminate();
    for (const socket of this.handshakes) socket.destroy();
  }

  private accept(
    upgrade: IncomingRequest<IncomingMessage>,
    socket: Duplex,
    head: Buffer,
    handler: WebSocketHandler,
  ): void {
    if (socket.destroyed) return;
    this.server ??= this.createServer();
    try {
      this.server.handleUpgrade(upgrade.raw, socket, head, (ws) => this.open(ws, new UpgradeRequest(upgrade), handler));
    } catch (error) {
      // User code ws calls before it writes anything (the `protocols` function) threw: nothing
      // is on the wire yet, so the handshake is refused as a failing handler is answered.
      this.pipeline.report(new HandlerError(`${upgrade.method} ${upgrade.url} (websocket.protocols)`, error), upgrade);
      refuse(socket, 500, 'Internal Server Error');
    }
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
    const { scheme } = this.server$;
    const server = new (wsPackage().WebSocketServer)({
      noServer: true,
      clientTracking: false,
      ...ws,
      handleProtocols:
        protocols === undefined
          ? () => false
          : (offered: Set<string>, raw: IncomingMessage) => {
              const list = [...offered];
              if (typeof protocols === 'function') {
                return protocols(list, new IncomingRequest(raw, scheme, this.server$));
              }
              return protocols.find((p) => offered.has(p)) ?? false;
            },
    });
    server.on('headers', (lines: string[], raw: IncomingMessage) => {
      const extra = this.extraHeaders.get(raw);
      if (extra === undefined) return;
      this.extraHeaders.delete(raw);
      for (let i = 0; i < extra.length; i += 2) {
        const name = extra[i]!;
        if (!handshakeHeaders.has(name.toLowerCase())) lines.push(`${name}: ${extra[i + 1]!}`);
      }
    });
    return server;
  }
}

/** What the handshake itself says: a handler's answer never overrides it. */
const handshakeHeaders = new Set([
  'connection',
  'upgrade',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'content-length',
  'transfer-encoding',
]);

/**
 * ws turns the socket's timeout off (heartbeats watch a WebSocket instead), but node keeps the
 * cleared timer, set by the handshake's idle timeout, on the socket: about 170 bytes per open
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

/** Answers a handshake refused before any handler ran with a plain-text status and closes the socket. */
function refuse(socket: Duplex, status: number, message: string): void {
  if (socket.destroyed) return;
  const body = Buffer.from(message);
  const head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n` +
    `content-type: text/plain; charset=utf-8\r\ncontent-length: ${body.byteLength}\r\nconnection: close\r\n\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
}

/** Bytes a client may send before its handshake is answered; it should send none. */
const maxEarlyBytes = 64 * 1024;

/**
 * A WebSocket handshake the HTTP handler is deciding on. The socket node handed over is read,
 * so that a client going away (or sending more than a handshake may) is noticed, and timed out
 * after `idleTimeout` of silence; bytes that arrive early are kept for the WebSocket.
 */
class Handshake {
  private early: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly socket: Socket,
    private readonly head: Buffer,
    idleTimeout: number,
    private readonly held: Set<Duplex>,
  ) {
    held.add(socket);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.once('close', this.onClose);
    if (idleTimeout > 0) {
      socket.setTimeout(idleTimeout);
      socket.on('timeout', this.onEnd);
    }
  }

  /**
   * The WebSocket takes the socket over: returns every byte read so far. The socket is left
   * flowing (not paused: ws resumes nothing), and ws attaches its own reader in the same turn.
   */
  release(): Buffer {
    const { socket } = this;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('close', this.onClose);
    socket.off('timeout', this.onEnd);
    socket.setTimeout(0);
    this.held.delete(socket);
    return this.early.length === 0 ? this.head : Buffer.concat([this.head, ...this.early]);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.size += chunk.byteLength;
    if (this.size > maxEarlyBytes) this.socket.destroy();
    else this.early.push(chunk);
  };

  private readonly onEnd = (): void => {
    this.socket.destroy();
  };

  private readonly onClose = (): void => {
    this.held.delete(this.socket);
    this.early = [];
  };
}
