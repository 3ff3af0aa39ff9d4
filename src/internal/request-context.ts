// What a request keeps out of its public shape: its limits and its lazily made abort signal.
import { ClientAbortedError } from './errors.js';
import type { JetRequest } from '../types.js';

/** Where a request keeps what is not part of its public shape. */
export const kContext: unique symbol = Symbol('rxjet.request');

/** Per-request state the pipeline and the body helpers share with the request. */
export interface RequestContext {
  /** The default limit of the body helpers (`text`, `json`, `form`). */
  readonly maxBodySize: number;
  /** Aborts the request's signal once; later calls keep the first reason. */
  abort(reason: Error): void;
  /**
   * The rest of the body is not wanted (a multipart reading was left or failed): over HTTP/1.1
   * no more of it is read, and the connection ends with the response instead of draining it.
   * Only served requests have a socket to stop.
   */
  stopReading?(): void;
}

/**
 * An abort signal made on first use: most handlers never ask for one, and an AbortController
 * costs more than the rest of a request map together.
 */
export class LazySignal {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: Error = new ClientAbortedError('the request')): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}

/** The context of a request made by rxjet, or undefined for a hand-made one. */
export function contextOf(req: JetRequest): RequestContext | undefined {
  return (req as { [kContext]?: RequestContext })[kContext];
}
