import { isObservable } from 'rxjs';
import { HandlerError } from '../internal/errors.js';
import type { Connection } from './connection.js';
import type { WebSocketHandler } from './types.js';

/**
 * Runs a WebSocket handler on an open connection, the same way on the server and the client:
 * an Observable it returns is sent on `out$` until the socket closes; a handler that throws or
 * rejects closes the socket with 1011 and is reported.
 */
export function runWebSocketHandler(conn: Connection, handler: WebSocketHandler, report: (error: Error) => void): void {
  const fail = (error: unknown): void => {
    report(new HandlerError(`the WebSocket ${conn.request.url}`, error));
    conn.close(1011, 'internal error');
  };
  let result: unknown;
  try {
    result = handler(conn);
  } catch (error) {
    fail(error);
    return;
  }
  if (isObservable(result)) {
    const sending = result.subscribe({
      next: (message) => conn.out$.next(message as never),
      error: fail,
      complete: () => conn.out$.complete(),
    });
    conn.onClosed(() => sending.unsubscribe());
  } else if (
    result !== null &&
    typeof result === 'object' &&
    typeof (result as PromiseLike<void>).then === 'function'
  ) {
    (result as PromiseLike<void>).then(undefined, fail);
  }
}
