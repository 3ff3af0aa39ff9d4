// The WebSocket client: the cold `websocket()` and `connect()`, with a bounded handshake.
import type { IncomingMessage } from 'node:http';
import { Observable } from 'rxjs';
import type { WebSocket } from 'ws';
import { wsPackage } from '../internal/packages.js';
import {
  InvalidOptionError,
  WebSocketConnectError,
  WebSocketClosedError,
  WebSocketHandshakeError,
} from '../internal/errors.js';
import { HeaderRecord } from '../internal/headers.js';
import { checkKnownOptions, integerOption } from '../internal/validate.js';
import { ClientUpgradeRequest } from './client-request.js';
import { type Connection, createConnection } from './connection.js';
import { runWebSocketHandler } from './handler.js';
import { resolveShared, sharedOptionNames } from './options.js';
import type { WebSocketConnection, WebSocketHandler, WebSocketOptions } from './types.js';

/** Options of the WebSocket client ({@link websocket} and {@link connect}). */
export interface WebSocketClientOptions extends WebSocketOptions {
  /** Headers sent with the upgrade request. */
  headers?: Record<string, string>;
  /** Subprotocols offered, in order of preference (sent, unlike Jet's). */
  protocols?: readonly string[];
  /**
   * Milliseconds the whole opening handshake may take, from connecting to the server's 101 head
   * (however slowly it comes); then a `WebSocketConnectError`. A refusal is reported once its
   * head is in, with what came of its body within 1 s (at most 64 KiB).
   * @default 10000
   */
  handshakeTimeout?: number;
  /** Certificate authorities to trust for `wss:` (PEM). */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Verify the server's certificate for `wss:`.
   * @default true
   */
  rejectUnauthorized?: boolean;
  /** Called with errors the connection reports on `ctrl$`, and with a handler that throws. */
  onError?: (error: Error) => void;
}

/**
 * A WebSocket client as a cold Observable: connects on subscribe, emits the connection once it
 * is open, and closes it with 1000 when unsubscribed. It completes on a normal close (1000, or
 * 1005: no code) and on a close asked for on this side; any other end (a dropped connection,
 * 1006; a server going away or failing, 1001, 1011, 1012, 1013; an application code) errors
 * with a `WebSocketClosedError` carrying `closeCode` and `reason`. Failing to connect errors with a `WebSocketConnectError`, a
 * refused handshake with a `WebSocketHandshakeError` (its `status` and `body`), so
 * `retry({ delay })` reconnects with backoff.
 *
 * @param url - a `ws:` or `wss:` URL
 * @param options - headers, subprotocols, TLS and limits (see {@link WebSocketClientOptions})
 * @returns a cold Observable of the open connection
 * @example
 * ```ts
 * import { websocket } from 'rxjet/websocket';
 * import { retry, switchMap, timer } from 'rxjs';
 *
 * websocket('ws://127.0.0.1:8080/feed')
 *   .pipe(
 *     switchMap((conn) => conn.in$),
 *     retry({ delay: (_, attempt) => timer(Math.min(30_000, 2 ** attempt * 100)) }),
 *   )
 *   .subscribe((message) => console.log(message));
 * ```
 */
export function websocket(url: string | URL, options: WebSocketClientOptions = {}): Observable<WebSocketConnection> {
  return connections(url, options);
}

/** Close codes of a normal end: 1000, and 1005 (a close frame that carried no code). The cold form errors on any other. */
const normalCloses = new Set([1000, 1005]);

/** The most of a refusal's body that is read for its error (`WebSocketHandshakeError.body`). */
const refusalBodyLimit = 64 * 1024;

/**
 * How long a refusal's body is read for its error once the head is in: a server cannot hold the
 * report back with a slow or endless body.
 */
const refusalBodyWait = 1000;

const clientOptionNames = [
  ...sharedOptionNames,
  'headers',
  'protocols',
  'handshakeTimeout',
  'ca',
  'rejectUnauthorized',
  'onError',
];

/** {@link websocket}, typed with the implementation `connect` hands to the handler runner. */
function connections(url: string | URL, options: WebSocketClientOptions): Observable<Connection> {
  const target = new URL(url);
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
    throw new InvalidOptionError('url', `a ws: or wss: URL, got ${target.protocol}`);
  }
  checkKnownOptions(options, clientOptionNames, 'websocket');
  const shared = resolveShared(options);
  const handshakeTimeout = integerOption(
    options as Record<string, unknown>,
    'handshakeTimeout',
    10_000,
    1,
    2 ** 31 - 1,
  );
  const where = target.href;
  const onError = options.onError ?? ((error: Error) => console.error('rxjet websocket:', error));
  const report = (error: Error): void => onError(error);
  return new Observable<Connection>((subscriber) => {
    const ws: WebSocket = new (wsPackage().WebSocket)(
      target,
      options.protocols === undefined ? [] : [...options.protocols],
      {
        ...shared.ws,
        headers: options.headers,
        handshakeTimeout,
        ca: options.ca as string | Buffer | (string | Buffer)[] | undefined,
        rejectUnauthorized: options.rejectUnauthorized ?? true,
        followRedirects: false,
      },
    );
    let opened = false;
    /** Reports the refusal whose head is in, with what came of its body; set once there is one. */
    let reportRefusal: (() => void) | undefined;
    // ws's own handshakeTimeout is an idle timer (a head sent a byte at a time never trips it):
    // this one bounds the whole handshake.
    const started = Date.now();
    const deadline = setTimeout(() => {
      if (reportRefusal !== undefined) {
        reportRefusal();
        return;
      }
      const cause = new Error(`Opening handshake has timed out after ${handshakeTimeout} ms`);
      subscriber.error(new WebSocketConnectError(where, cause));
      ws.terminate();
    }, handshakeTimeout);
    subscriber.add(() => clearTimeout(deadline));
    ws.once('unexpected-response', (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let reported = false;
      const report = (): void => {
        if (reported) return;
        reported = true;
        clearTimeout(reading);
        const body = Buffer.concat(chunks).subarray(0, refusalBodyLimit).toString();
        subscriber.error(new WebSocketHandshakeError(where, response.statusCode ?? 0, ownHeaders(response), body));
        ws.terminate();
      };
      reportRefusal = report;
      // The refusal is known from its head: the body is read only for the error, and briefly.
      const reading = setTimeout(report, Math.min(refusalBodyWait, handshakeTimeout - (Date.now() - started)));
      response.on('data', (chunk: Buffer) => {
        if (size < refusalBodyLimit) chunks.push(chunk);
        size += chunk.length;
        if (size >= refusalBodyLimit) report();
      });
      response.on('end', report);
      response.on('close', report); // cut short, or torn down
      response.on('error', () => undefined); // 'close' follows
    });
    ws.on('error', (error) => {
      if (!opened) subscriber.error(new WebSocketConnectError(where, error));
    });
    ws.once('open', () => {
      opened = true;
      clearTimeout(deadline);
      const request = new ClientUpgradeRequest(
        target,
        options.headers,
        (ws as unknown as { _socket?: { remoteAddress?: string } })._socket?.remoteAddress ?? '',
      );
      const conn = createConnection(ws, request, { ...shared.connection, report });
      let close: { code: number; reason: string } | undefined;
      conn.ctrl$.subscribe({
        next: (event) => {
          if (event.type === 'close') close = event;
        },
        // As RxJS's webSocket(): any end but a normal one errors, so that retry() reconnects.
        complete: () => {
          if (close !== undefined && !conn.closedHere && !normalCloses.has(close.code)) {
            subscriber.error(new WebSocketClosedError(where, close));
          } else subscriber.complete();
        },
      });
      subscriber.next(conn);
    });
    return () => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
      else if (ws.readyState === ws.CONNECTING) ws.terminate();
    };
  });
}

/** A refusal's headers, copied to a record without a prototype: a name the server did not send reads as undefined. */
function ownHeaders(response: IncomingMessage): Record<string, string | string[] | undefined> {
  const headers = new HeaderRecord() as unknown as Record<string, string | string[] | undefined>;
  for (const name of Object.keys(response.headers)) headers[name] = response.headers[name];
  return headers;
}

/**
 * Opens a WebSocket at once, as Jet's `connect!`: calls `handler(conn)` once it is open and
 * resolves with the connection; rejects with a `WebSocketHandshakeError` or
 * `WebSocketConnectError` when it cannot open. The handler may return an Observable of
 * messages to send.
 *
 * @param url - a `ws:` or `wss:` URL
 * @param handler - runs once the connection is open
 * @param options - see {@link WebSocketClientOptions}
 * @returns a Promise of the open connection
 * @example
 * ```ts
 * import { connect } from 'rxjet/websocket';
 * import { filter, map, take } from 'rxjs';
 *
 * await connect('ws://127.0.0.1:8080/app', (conn) => {
 *   conn.out$.next('PING');
 *   conn.in$.pipe(filter((m) => m === 'PONG'), take(1)).subscribe(() => conn.out$.complete());
 * });
 * ```
 */
export function connect(
  url: string | URL,
  handler: WebSocketHandler,
  options: WebSocketClientOptions = {},
): Promise<WebSocketConnection> {
  if (typeof handler !== 'function') throw new InvalidOptionError('handler', 'a function (conn) => void');
  const connection$ = connections(url, options);
  return new Promise((resolve, reject) => {
    connection$.subscribe({
      next: (conn) => {
        runWebSocketHandler(conn, handler);
        resolve(conn);
      },
      error: reject,
    });
  });
}
