import { ClientAbortedError } from '../internal/errors.js';
import type { JetRequest } from './types.js';

/** Where a request keeps what is not part of its public shape; copied along when it is spread. */
export const kContext: unique symbol = Symbol('rxjet.request');

/**
 * Per-request state the pipeline and the body helpers share: the lazily made abort signal and
 * the body-size limit the server was given.
 */
export class RequestContext {
  private controller: AbortController | undefined;
  private reason: Error | undefined;

  /**
   * @param maxBodySize - the default limit of the body helpers (`text`, `json`, `form`)
   */
  constructor(readonly maxBodySize: number) {}

  /** The request's `signal`, made on first use: most handlers never ask for it. */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Aborts the signal once; later calls keep the first reason. */
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
