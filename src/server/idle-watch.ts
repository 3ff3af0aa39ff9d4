// idleTimeout without a timer per connection: one sweep over the byte counts of every connection.

/** What is watched: an HTTP/1.1 socket, or an HTTP/2 session (whose `socket` counts its bytes). */
export interface Watched {
  readonly destroyed: boolean;
  destroy(): void;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

/**
 * Destroys a connection with no traffic either way for `timeout` ms (node: never), such as one
 * whose client stopped reading a response. node's own idle timeouts (`server.timeout` for
 * HTTP/1.1, a session's `setTimeout` for HTTP/2) arm a timer per request and refresh it on every
 * read and write, about 0.3 µs a request over HTTP/1.1 and 2 µs over HTTP/2. Here one timer for
 * the whole server compares each connection's byte counts four times per timeout, so a
 * connection is destroyed between `timeout` and a quarter more after its last byte.
 */
export class IdleWatch<T extends Watched> {
  private readonly watched = new Map<T, { bytes: number; since: number }>();
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param timeout - milliseconds without traffic
   * @param traffic - the bytes a connection has read and written so far
   * @param resting - whether a connection is between requests, where another timeout rules
   *   (node's `keepAliveTimeout`): it counts as active while it rests
   */
  constructor(
    private readonly timeout: number,
    private readonly traffic: (connection: T) => number,
    private readonly resting: (connection: T) => boolean = () => false,
  ) {}

  /** Watches `connection` until it closes or is {@link IdleWatch.forget}ten. */
  watch(connection: T): void {
    this.watched.set(connection, { bytes: this.traffic(connection), since: performance.now() });
    // One listener for every connection, removed again by forget: a WebSocket that takes a
    // socket over keeps nothing of this watch.
    connection.on('close', this.closed);
    if (this.timer === undefined) {
      this.timer = setInterval(this.sweep, Math.max(1, Math.floor(this.timeout / 4)));
      this.timer.unref();
    }
  }

  /** Stops watching `connection` (closed, or taken over by a WebSocket, which has heartbeats). */
  forget(connection: T): void {
    if (!this.watched.delete(connection)) return;
    connection.off('close', this.closed);
    if (this.watched.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The 'close' listener of every watched connection: node calls it with the connection as `this`. */
  private readonly closed = ((watch: IdleWatch<T>) =>
    function (this: T): void {
      watch.forget(this);
    })(this);

  private readonly sweep = (): void => {
    const now = performance.now();
    for (const [connection, seen] of this.watched) {
      if (connection.destroyed) continue; // its 'close' is on the way
      const bytes = this.traffic(connection);
      if (bytes !== seen.bytes || this.resting(connection)) {
        seen.bytes = bytes;
        seen.since = now;
      } else if (now - seen.since >= this.timeout) {
        connection.destroy();
      }
    }
  };
}

/** The bytes a socket has read and written, as its handle counts them (the way an HTTP/2 session writes too). */
export function traffic(socket: { readonly bytesRead: number; readonly bytesWritten: number }): number {
  return socket.bytesRead + socket.bytesWritten;
}
