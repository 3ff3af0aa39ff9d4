import { Readable } from 'node:stream';
import {
  asyncScheduler,
  isObservable,
  type Observable,
  type Observer,
  type Subscriber,
  type Subscription,
  type Unsubscribable,
} from 'rxjs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { subscriberOf } from '../internal/subscriber-of.js';
import {
  ClientAbortedError,
  ContentLengthMismatchError,
  describe,
  HandlerError,
  HandlerTimeoutError,
  HttpError,
  InvalidChunkError,
  InvalidResponseError,
  ResponseStreamError,
  RxjetError,
  BodyOverflowError,
  statusText,
} from '../internal/errors.js';
import { channels } from '../internal/diagnostics.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import { kEndsOnClose, type Endable, type PipelineConfig } from './pipeline-config.js';
import { contextOf } from '../internal/request-context.js';
import { type Head, prepareHead } from './response-head.js';
import type { ResponseTarget } from './response-target.js';
import { plainResponse, toResponse } from './to-response.js';
import type { BodyChunk, Handler, JetRequest } from './types.js';
import type { WebSocketHandler } from '../websocket/types.js';

/**
 * One request's way from handler to wire: runs the handler, turns what it answers into a
 * response, streams the body with backpressure, and tears everything down when the client goes
 * away. `serve` and `inject` both drive it.
 *
 * A plain response object is written at once, with no Observable, Promise or listener made.
 */
export class Exchange implements Endable {
  /** What is running for this request now: the handler's subscription, then the body's. */
  private live: Unsubscribable | undefined;
  private timer: Subscription | undefined;
  private watching = false;
  /** Set once the exchange has ended (answered, broken or abandoned): nothing more happens. */
  private over = false;
  /** The status sent, once the head is written (for tracing). */
  private status = 0;
  /** A streaming response's head, until its body's first byte, end or failure. */
  private pending: Head | undefined;

  /**
   * @param upgrade - on an upgrade request, accepts the WebSocket when the handler answers
   *   `{ websocket }`; absent for plain requests, which get 426 for such an answer
   */
  constructor(
    private readonly req: JetRequest,
    private readonly res: ResponseTarget,
    private readonly config: PipelineConfig,
    private readonly upgrade?: (handler: WebSocketHandler) => void,
  ) {
    if (channels.serverRequestStart.hasSubscribers) channels.serverRequestStart.publish({ request: req });
  }

  /** Runs `handler` for this request. */
  run(handler: Handler): void {
    let result: unknown;
    try {
      result = handler(this.req);
    } catch (error) {
      this.fail(error);
      return;
    }
    this.accept(result);
  }

  /** Answers without calling a handler: 503 while the server closes, 431 for too many headers, 400 for ambiguous framing. */
  refuse(status: 400 | 431 | 503): void {
    if (status !== 503) this.res.shouldKeepAlive = false;
    this.sendError(status);
  }

  /** `'GET /path'`, for messages. */
  where(): string {
    return `${this.req.method} ${this.req.url}`;
  }

  /**
   * Adopts what the handler returned. Its user code (a Promise-like's `then`, an Observable's
   * `subscribe`, a response's getters, a body's iterator) runs here, outside the handler call
   * and often in a callback, where a throw would end the process: it fails the exchange instead.
   */
  private accept(result: unknown): void {
    try {
      if (result == null) {
        this.sendError(404);
      } else if (isObservable(result) || typeof (result as PromiseLike<unknown>).then === 'function') {
        // Observables and Promises are adopted by the one function middleware uses too; a plain
        // response (the common case) is written at once.
        this.subscribeTo(toResponse(result));
      } else {
        this.respond(result);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private subscribeTo(result: Observable<unknown>): void {
    const answer = new HandlerAnswer(this);
    const subscriber = subscriberOf<unknown>(answer);
    answer.subscriber = subscriber;
    result.subscribe(subscriber);
    // Most Observable handlers answer during subscribe; only a pending one needs the watch
    // for the client going away (which cannot happen while this code runs) and the timer.
    if (subscriber.closed) return;
    this.live = subscriber;
    if (this.watch()) this.startTimer();
  }

  /** @internal The handler's Observable has answered (or ended): it is unsubscribed and its timer stopped. */
  settle(subscriber: Subscriber<unknown>): boolean {
    if (subscriber.closed) return false;
    subscriber.unsubscribe();
    if (this.live === subscriber) this.live = undefined;
    this.stopTimer();
    return true;
  }

  /** @internal The handler's Observable emitted its answer (inside RxJS's `next`, where a throw is never caught). */
  answer(response: unknown): void {
    try {
      this.respond(response);
    } catch (error) {
      this.fail(error);
    }
  }

  /** @internal */
  failWith(error: unknown): void {
    this.fail(error);
  }

  /** @internal */
  noAnswer(): void {
    this.sendError(404);
  }

  private respond(response: unknown): void {
    if (this.over) return;
    if (response == null) {
      this.sendError(404);
      return;
    }
    const websocket = (response as { websocket?: unknown }).websocket;
    if (typeof websocket === 'function') {
      if (this.upgrade === undefined) {
        this.sendError(426, 'This resource speaks WebSocket only.', { upgrade: 'websocket' });
      } else {
        this.over = true;
        this.stopTimer();
        this.upgrade(websocket as WebSocketHandler);
      }
      return;
    }
    let head: Head;
    try {
      if (typeof response !== 'object') {
        throw new InvalidResponseError(this.where(), `expected a response object, got ${describe(response)}`);
      }
      head = prepareHead(response, this);
    } catch (error) {
      this.fail(error);
      return;
    }
    const { plan, declaredLength } = head;
    const bodyless = this.req.method === 'HEAD' || head.status === 204 || head.status === 304;
    if (plan.kind === 'fixed') {
      const body = bodyless ? undefined : plan.body;
      if (declaredLength >= 0 && !bodyless) {
        const size = byteSize(body ?? '');
        if (size !== declaredLength) {
          this.fail(new ContentLengthMismatchError(this.where(), declaredLength, `has ${size}`));
          return;
        }
      }
      this.over = true;
      this.stopTimer();
      if (this.writeHead(head)) this.end(body);
      return;
    }
    if (bodyless) {
      if (plan.body instanceof Readable) plan.body.destroy();
      this.over = true;
      if (this.writeHead(head)) this.end();
      return;
    }
    // A streaming body's head waits for its first byte (or its end): a body that fails before
    // then is answered as a failing handler is, rather than with a head and a cut connection.
    this.pending = head;
    if (plan.kind === 'push') this.push(plan.body, declaredLength);
    else void this.pull(plan.body, declaredLength);
  }

  /** Writes the head that waits for the body's first byte, if any; false if node refused it. */
  private openHead(): boolean {
    const head = this.pending;
    if (head === undefined) return true;
    this.pending = undefined;
    return this.writeHead(head);
  }

  /** The body failed: answered as a failing handler while nothing is on the wire, else the connection is cut. */
  private bodyFailed(error: unknown): void {
    if (this.over) return;
    if (this.pending !== undefined) {
      this.pending = undefined;
      this.fail(error instanceof ResponseStreamError ? error.cause : error);
    } else {
      this.breakStream(error instanceof RxjetError ? error : new ResponseStreamError(this.where(), error));
    }
  }

  private push(body: Observable<BodyChunk>, declared: number): void {
    if (!this.watch()) return;
    const { res } = this;
    const { highWaterMark, overflow } = this.config;
    let written = 0;
    const subscriber = subscriberOf<BodyChunk>({
      next: (chunk) => {
        if (this.over) return;
        const size = byteSize(chunk);
        if (size <= 0) {
          if (size < 0) this.bodyFailed(new InvalidChunkError(this.where(), chunk));
          return;
        }
        const buffered = res.writableLength;
        if (buffered > 0 && buffered + size > highWaterMark) {
          if (overflow === 'error') this.bodyFailed(new BodyOverflowError(this.where(), highWaterMark));
          return;
        }
        if (declared >= 0 && written + size > declared) {
          this.bodyFailed(new ContentLengthMismatchError(this.where(), declared, 'has more than'));
          return;
        }
        if (!this.openHead()) return;
        written += size;
        res.write(chunk);
      },
      error: (error: unknown) => this.bodyFailed(new ResponseStreamError(this.where(), error)),
      complete: () => this.finish(declared, written),
    });
    this.live = subscriber;
    if ((body as { [kEndsOnClose]?: true })[kEndsOnClose] === true) this.config.endOnClose.add(this);
    body.subscribe(subscriber);
    // Nothing came during subscribe: send the head now, so that the client sees it while it waits.
    if (!this.over && this.pending !== undefined && this.openHead()) res.flushHeaders();
  }

  private async pull(body: AsyncIterable<BodyChunk> | Readable, declared: number): Promise<void> {
    if (!this.watch()) return;
    let iterator: AsyncIterator<unknown>;
    try {
      iterator =
        body instanceof Readable
          ? iterateReadable(body, {
              destroyOnReturn: true,
              failure: (cause) => new ResponseStreamError(this.where(), cause ?? new Error('the stream closed early')),
            })
          : body[Symbol.asyncIterator]();
    } catch (error) {
      this.bodyFailed(error);
      return;
    }
    this.live = { unsubscribe: () => closeIterator(iterator) };
    const { res } = this;
    let written = 0;
    try {
      for (;;) {
        const step = await iterator.next();
        if (this.over) return;
        if (step.done === true) break;
        const chunk: unknown = step.value;
        const size = byteSize(chunk);
        if (size <= 0) {
          if (size < 0) {
            this.bodyFailed(new InvalidChunkError(this.where(), chunk));
            return;
          }
          continue;
        }
        if (declared >= 0 && written + size > declared) {
          this.bodyFailed(new ContentLengthMismatchError(this.where(), declared, 'has more than'));
          return;
        }
        if (!this.openHead()) return;
        written += size;
        if (!res.write(chunk as BodyChunk)) {
          await this.drained();
          if (this.over) return;
        }
      }
      this.live = undefined;
      this.finish(declared, written);
    } catch (error) {
      this.live = undefined;
      this.bodyFailed(error);
    }
  }

  private finish(declared: number, written: number): void {
    if (this.over) return;
    if (declared >= 0 && written !== declared) {
      this.bodyFailed(new ContentLengthMismatchError(this.where(), declared, `has ${written}`));
      return;
    }
    if (!this.openHead()) return;
    this.over = true;
    this.end();
  }

  /** Ends the response: all of it has been handed to node. */
  private end(body?: string | Uint8Array): void {
    this.res.end(body);
    if (channels.serverRequestEnd.hasSubscribers) {
      channels.serverRequestEnd.publish({ request: this.req, status: this.status });
    }
  }

  private traceHead(status: number): void {
    this.status = status;
    if (channels.serverResponseHead.hasSubscribers) {
      channels.serverResponseHead.publish({ request: this.req, status });
    }
  }

  /** Resolves when the client has taken what was written, or has gone. */
  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        this.res.off('drain', done);
        this.res.off('close', done);
        resolve();
      };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }

  private writeHead(head: Head): boolean {
    if (this.config.closing) this.res.shouldKeepAlive = false;
    try {
      this.res.writeHead(head.status, head.headers);
      if (head.obsText) this.res.write(noBytes); // the head goes out alone, as latin1
      this.traceHead(head.status);
      return true;
    } catch (error) {
      this.over = false;
      this.fail(new InvalidResponseError(this.where(), `node refused the head (${String(error)})`));
      return false;
    }
  }

  /** Answers a failure before the head, or breaks the connection after it. */
  private fail(error: unknown): void {
    if (this.over) return;
    // A handler failing because its client left (its request body cut off, say) is the client
    // leaving, on HTTP/1.1 and HTTP/2 alike, whichever of the two node reports first.
    if (error instanceof ClientAbortedError || this.res.destroyed) {
      this.abandon();
      return;
    }
    if (this.res.headersSent) {
      this.breakStream(new ResponseStreamError(this.where(), error));
      return;
    }
    if (error instanceof HttpError) {
      this.sendError(error.status, error.message, error.headers);
      return;
    }
    const reported =
      error instanceof RxjetError && error.code !== 'RXJET_ERR_HTTP' ? error : new HandlerError(this.where(), error);
    this.report(reported);
    this.sendError(error instanceof HandlerTimeoutError ? 503 : 500);
  }

  private sendError(status: number, message = statusText(status), headers?: HttpError['headers']): void {
    if (this.over) return;
    this.over = true;
    this.stopTimer();
    this.live?.unsubscribe();
    this.live = undefined;
    const response = plainResponse(status, message, headers);
    let head: Head;
    try {
      head = prepareHead(response, this);
    } catch (error) {
      this.report(error as Error);
      // The HttpError's own headers could not be sent: the plain 500 can.
      head = prepareHead(plainResponse(500), this);
    }
    if (this.config.closing) this.res.shouldKeepAlive = false;
    this.res.writeHead(head.status, head.headers);
    if (head.obsText) this.res.write(noBytes); // the head goes out alone, as latin1
    this.traceHead(head.status);
    this.end(this.req.method === 'HEAD' ? undefined : (head.plan.body as string));
  }

  /** After the head: the only honest signal left is to cut the connection. */
  private breakStream(error: RxjetError): void {
    if (this.over) return;
    this.over = true;
    this.stopLive();
    contextOf(this.req)?.abort(error);
    this.report(error);
    this.res.destroy();
  }

  /** Starts listening for the client going away; false if it already has. */
  private watch(): boolean {
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

  /** @internal The server is closing: a body that ends on close ends now, cleanly, as if it had completed. */
  endEarly(): void {
    if (this.over) return;
    this.stopLive();
    this.finish(-1, 0);
  }

  /** @internal The response closed, or its socket did before the response could: the exchange is over. */
  readonly closed = (): void => {
    if (!this.watching) return;
    this.watching = false;
    this.config.endOnClose.delete(this);
    this.res.off('close', this.closed);
    const socket = socketOf(this.res);
    if (socket !== undefined) socket[kPending]?.delete(this);
    const { config } = this;
    config.active--;
    if (!this.res.writableFinished) this.abandon();
    if (config.closing) config.onSettled?.();
  };

  /** The client went away: stop everything that runs for it and abort its signal. */
  private abandon(): void {
    if (this.over) return;
    this.over = true;
    this.stopLive();
    const error = new ClientAbortedError(this.where());
    contextOf(this.req)?.abort(error);
    this.traceError(error);
  }

  private traceError(error: Error): void {
    if (channels.serverRequestError.hasSubscribers) channels.serverRequestError.publish({ request: this.req, error });
  }

  private startTimer(): void {
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

  private stopTimer(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  private stopLive(): void {
    this.stopTimer();
    const live = this.live;
    this.live = undefined;
    live?.unsubscribe();
  }

  private report(error: Error): void {
    this.traceError(error);
    this.config.report(error, this.req);
  }
}

/** Bytes in a chunk, or -1 for something that is not a chunk. */
function byteSize(chunk: unknown): number {
  if (typeof chunk === 'string') return chunk.length === 0 ? 0 : Buffer.byteLength(chunk);
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return -1;
}

function closeIterator(iterator: AsyncIterator<unknown>): void {
  try {
    const closing = iterator.return?.();
    if (closing !== undefined) closing.then(undefined, () => undefined);
  } catch {
    // the source failed while closing; the exchange is over either way
  }
}

/**
 * What the handler's Observable emits into: its first value is the response, an error a 500, an
 * empty end a 404. One object per request rather than an observer of closures.
 */
class HandlerAnswer implements Observer<unknown> {
  subscriber!: Subscriber<unknown>;
  constructor(private readonly exchange: Exchange) {}
  next(response: unknown): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.answer(response);
  }
  error(error: unknown): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.failWith(error);
  }
  complete(): void {
    if (this.exchange.settle(this.subscriber)) this.exchange.noAnswer();
  }
}

/** Written to send a head with obs-text on its own: node writes a head in latin1 only before bytes. */
const noBytes = new Uint8Array(0);

/** Where a socket keeps its exchanges still waiting for an answer; one shared listener serves them. */
const kPending = Symbol('rxjet.pending');
type WatchedSocket = Socket & { [kPending]?: Set<Exchange> };

/** The socket under a node response (undefined for in-memory ones). */
function socketOf(res: ResponseTarget): WatchedSocket | undefined {
  return (res as Partial<ServerResponse>).req?.socket;
}

function pendingOn(socket: WatchedSocket): Set<Exchange> {
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
