import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';

/**
 * Hostile peers for the client specs, on 127.0.0.1 with port 0: a `node:http` server for
 * attacks that stay within HTTP's grammar, and a raw `net` server for those that do not. Every
 * peer, its sockets and its timers are let go by `closeAll()` (for `afterEach`).
 */
export class HostilePeers {
  private readonly servers: (http.Server | net.Server)[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  /** A node:http server answering every request with `handler`. */
  async http(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; port: number }> {
    const server = http.createServer(handler);
    server.on('connection', (socket) => this.track(socket));
    return this.listen(server);
  }

  /** A raw TCP server that calls `respond` once the first bytes of each connection arrive. */
  async raw(respond: (socket: net.Socket, request: string) => void): Promise<{ url: string; port: number }> {
    const server = net.createServer((socket) => {
      this.track(socket);
      socket.once('data', (data: Buffer) => respond(socket, data.toString('latin1')));
    });
    return this.listen(server);
  }

  /** Calls `tick` every `ms` until the peers are closed, or until `tick` returns false. */
  every(ms: number, tick: () => boolean): void {
    const timer = setInterval(() => {
      if (!tick()) {
        clearInterval(timer);
        this.timers.delete(timer);
      }
    }, ms);
    this.timers.add(timer);
  }

  /** Stops every timer, destroys every socket and closes every server. */
  async closeAll(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await Promise.all(
      this.servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }

  private track(socket: net.Socket): void {
    socket.on('error', () => undefined);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private async listen(server: http.Server | net.Server): Promise<{ url: string; port: number }> {
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, port };
  }
}

/** What a promise failed with, or undefined when it did not fail. */
export const failureOf = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/** Resolves after the event loop has gone round `turns` times: deferred work of the client has run by then. */
export async function turns(count = 2): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}
