// Running a WebSocket handler on an open connection, the same on the server and the client.
import { isObservable, Subscriber } from 'rxjs';
import { HandlerError } from '../internal/errors.js';
import type { Connection } from './connection.js';
import type { WebSocketHandler } from './types.js';

/**
 * Runs a WebSocket handler on an open connection, the same way on the server and the client:
 * an Observable it returns is sent on `out$` until the socket closes; a handler that throws or
 * rejects closes the socket with 1011 and is reported.
 */
export function runWebSocketHandler(conn: Connection, handler: WebSocketHandler): void {
  const fail = (error: unknown): void => failed(conn, error);
  // One try for the handler and for adopting its result: a Promise-like whose `then` throws or
  // an Observable-like whose `subscribe` throws runs in a socket event, where a throw ends the process.
  try {
    const result: unknown = handler(conn);
    if (isObservable(result)) {
      const sending = new Forward(conn);
      result.subscribe(sending);
      conn.onClosed(sending);
    } else if (
      result !== null &&
      typeof result === 'object' &&
      typeof (result as PromiseLike<void>).then === 'function'
    ) {
      (result as PromiseLike<void>).then(undefined, fail);
    }
  } catch (error) {
    fail(error);
  }
}

/**
 * Sends what a handler's Observable emits: a Subscriber itself (made before subscribing, so it
 * can be unsubscribed while a synchronous source still emits), one small object per connection.
 */
class Forward extends Subscriber<unknown> {
  constructor(private readonly conn: Connection) {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- subclassing is how operators make Subscribers too
    super();
  }
  protected override _next(message: unknown): void {
    this.conn.out$.next(message as string);
  }
  protected override _error(error: unknown): void {
    this.unsubscribe();
    failed(this.conn, error);
  }
  protected override _complete(): void {
    this.unsubscribe();
    this.conn.out$.complete();
  }
}

/** A handler failed: report it and close with 1011. */
function failed(conn: Connection, error: unknown): void {
  conn.report(new HandlerError(`the WebSocket ${conn.request.url}`, error));
  conn.close(1011, 'internal error');
}
