// `requestLog()`: one log entry per request, written when its response has finished.
import { isObservable, Observable, type Subscription } from 'rxjs';
import {
  ClientAbortedError,
  describe,
  HttpError,
  InvalidOptionError,
  ResponseStreamError,
} from '../internal/errors.js';
import { checkKnownOptions } from '../internal/validate.js';
import { answerNow, eager } from '../router/compose.js';
import type { Middleware } from '../router/types.js';
import { byteSize } from '../server/body-writer.js';
import { errorResponse } from '../server/to-response.js';
import type { JetRequest, JetResponse } from '../server/types.js';
import { countedBody, type BodyCounter } from './counted-body.js';
import { failureOf, headerOf } from './response-headers.js';

/** Options of {@link requestLog}. */
export interface RequestLogOptions {
  /** Where the entries go: pino, bunyan, or anything with `info(object)` (and `error(object)`). */
  logger: RequestLogger;
}

/** The part of a pino-style logger {@link requestLog} uses. */
export interface RequestLogger {
  /**
   * Logs one finished request.
   *
   * @param entry - the request's method, path, status, duration and body bytes
   */
  info(entry: RequestLogEntry): void;
  /**
   * Logs a response that broke after its head was sent (its body failed mid-stream); without
   * it, `info` gets those too.
   *
   * @param entry - as for `info`, with `err`
   */
  error?(entry: RequestLogEntry): void;
}

/** What {@link requestLog} logs for one request. */
export interface RequestLogEntry {
  /** The request's method. */
  method: string;
  /** The request's path, without the query (which may hold secrets). */
  path: string;
  /**
   * The status answered: for an error below, the status the server answers it with; 499 when
   * the client went away before any answer.
   */
  status: number;
  /** Milliseconds from the request reaching the middleware to its response finishing. */
  durationMs: number;
  /**
   * Body bytes answered from below (strings counted as UTF-8), before any compression above:
   * for a streaming body, the chunks that passed before it ended; for an error below, the body
   * of the answer the server makes for it; 0 for HEAD, 204 and 304.
   */
  bytes: number;
  /** The request's id, from `requestId()` (`req.id`, or the answer's `x-request-id`). */
  id?: string;
  /** Set when the response did not finish: the client went away (or something above stopped it). */
  aborted?: true;
  /**
   * What failed: the error an answer stands for (not an `HttpError`), or the body's failure.
   * Named `err` as pino and bunyan name it, so that their error serializer writes its message
   * and stack (an `Error` under another name logs as `{}`).
   */
  err?: unknown;
}

/**
 * Logs each request once, when its response has finished: `logger.info({ method, path, status,
 * durationMs, bytes, id })`.
 *
 * "Finished" is when a whole body (a string, bytes, nothing) has been answered, or when a
 * streaming body (an Observable, async iterable or `Readable`) completes, fails, or is cut
 * short because the client went away (`aborted: true`). Exactly one entry per request in every
 * case, errors below included: an `HttpError` is logged with its status, anything else with the
 * status the server answers (500, or 503 for a timeout) and the error as `err`. A body that fails after
 * its first bytes is logged with `logger.error` when the logger has it.
 *
 * Streaming bodies are counted as they pass, without changing how they are sent: a push
 * Observable stays one, and a pull body (an async iterable, a `Readable`, a `pullable`) is still
 * read only as fast as the client reads.
 *
 * @param options - `logger`
 * @returns the middleware
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { requestId, requestLog } from 'rxjet/middleware';
 * import { serve } from 'rxjet/server';
 *
 * const logger = { info: (entry: object) => console.log(JSON.stringify(entry)) };
 * const app = router()
 *   .use(requestId(), requestLog({ logger }))
 *   .get('/', () => ({ body: 'hi' }));
 * // {"method":"GET","path":"/","status":200,"durationMs":0.412,"bytes":2,"id":"…"}
 * await serve({ handler: app, port: 8080 });
 * ```
 */
export function requestLog(options: RequestLogOptions): Middleware {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object with a logger, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'requestLog');
  const { logger } = options as { logger?: unknown };
  if (logger === null || (typeof logger !== 'object' && typeof logger !== 'function')) {
    throw new InvalidOptionError('logger', `a logger with an info(object) method, got ${describe(logger)}`);
  }
  const { info, error } = logger as { info?: unknown; error?: unknown };
  if (typeof info !== 'function') {
    throw new InvalidOptionError('logger.info', `a function, got ${describe(info)}`);
  }
  if (error !== undefined && typeof error !== 'function') {
    throw new InvalidOptionError('logger.error', `a function or nothing, got ${describe(error)}`);
  }
  const sink = logger as RequestLogger;

  return eager((req, run) => {
    const entry = new PendingEntry(req, sink);
    let answer: JetResponse | Observable<JetResponse>;
    try {
      answer = answerNow(run, req);
    } catch (failure) {
      entry.failedBelow(failure);
      throw failure;
    }
    if (!isObservable(answer)) {
      const counted = entry.answered(answer);
      // A whole body is done once answered; a streaming one is handed over in an Observable, so
      // that whatever takes it has opened it by the time its entry may be written.
      if (counted === answer && !entry.streaming()) {
        entry.handedOver();
        return counted;
      }
      return new Observable<JetResponse>((subscriber) => {
        subscriber.next(counted);
        entry.handedOver();
        subscriber.complete();
      });
    }
    const below$ = answer;
    return new Observable<JetResponse>((subscriber) => {
      let settled = false;
      const below: Subscription = below$.subscribe({
        next: (res) => {
          settled = true;
          const counted = entry.answered(res);
          subscriber.next(counted);
          // Whatever took the answer has opened a streaming body by now; a body nobody opened
          // (the answer was replaced above, or the server refused it) will never finish.
          entry.handedOver();
        },
        error: (failure: unknown) => {
          settled = true;
          subscriber.error(failure);
          entry.failedBelow(failure);
        },
        complete: () => subscriber.complete(),
      });
      return () => {
        below.unsubscribe();
        if (!settled) entry.stopped();
      };
    });
  });
}

const optionNames = ['logger'];

/** Where the body of an answer stands, for its entry. */
type BodyState = 'whole' | 'waiting' | 'open';

/** One request's entry, written exactly once. */
class PendingEntry implements BodyCounter {
  private readonly started = performance.now();
  private written = false;
  private status = 499;
  private response: JetResponse | undefined;
  private body: BodyState = 'whole';
  private bytes = 0;

  constructor(
    private readonly req: JetRequest,
    private readonly logger: RequestLogger,
  ) {}

  /** The answer below arrived: a streaming body is counted as it passes, anything else is done. */
  answered(res: JetResponse): JetResponse {
    this.response = res;
    if (typeof (res as { websocket?: unknown }).websocket === 'function') {
      this.status = isUpgrade(this.req) ? 101 : 426;
      return res;
    }
    this.status = res.status ?? 200;
    const { body } = res;
    // Nothing of these is sent: a streaming body is never read (a Readable is destroyed).
    if (this.req.method === 'HEAD' || this.status === 204 || this.status === 304) return res;
    if (body == null || typeof body === 'string' || body instanceof Uint8Array) {
      this.bytes = body == null ? 0 : byteSize(body);
      return res;
    }
    const counted = countedBody(body, this);
    if (counted === undefined) return res;
    this.body = 'waiting';
    return { ...res, body: counted };
  }

  /** Whether the answer's body is counted as it streams. */
  streaming(): boolean {
    return this.body !== 'whole';
  }

  /** The answer has been handed to whatever is above: a whole body is done now. */
  handedOver(): void {
    if (this.body !== 'open') this.write(this.status, failureOf(this.response ?? {}));
  }

  /** A streaming body was opened: it decides when the entry is written. */
  opened(): void {
    this.body = 'open';
  }

  /** A chunk of the streaming body passed. */
  count(chunk: unknown): void {
    const size = byteSize(chunk);
    if (size > 0) this.bytes += size;
  }

  /** `'GET /path'`, for messages. */
  requestLine(): string {
    return `${this.req.method} ${this.req.url}`;
  }

  /** The streaming body completed. */
  completed(): void {
    this.write(this.status, undefined);
  }

  /** The streaming body failed: answered as a failing handler before its first byte, else cut. */
  failed(error: unknown): void {
    const cause = error instanceof ResponseStreamError ? error.cause : error;
    if (this.bytes === 0) {
      this.failedBelow(cause);
    } else {
      this.write(this.status, cause, true);
    }
  }

  /**
   * Unsubscribed before the end: the client went away, the server broke the response, or
   * something above stopped it. The server aborts `req.signal` right after unsubscribing when
   * the client leaves (and before, when it breaks the response), so the reason is read from
   * there, waiting at most a microtask for it.
   */
  stopped(): void {
    if (this.written) return;
    let signal: AbortSignal | undefined;
    try {
      signal = this.req.signal;
    } catch {
      signal = undefined;
    }
    if (signal === undefined || signal.aborted) {
      this.cut(signal?.reason);
      return;
    }
    const onAbort = (): void => this.cut(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    queueMicrotask(() => {
      signal.removeEventListener('abort', onAbort);
      this.cut(undefined);
    });
  }

  private cut(reason: unknown): void {
    if (reason instanceof ClientAbortedError || (reason === undefined && this.response === undefined)) {
      this.write(this.status, undefined, false, true);
    } else if (reason === undefined) {
      // Ended by the server (an `sse()` stream when it closes) or by something above: what went out, went out.
      this.write(this.status, undefined);
    } else if (this.response !== undefined && this.bytes > 0) {
      this.write(this.status, reason, true);
    } else {
      this.failedBelow(reason);
    }
  }

  /** An error the server answers itself (as `errorResponse` does): its status and body. */
  failedBelow(error: unknown): void {
    const answer = errorResponse(error);
    this.bytes = this.req.method === 'HEAD' ? 0 : byteSize(answer.body ?? '');
    this.write(answer.status ?? 500, error instanceof HttpError ? undefined : error);
  }

  private write(status: number, error: unknown, broken = false, aborted = false): void {
    if (this.written) return;
    this.written = true;
    const { req } = this;
    const entry: RequestLogEntry = {
      method: req.method,
      path: req.path,
      status,
      durationMs: Math.round((performance.now() - this.started) * 1000) / 1000,
      bytes: this.bytes,
    };
    const id = (req as { id?: unknown }).id;
    const known = typeof id === 'string' ? id : headerOf(this.response?.headers, 'x-request-id');
    if (known !== undefined) entry.id = known;
    if (aborted) entry.aborted = true;
    if (error !== undefined) entry.err = error;
    // Guarded: a throw here would land in a socket event or an RxJS callback and end the process.
    try {
      if (broken && this.logger.error !== undefined) this.logger.error(entry);
      else this.logger.info(entry);
    } catch (error) {
      console.error("rxjet: requestLog's logger threw", error, 'logging', entry);
    }
  }
}

function isUpgrade(req: JetRequest): boolean {
  return req.headers.upgrade?.toLowerCase() === 'websocket';
}
