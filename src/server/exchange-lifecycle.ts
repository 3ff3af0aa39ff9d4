// An exchange's lifecycle: what runs for it (the handler's subscription, then the body's), the
// handler timeout, watching for the client going away, and teardown when it does.
import { asyncScheduler, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { channels } from '../internal/diagnostics.js';
import { ClientAbortedError, HandlerTimeoutError } from '../internal/errors.js';
import { contextOf } from '../internal/request-context.js';
import type { Endable, PipelineConfig } from './pipeline-config.js';
import type { ResponseTarget } from './response-target.js';
import { pendingOn, socketOf, stopWaiting } from './socket-waiters.js';
import type { JetRequest } from './types.js';

/**
 * The part of an exchange that is about its life rather than its answer: `Exchange` extends
 * it with answering and writing. Nothing here writes to the response.
 */
export abstract class ExchangeLifecycle implements Endable {
  /** What is running for this request now: the handler's subscription, then the body's. */
  protected live: Unsubscribable | undefined;
  private timer: Subscription | undefined;
  private watching = false;
  /** Set once the exchange has ended (answered, broken or abandoned): nothing more happens. */
  protected over = false;

  /** The status sent, once the head is written (for tracing). */
  private status = 0;

  constructor(
    /** @internal */
    readonly req: JetRequest,
    /** @internal */
    readonly res: ResponseTarget,
    /** @internal */
    readonly config: PipelineConfig,
  ) {}

  /** Answers a failure (the handler timing out, here). */
  protected abstract fail(error: unknown): void;

  /** @internal The server is closing: a body that ends on close ends now. */
  abstract endEarly(): void;

  /** `'GET /path'`, for messages. */
  where(): string {
    return `${this.req.method} ${this.req.url}`;
  }

  /** @internal Starts listening for the client going away; false if it already has. */
  watch(): boolean {
    if (!this.watching) {
      this.watching = true;
      const socket = socketOf(this.res);
      if (this.res.destroyed || socket?.destroyed === true) {
        this.abandon();
      } else {
        this.config.active++;
        this.res.on('close', this.closed);
        // A response queued behind an unanswered pipelined one never closes if the socket does.
        if (socket !== undefined) pendingOn(socket).add(this);
      }
    }
    return !this.over;
  }

  /** @internal */
  ended(): boolean {
    return this.over;
  }

  /** @internal */
  hold(live: Unsubscribable | undefined): void {
    this.live = live;
  }

  /** @internal The response closed, or its socket did before the response could: the exchange is over. */
  readonly closed = (): void => {
    if (!this.watching) return;
    this.watching = false;
    this.config.endOnClose.delete(this);
    this.res.off('close', this.closed);
    const socket = socketOf(this.res);
    if (socket !== undefined) stopWaiting(socket, this);
    const { config } = this;
    config.active--;
    if (!this.res.writableFinished) this.abandon();
    if (config.closing) config.onSettled?.();
  };

  /** The client went away: stop everything that runs for it and abort its signal. */
  protected abandon(): void {
    if (this.over) return;
    this.over = true;
    this.stopLive();
    const error = new ClientAbortedError(this.where());
    contextOf(this.req)?.abort(error);
    this.traceError(error);
  }

  protected traceError(error: Error): void {
    if (channels.serverRequestError.hasSubscribers) channels.serverRequestError.publish({ request: this.req, error });
  }

  protected startTimer(): void {
    const { handlerTimeout } = this.config;
    if (handlerTimeout > 0 && this.timer === undefined) {
      this.timer = asyncScheduler.schedule(() => {
        this.timer = undefined;
        if (this.over) return;
        const error = new HandlerTimeoutError(this.where(), handlerTimeout);
        this.live?.unsubscribe();
        this.live = undefined;
        contextOf(this.req)?.abort(error);
        this.fail(error);
      }, handlerTimeout);
    }
  }

  protected stopTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  protected stopLive(): void {
    this.stopTimer();
    const live = this.live;
    this.live = undefined;
    live?.unsubscribe();
  }

  protected report(error: Error): void {
    this.traceError(error);
    this.config.report(error, this.req);
  }

  /** @internal The handler's Observable has answered (or ended): it is unsubscribed and its timer stopped. */
  settle(subscriber: Subscriber<unknown>): boolean {
    if (subscriber.closed) return false;
    subscriber.unsubscribe();
    if (this.live === subscriber) this.live = undefined;
    this.stopTimer();
    return true;
  }

  /** Ends the response: all of it has been handed to node. */
  protected end(body?: string | Uint8Array): void {
    this.res.end(body);
    if (channels.serverRequestEnd.hasSubscribers) {
      channels.serverRequestEnd.publish({ request: this.req, status: this.status });
    }
  }

  protected traceHead(status: number): void {
    this.status = status;
    if (channels.serverResponseHead.hasSubscribers) {
      channels.serverResponseHead.publish({ request: this.req, status });
    }
  }
}
