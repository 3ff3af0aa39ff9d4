// Serving HTTP/2 beside HTTP/1.1 on one port: the front that routes each connection, and the h2
// response target.
import type { Server as HttpServer, OutgoingHttpHeaders } from 'node:http';
import type { Http2Server, Http2ServerRequest, Http2ServerResponse, Http2Session } from 'node:http2';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { HeaderRecord } from '../internal/headers.js';
import { IdleWatch, traffic } from './idle-watch.js';
import type { ServerConfig } from './options.js';
import type { ResponseTarget } from './response-target.js';

/** What `Server` needs from whatever owns the port: the plain node server, or the HTTP/2 front. */
export interface Listening {
  /** The server bound to the port. */
  readonly front: NetServer;
  /** Closes connections with nothing in flight, and asks HTTP/2 sessions to end (GOAWAY). */
  closeIdle(): void;
  /** Destroys every connection and session. */
  closeAll(): void;
}

/** A request listener both node:http and node:http2 (compatibility API) call. */
export type Http2Listener = (raw: Http2ServerRequest, res: ResponseTarget) => void;

/**
 * Serves HTTP/2 and HTTP/1.1 on one port. A front server accepts each connection and hands it
 * to node:http2 or to `http1` (the same node:http server, with all its timeouts and limits,
 * that serves without `http2`): by ALPN over TLS, or, in cleartext, by whether the client opens
 * with the HTTP/2 preface (prior knowledge; `Upgrade: h2c` is answered in HTTP/1.1, which
 * RFC 9113 allows). WebSockets keep working over HTTP/1.1 upgrade either way.
 */
export class Http2Front implements Listening {
  readonly front: NetServer;
  readonly http2: Http2Server;
  private readonly sessions = new Set<Http2Session>();
  private stopped = false;

  constructor(
    private readonly http1: HttpServer,
    config: ServerConfig,
    listener: Http2Listener,
  ) {
    // node:http2 and node:tls are loaded here, by the servers that speak them, not by every import.
    const http2 = process.getBuiltinModule('node:http2').createServer(
      {
        settings: {
          maxConcurrentStreams: config.maxConcurrentStreams,
          maxHeaderListSize: config.maxHeaderSize,
        },
        maxHeaderListPairs: config.maxHeadersCount + pseudoHeaders,
      },
      (raw, res) => listener(raw, new Http2Response(res)),
    );
    this.http2 = http2;
    const idle =
      config.idleTimeout > 0
        ? new IdleWatch<Http2Session>(config.idleTimeout, (session) => traffic(session.socket))
        : undefined;
    http2.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
      idle?.watch(session);
      if (this.stopped) session.close();
    });
    http2.on('stream', (stream) => {
      // A request body still arriving after requestTimeout is cut, as HTTP/1.1's is.
      if (config.requestTimeout > 0 && !stream.endAfterHeaders) limitUpload(stream, config.requestTimeout);
    });
    // node:http starts its headers and request timeout checks when it listens; it never does
    // here, since the front listens, so start them as listening would.
    http1.emit('listening');
    const dispatch = (socket: Socket, isHttp2: boolean): void => {
      (isHttp2 ? http2 : http1).emit('connection', socket);
    };
    if (config.tls === undefined) {
      this.front = createNetServer({ noDelay: true }, (socket) => sniff(socket, config.headersTimeout, dispatch));
    } else {
      const tls = process
        .getBuiltinModule('node:tls')
        .createServer({ ...config.tls, ALPNProtocols: ['h2', 'http/1.1'] }, (socket: TLSSocket) =>
          dispatch(socket, socket.alpnProtocol === 'h2'),
        );
      tls.on('connection', (socket: Socket) => socket.setNoDelay(true));
      this.front = tls;
    }
  }

  closeIdle(): void {
    if (!this.stopped) {
      this.stopped = true;
      // Clears node:http's timeout checks; it never listened, so its own 'close' is all that follows.
      this.http1.close(() => undefined);
    }
    this.http1.closeIdleConnections();
    for (const session of this.sessions) session.close();
  }

  closeAll(): void {
    this.http1.closeAllConnections();
    for (const session of this.sessions) session.destroy();
  }
}

/** The node server serving HTTP/1.1 when it is the one listening. */
export function listeningOn(node: HttpServer): Listening {
  return {
    front: node,
    closeIdle: () => node.closeIdleConnections(),
    closeAll: () => node.closeAllConnections(),
  };
}

/** `:method`, `:path`, `:scheme` and `:authority` count as header pairs in node's limit. */
const pseudoHeaders = 4;

function limitUpload(stream: import('node:http2').ServerHttp2Stream, timeout: number): void {
  const timer = setTimeout(() => stream.close(http2Constants().NGHTTP2_CANCEL), timeout);
  const clear = (): void => clearTimeout(timer);
  stream.once('end', clear);
  stream.once('close', clear);
}

/** The first bytes of every HTTP/2 connection without TLS (RFC 9113 3.4). */
const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/**
 * Waits for a cleartext connection's first bytes and hands it on, the bytes put back. It decides
 * only on the whole 24-byte preface or on the first byte that differs from it, whatever the TCP
 * segments (an HTTP/1.1 `PUT` sent as `P` then the rest is still HTTP/1.1). A client that sends
 * nothing decisive is closed after `timeout`, as node:http closes one that sends no headers.
 */
/** @internal exported for its spec */
export function sniff(socket: Socket, timeout: number, dispatch: (socket: Socket, isHttp2: boolean) => void): void {
  socket.setTimeout(timeout, () => socket.destroy());
  let seen: Buffer | undefined;
  const onData = (chunk: Buffer): void => {
    seen = seen === undefined ? chunk : Buffer.concat([seen, chunk]);
    const length = Math.min(seen.length, preface.length);
    const isHttp2 = seen.compare(preface, 0, length, 0, length) === 0;
    if (isHttp2 && length < preface.length) return; // so far a prefix of the preface: wait for more
    socket.off('data', onData);
    socket.setTimeout(0);
    socket.pause();
    socket.unshift(seen);
    dispatch(socket, isHttp2);
    // node:http2 takes the bytes put back on the next tick, node:http through its 'data'
    // listener once the socket flows; either way reading starts again after that.
    process.nextTick(resume, socket);
  };
  socket.on('data', onData);
}

function resume(socket: Socket): void {
  socket.resume();
}

/**
 * Header fields that are about one HTTP/1.1 connection; HTTP/2 forbids them (RFC 9113 8.2.2)
 * and node throws on them, so a handler written for HTTP/1.1 has them left out instead.
 */
const connectionSpecific = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/** node:http2's compatibility response as the pipeline's {@link ResponseTarget}. */
class Http2Response implements ResponseTarget {
  /** HTTP/2 has no keep-alive to turn off: closing is the session's GOAWAY. */
  shouldKeepAlive = true;
  constructor(private readonly res: Http2ServerResponse) {}
  get headersSent(): boolean {
    return this.res.headersSent;
  }
  get writableEnded(): boolean {
    return this.res.writableEnded;
  }
  /**
   * Whether the whole response was handed over: node's own flags say true for any closed
   * stream, even one the client reset halfway, so this asks whether the pipeline ended it.
   */
  get writableFinished(): boolean {
    return this.res.writableEnded;
  }
  get writableLength(): number {
    return this.res.writableLength;
  }
  get destroyed(): boolean {
    return this.res.stream.destroyed;
  }
  writeHead(status: number, headers: string[]): unknown {
    // An object, not the flat list: node's compat API takes an object's headers in one pass,
    // where each of a flat list's goes through appendHeader and then setHeader, checked twice
    // (about a microsecond a response). Repeated names become arrays, as node would make them.
    const record = new HeaderRecord() as Record<string, string | string[]>;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      if (connectionSpecific.has(name)) continue;
      const value = headers[i + 1]!;
      const seen = record[name];
      record[name] = seen === undefined ? value : typeof seen === 'string' ? [seen, value] : [...seen, value];
    }
    return this.res.writeHead(status, record as OutgoingHttpHeaders);
  }
  flushHeaders(): void {
    (this.res as unknown as { flushHeaders(): void }).flushHeaders();
  }
  write(chunk: string | Uint8Array): boolean {
    return this.res.write(chunk);
  }
  end(chunk?: string | Uint8Array): unknown {
    return chunk === undefined ? this.res.end() : this.res.end(chunk);
  }
  destroy(): unknown {
    // RST_STREAM: the client sees a broken response, never a clean short one.
    this.res.stream.close(http2Constants().NGHTTP2_INTERNAL_ERROR);
    return this;
  }
  on(event: 'close' | 'drain', listener: () => void): unknown {
    return this.res.on(event, listener);
  }
  off(event: 'close' | 'drain', listener: () => void): unknown {
    return this.res.off(event, listener);
  }
}

function http2Constants(): typeof import('node:http2').constants {
  return process.getBuiltinModule('node:http2').constants;
}
