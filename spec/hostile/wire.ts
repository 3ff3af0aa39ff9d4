import net from 'node:net';
import { once } from 'node:events';
import { eventually, until, within } from '../helpers.js';

// Raw HTTP/1.1 over net for the hostile specs: send exact bytes, read exactly what came back.

/** A response as read off the wire. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits what a server sent into HTTP/1.1 responses (framed by content-length, chunked, or the
 * connection closing); `trailing` is whatever is not a whole response.
 */
export function parseResponses(raw: string): { responses: WireResponse[]; trailing: string } {
  const responses: WireResponse[] = [];
  let at = 0;
  while (at < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', at);
    if (headEnd === -1) break;
    const [statusLine = '', ...lines] = raw.slice(at, headEnd).split('\r\n');
    const status = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine)?.[1];
    if (status === undefined) break;
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let next = headEnd + 4;
    let body = '';
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
      for (;;) {
        const lineEnd = raw.indexOf('\r\n', next);
        if (lineEnd === -1) return { responses, trailing: raw.slice(at) };
        const size = Number.parseInt(raw.slice(next, lineEnd), 16);
        if (Number.isNaN(size)) return { responses, trailing: raw.slice(at) };
        next = lineEnd + 2;
        if (raw.length < next + size + 2) return { responses, trailing: raw.slice(at) };
        body += raw.slice(next, next + size);
        next += size + 2;
        if (size === 0) break; // (rxjet and node send no trailers)
      }
    } else if (headers['content-length'] !== undefined) {
      const length = Number(headers['content-length']);
      if (raw.length < next + length) break;
      body = raw.slice(next, next + length);
      next += length;
    } else {
      body = raw.slice(next); // delimited by the connection closing: any later bytes land here
      next = raw.length;
    }
    responses.push({ status: Number(status), headers, body });
    at = next;
  }
  return { responses, trailing: raw.slice(at) };
}

/** A raw TCP client on 127.0.0.1 that records everything the server sends. */
export class RawClient {
  received = '';
  closed = false;
  readonly socket: net.Socket;
  private readonly closing: Promise<void>;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    // The server may reset a connection it refuses while request bytes are still unread.
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    this.closing = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  async connected(): Promise<this> {
    await within(5000, once(this.socket, 'connect'), 'the connection');
    return this;
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Waits until `count` whole responses have arrived. */
  async responses(count: number, what: string): Promise<WireResponse[]> {
    await until(() => parseResponses(this.received).responses.length >= count, what, 5000);
    return parseResponses(this.received).responses;
  }

  /** Waits (at most `ms`) for the server to close the connection; true if it did. */
  async closedWithin(ms: number): Promise<boolean> {
    await within(ms, this.closing, 'the server to close the connection').catch(() => undefined);
    return this.closed;
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Sends `request` on a fresh connection and reads until the server closes it (at most 3 s). */
export async function exchange(port: number, request: string | Buffer): Promise<{ received: string; closed: boolean }> {
  const client = await new RawClient(port).connected();
  try {
    client.write(request);
    const closed = await client.closedWithin(3000);
    return { received: client.received, closed };
  } finally {
    client.destroy();
  }
}

/** Resolves once the server holds no connection and no exchange. */
export async function drained(server: { stats(): Promise<{ connections: number; requests: number }> }): Promise<void> {
  await eventually(
    () => server.stats(),
    (now) => now.connections === 0 && now.requests === 0,
    'the server to hold no connection and no exchange',
  );
}
