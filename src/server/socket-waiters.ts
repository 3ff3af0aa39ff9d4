// Which exchanges wait on a socket: a response queued behind an unanswered pipelined one never
// emits 'close' when its socket closes, so one listener per socket tells them all.
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ResponseTarget } from './response-target.js';

/** An exchange that must hear its socket close. */
export interface SocketWaiter {
  closed(): void;
}

/** Where a socket keeps its exchanges still waiting for an answer; one shared listener serves them. */
const kPending = Symbol('rxjet.pending');
type WatchedSocket = Socket & { [kPending]?: Set<SocketWaiter> };

/** The socket under a node response (undefined for in-memory ones). */
export function socketOf(res: ResponseTarget): WatchedSocket | undefined {
  return (res as Partial<ServerResponse>).req?.socket;
}

/** The exchanges waiting on `socket`, listening for its close on first use. */
export function pendingOn(socket: WatchedSocket): Set<SocketWaiter> {
  let pending = socket[kPending];
  if (pending === undefined) {
    pending = new Set();
    socket[kPending] = pending;
    socket.once('close', onSocketClose);
  }
  return pending;
}

function onSocketClose(this: WatchedSocket): void {
  const pending = this[kPending];
  if (pending !== undefined) for (const exchange of [...pending]) exchange.closed();
}

/** `exchange` no longer waits on `socket`. */
export function stopWaiting(socket: WatchedSocket, exchange: SocketWaiter): void {
  socket[kPending]?.delete(exchange);
}
