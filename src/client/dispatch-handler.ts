// undici's dispatch handler for one attempt: hands the response head to its owner and the body to one sink.
import { HeaderRecord } from '../internal/headers.js';
import type { ChunkSink, ChunkSource } from './chunk-source.js';

/**
 * One attempt's handler: undici's dispatch handler interface, so there is no stream, promise
 * or listener per response. The response body is delivered straight from the socket to one
 * sink, and pausing the sink pauses the socket.
 */
export class DispatchHandler implements ChunkSource {
  private state = State.Waiting;
  private abortConnection: ((reason: Error) => void) | undefined;
  private resumeSocket: (() => void) | undefined;
  /** An abort asked for before undici handed over a way to abort. */
  private abortReason: Error | undefined;
  private sink: ChunkSink | undefined;
  /** Chunks that arrived before the sink, or while it was paused. */
  private queue: Uint8Array[] | undefined;
  private queued = 0;
  /** The socket is paused (undici was told to wait). */
  private paused = false;
  /** The sink asked to wait: nothing more is handed to it before resume(). */
  private holding = false;
  private failure: unknown;

  constructor(private readonly owner: DispatchOwner) {}

  // undici's handler interface ----------------------------------------------------------------

  onConnect(abort: (reason: Error) => void): void {
    if (this.abortReason !== undefined) {
      abort(this.abortReason);
      return;
    }
    this.abortConnection = abort;
    this.owner.connected();
  }

  onRequestSent(): void {
    this.owner.sent(this);
  }

  onHeaders(status: number, raw: (Buffer | string | string[])[], resume: () => void): boolean {
    if (status < 200) {
      this.owner.informational(this); // the real response follows
      return true;
    }
    this.state = State.Body;
    this.resumeSocket = resume;
    try {
      this.owner.response(this, status, parseHeaders(raw));
    } catch (error) {
      // Nothing may be thrown into undici's parser: the exchange fails with it instead.
      this.state = State.Waiting;
      this.abortConnection!(error instanceof Error ? error : new Error(String(error)));
      return false;
    }
    return !this.paused;
  }

  onData(chunk: Uint8Array): boolean {
    if (chunk.byteLength === 0) return true; // undici hands one over when resumed
    const { sink } = this;
    if (sink !== undefined && !this.holding && this.queue === undefined) {
      if (sink.data(chunk)) return true;
      this.holding = true;
    } else {
      (this.queue ??= []).push(chunk);
      this.queued += chunk.byteLength;
      if (sink === undefined && this.queued < unclaimedLimit) return true;
    }
    this.paused = true;
    return false;
  }

  onComplete(): void {
    this.state = State.Ended;
    this.owner.settled(this);
    if (this.sink !== undefined && !this.holding && this.queue === undefined) this.end(this.sink);
  }

  onError(cause: unknown): void {
    const before = this.state === State.Waiting;
    this.state = State.Failed;
    this.failure = cause;
    this.queue = undefined;
    this.owner.settled(this, cause ?? new Error('the response failed'));
    if (before) this.owner.failed(cause, this.abortConnection !== undefined);
    else this.sink?.error(cause);
    this.sink = undefined;
  }

  // the body, as a ChunkSource ----------------------------------------------------------------

  claim(sink: ChunkSink): void {
    this.sink = sink;
    if (this.state === State.Failed) {
      this.sink = undefined;
      sink.error(this.failure);
    } else this.flush();
  }

  resume(): void {
    this.flush();
  }

  abort(reason?: Error): void {
    this.sink = undefined; // whoever aborts hears nothing more
    this.queue = undefined;
    if (this.state === State.Ended || this.state === State.Failed) return;
    reason ??= new Error('the response was aborted');
    if (this.abortConnection !== undefined) this.abortConnection(reason);
    else this.abortReason = reason;
  }

  /** Ends the exchange with `reason`, which the body's reader hears (now, or when it claims the body). */
  fail(reason: Error): void {
    if (this.state !== State.Body) return;
    if (this.abortConnection !== undefined) this.abortConnection(reason);
  }

  discard(): void {
    if (this.state !== State.Failed) this.claim(new Discard(this));
  }

  /** Hands queued chunks to the sink while it takes them, then lets the socket go on. */
  private flush(): void {
    const { sink } = this;
    if (sink === undefined) return;
    this.holding = false;
    const { queue } = this;
    if (queue !== undefined) {
      while (queue.length > 0) {
        const chunk = queue.shift()!;
        this.queued -= chunk.byteLength;
        const more = sink.data(chunk);
        if (this.sink !== sink) return; // aborted from inside the sink
        if (!more) {
          this.holding = true;
          break;
        }
      }
      if (queue.length === 0) this.queue = undefined;
      if (this.holding) return;
    }
    if (this.state === State.Ended) this.end(sink);
    else if (this.paused && this.state === State.Body) {
      this.paused = false;
      this.resumeSocket!();
    }
  }

  private end(sink: ChunkSink): void {
    this.sink = undefined;
    sink.end();
  }
}

/** Response headers: lower-case names, a repeated header as an array. */
export type ResponseHeaders = Record<string, string | string[] | undefined>;

/** Who hears about a dispatch: the exchange it is an attempt of. */
export interface DispatchOwner {
  /** A connection has been assigned and the request is being written. */
  connected(): void;
  /** The whole request, body included, has been written. */
  sent(handler: DispatchHandler): void;
  /** An interim (1xx) response came; the final one is still to come. */
  informational(handler: DispatchHandler): void;
  /** The response's headers have arrived; its body is the handler (a {@link ChunkSource}). */
  response(handler: DispatchHandler, status: number, headers: ResponseHeaders): void;
  /** The dispatch failed before a response came; `connected` says whether a connection had taken it. */
  failed(cause: unknown, connected: boolean): void;
  /** The dispatch is over (ended, or failed or aborted with `failure`): stop its timers. */
  settled(handler: DispatchHandler, failure?: unknown): void;
}

/** Bytes of a body kept before anyone reads it; more pauses the socket. */
const unclaimedLimit = 64 * 1024;

/** Bytes of an unread body read to keep its connection; more closes the connection instead. */
const discardLimit = 64 * 1024;

const enum State {
  Waiting,
  Body,
  Ended,
  Failed,
}

/** Reads and drops what is left of a body, up to {@link discardLimit}. */
class Discard implements ChunkSink {
  private size = 0;
  constructor(private readonly handler: DispatchHandler) {}
  data(chunk: Uint8Array): boolean {
    this.size += chunk.byteLength;
    if (this.size <= discardLimit) return true;
    this.handler.abort();
    return false;
  }
  end(): void {
    // the connection goes back to the pool
  }
  error(): void {
    // nobody is listening
  }
}

/**
 * undici's raw header list as an object: lower-case names, repeats gathered into arrays. It has
 * no `Object.prototype` behind it, so a name the server did not send (`constructor`, say) reads
 * as undefined, and `__proto__` is a header like any other.
 */
export function parseHeaders(raw: readonly (Buffer | string | string[])[]): ResponseHeaders {
  const headers = new HeaderRecord() as unknown as ResponseHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString().toLowerCase();
    const given = raw[i + 1]!;
    const value = Array.isArray(given) ? given.map(String) : given.toString('latin1');
    const known = headers[name];
    if (known === undefined) headers[name] = value;
    else headers[name] = [...(Array.isArray(known) ? known : [known]), ...(Array.isArray(value) ? value : [value])];
  }
  return headers;
}
