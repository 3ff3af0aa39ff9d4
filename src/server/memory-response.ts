// A response written to memory: what `inject` runs the pipeline against.
import { HeaderRecord } from '../internal/headers.js';
import type { ResponseTarget } from './response-target.js';

/** A response as `inject` gives it. */
export interface InjectedResponse {
  /** The status code. */
  status: number;
  /** Lower-case names; a header sent more than once gives an array. */
  headers: Record<string, string | string[]>;
  /** The body decoded as UTF-8. */
  body: string;
  /** The body as sent. */
  rawBody: Uint8Array;
}

type Listener = () => void;

/**
 * A response that writes to memory: the same surface of `ServerResponse` that the pipeline
 * uses, synchronous throughout so that it runs in virtual time. The client never lags, so
 * writes never need a drain.
 */
export class MemoryResponse implements ResponseTarget {
  headersSent = false;
  writableEnded = false;
  writableFinished = false;
  readonly writableLength = 0;
  destroyed = false;
  shouldKeepAlive = true;
  private status = 0;
  /** No prototype behind it: a header named `constructor` or `__proto__` is just a header. */
  private readonly headers = new HeaderRecord() as Record<string, string | string[]>;
  private readonly chunks: Uint8Array[] = [];
  private readonly listeners = { close: new Set<Listener>(), drain: new Set<Listener>() };

  constructor(
    private readonly onEnd: (response: InjectedResponse) => void,
    private readonly onDestroy: () => void,
  ) {}

  writeHead(status: number, headers: string[]): this {
    if (this.headersSent) throw new Error('writeHead called twice');
    this.status = status;
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]!.toLowerCase();
      const value = headers[i + 1]!;
      const seen = this.headers[name];
      if (seen === undefined) this.headers[name] = value;
      else if (Array.isArray(seen)) seen.push(value);
      else this.headers[name] = [seen, value];
    }
    this.headersSent = true;
    return this;
  }

  flushHeaders(): void {
    this.headersSent = true;
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.writableEnded || this.destroyed) return false;
    this.headersSent = true;
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    return true;
  }

  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded || this.destroyed) return this;
    if (chunk !== undefined) this.write(chunk);
    this.headersSent = true;
    this.writableEnded = true;
    this.writableFinished = true;
    const rawBody = Buffer.concat(this.chunks);
    this.onEnd({ status: this.status, headers: this.headers, body: rawBody.toString('utf8'), rawBody });
    this.emit('close');
    return this;
  }

  /** The server side cut the connection. */
  destroy(): this {
    if (this.destroyed || this.writableFinished) return this;
    this.destroyed = true;
    this.onDestroy();
    this.emit('close');
    return this;
  }

  /** The client side went away. */
  disconnect(): void {
    if (this.destroyed || this.writableFinished) return;
    this.destroyed = true;
    this.emit('close');
  }

  on(event: 'close' | 'drain', listener: Listener): this {
    this.listeners[event].add(listener);
    return this;
  }

  off(event: 'close' | 'drain', listener: Listener): this {
    this.listeners[event].delete(listener);
    return this;
  }

  private emit(event: 'close' | 'drain'): void {
    for (const listener of [...this.listeners[event]]) listener();
  }
}
