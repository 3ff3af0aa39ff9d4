// One request's way from handler to wire: answering and failing. Its lifecycle and teardown are
// exchange-lifecycle.ts's, writing a streaming body body-writer.ts's.
import { Readable } from 'node:stream';
import { isObservable, type Observable } from 'rxjs';
import { subscriberOf } from '../internal/subscriber-of.js';
import {
  ClientAbortedError,
  ContentLengthMismatchError,
  describe,
  HandlerTimeoutError,
  HttpError,
  InvalidResponseError,
  ResponseStreamError,
  RxjetError,
  statusText,
} from '../internal/errors.js';
import { channels } from '../internal/diagnostics.js';
import { contextOf } from '../internal/request-context.js';
import { byteSize, writePull, writePush, type BodyWriting } from './body-writer.js';
import { ExchangeLifecycle } from './exchange-lifecycle.js';
import { HandlerAnswer, type Answerable } from './handler-answer.js';
import type { PipelineConfig } from './pipeline-config.js';
import { type Head, prepareHead } from './response-head.js';
import type { ResponseTarget } from './response-target.js';
import { kFailure, plainResponse, reportable, toResponse } from './to-response.js';
import type { Handler, JetRequest } from './types.js';
import type { WebSocketHandler } from '../websocket/types.js';

/**
 * One request's way from handler to wire: runs the handler, turns what it answers into a
 * response, streams the body with backpressure, and tears everything down when the client goes
 * away. `serve` and `inject` both drive it.
 *
 * A plain response object is written at once, with no Observable, Promise or listener made.
 */
export class Exchange extends ExchangeLifecycle implements BodyWriting, Answerable {
  /** A streaming response's head, until its body's first byte, end or failure. */
  private pending: Head | undefined;

  /**
   * @param upgrade - on an upgrade request, accepts the WebSocket when the handler answers
   *   `{ websocket }`; absent for plain requests, which get 426 for such an answer
   */
  constructor(
    req: JetRequest,
    res: ResponseTarget,
    config: PipelineConfig,
    private readonly upgrade?: (handler: WebSocketHandler, headers: readonly string[]) => void,
  ) {
    super(req, res, config);
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

  /**
   * Adopts what the handler returned. Its user code (a Promise-like's `then`, an Observable's
   * `subscribe`, a response's getters, a body's iterator) runs here, outside the handler call
   * and often in a callback, where a throw would end the process: it fails the exchange instead.
   */
  private accept(result: unknown): void {
    try {
      if (result == null) {
        this.sendError(404);
      } else if (isObservable(result)) {
        // Subscribed as it is: its first value is the answer (null: 404), an empty end a 404,
        // as `toResponse` adopts it, without a second subscription in between.
        this.subscribeTo(result);
      } else if (typeof (result as PromiseLike<unknown>).then === 'function') {
        // A Promise is adopted by the one function middleware uses too; a plain response (the
        // common case) is written at once.
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

  /** @internal The handler's Observable emitted its answer (inside RxJS's `next`, where a throw is never caught). */
  answer(response: unknown): void {
    try {
      this.respond(response);
    } catch (error) {
      this.fail(error);
    }
  }

  /** @internal The handler's Observable failed. */
  failWith(error: unknown): void {
    this.fail(error);
  }

  /** @internal The handler's Observable completed empty. */
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
        // The answer's headers go out with the 101 (a request id, a cookie), checked as any head's.
        let headers: readonly string[] = noHeaders;
        const given = (response as { headers?: unknown }).headers;
        if (given != null) {
          try {
            headers = prepareHead({ headers: given }, this).headers;
          } catch (error) {
            this.fail(error);
            return;
          }
        }
        this.over = true;
        this.stopTimer();
        this.upgrade(websocket as WebSocketHandler, headers);
      }
      return;
    }
    // An error a middleware answered itself (errorResponse): reported as if it had reached here.
    const failure = (response as { [kFailure]?: unknown })[kFailure];
    if (failure !== undefined) this.report(reportable(failure, this.where()));
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
    if (plan.kind === 'push') writePush(this, plan.body, declaredLength);
    else void writePull(this, plan.body, declaredLength);
  }

  /** @internal Writes the head that waits for the body's first byte, if any; false if node refused it. */
  openHead(): boolean {
    const head = this.pending;
    if (head === undefined) return true;
    this.pending = undefined;
    return this.writeHead(head);
  }

  /** @internal The body failed: answered as a failing handler while nothing is on the wire, else the connection is cut. */
  bodyFailed(error: unknown): void {
    if (this.over) return;
    if (this.pending !== undefined) {
      this.pending = undefined;
      this.fail(error instanceof ResponseStreamError ? error.cause : error);
    } else {
      this.breakStream(error instanceof RxjetError ? error : new ResponseStreamError(this.where(), error));
    }
  }

  /** @internal */
  finish(declared: number, written: number): void {
    if (this.over) return;
    if (declared >= 0 && written !== declared) {
      this.bodyFailed(new ContentLengthMismatchError(this.where(), declared, `has ${written}`));
      return;
    }
    if (!this.openHead()) return;
    this.over = true;
    this.end();
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
  protected fail(error: unknown): void {
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
    this.report(reportable(error, this.where()));
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

  /** @internal */
  headPending(): boolean {
    return this.pending !== undefined;
  }

  /** @internal The server is closing: a body that ends on close ends now, cleanly, as if it had completed. */
  endEarly(): void {
    if (this.over) return;
    this.stopLive();
    this.finish(-1, 0);
  }
}

/** Written to send a head with obs-text on its own: node writes a head in latin1 only before bytes. */
const noBytes = new Uint8Array(0);
const noHeaders: readonly string[] = [];
