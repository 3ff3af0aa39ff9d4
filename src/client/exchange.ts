// One subscription's request/response exchange: redirects, digest, cookies, timers, delivery.
import { asyncScheduler, type Subscriber, type Subscription, type Unsubscribable } from 'rxjs';
import { channels, type ClientRequestInfo } from '../internal/diagnostics.js';
import { AbortError, RedirectError, RxjetError, TimeoutError } from '../internal/errors.js';
import { HeaderRecord } from '../internal/headers.js';
import { DispatchHandler, type DispatchOwner, type ResponseHeaders } from './dispatch-handler.js';
import { decompressed } from './decompress.js';
import { digestAuthorization, digestChallenge } from './digest.js';
import type { PreparedRequest } from './prepare.js';
import { ProgressCounter } from './progress.js';
import { responseBody } from './response-body.js';
import { type ChunkSink, type ChunkSource, emptyBody, hasNoContent } from './chunk-source.js';
import { dispatch, failure, type Outgoing } from './transport.js';
import type { ClientResponse } from './types.js';
import { WholeBody } from './whole-body.js';

/**
 * One subscription to a request: sends it, follows redirects and a digest challenge with the
 * client's cookies, runs the total and signal aborts, and hands the response to the subscriber
 * (its body streamed, or read whole with `as`). It owns each attempt (one undici dispatch: the
 * first, a redirect's or a challenge's answer), is the sink of a body read whole, the signal's
 * listener and the subscription's teardown, so a request allocates little beyond it.
 *
 * Names: `prepared` is the request as the user's options made it; `outgoing` is what the current
 * attempt sends (it changes with each redirect or challenge); `attempt` is that dispatch's handler.
 */
export class ClientExchange implements DispatchOwner, ChunkSink, Unsubscribable {
  /** What the current attempt sends. */
  private outgoing: Outgoing;
  /** The current attempt's handler. */
  private attempt: DispatchHandler | undefined;
  /** The response's body, once handed on (streamed to the subscriber, or being read whole). */
  private body: ChunkSource | undefined;
  private whole: WholeBody | undefined;
  private status = 0;
  private headers: ResponseHeaders | undefined;
  /** Redirects followed so far. */
  private hop = 0;
  private visited: Set<string> | undefined;
  private answeredChallenge = false;
  private total: Subscription | undefined;
  private connecting: Subscription | undefined;
  /** When the current attempt was written (0: not yet, or not reported by the dispatcher). */
  private sentAt = 0;
  /** The headers deadline once an interim (1xx) response came: undici restarts its own at each one. */
  private interim: Subscription | undefined;
  /** Timers and the signal are let go. */
  private stopped = false;

  constructor(
    private readonly prepared: PreparedRequest,
    private readonly subscriber: Subscriber<ClientResponse<unknown>>,
  ) {
    this.outgoing = prepared.outgoing;
  }

  /** Starts the exchange; returns its teardown. */
  start(): Unsubscribable {
    if (channels.clientRequestStart.hasSubscribers) channels.clientRequestStart.publish({ request: this.info() });
    const { signal, timeouts } = this.prepared;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.stopped = true;
        this.fail(this.aborted());
        return this;
      }
      signal.addEventListener('abort', this);
    }
    if (timeouts.total > 0) {
      this.total = asyncScheduler.schedule(() => {
        this.interrupt(new TimeoutError(this.prepared.outgoing.method, this.prepared.where, 'total', timeouts.total));
      }, timeouts.total);
    }
    this.send();
    return this;
  }

  /** The subscriber left: before the response that aborts the request; after it, the body is the reader's. */
  unsubscribe(): void {
    if (this.subscriber.closed && this.stopped) return; // over: nothing left to let go
    if (this.body !== undefined && this.whole === undefined) return;
    this.stop();
    this.body?.abort();
    if (this.body === undefined) this.attempt?.abort();
  }

  /** The signal fired. */
  handleEvent(): void {
    this.interrupt(this.aborted());
  }

  private aborted(): AbortError {
    return new AbortError(this.prepared.outgoing.method, this.prepared.where, this.prepared.signal?.reason);
  }

  /** Ends the request with `error`: its reader hears it, whether the response has come or not. */
  private interrupt(error: Error): void {
    if (this.stopped) return;
    this.stop();
    if (this.body !== undefined) {
      this.attempt?.fail(error);
      return;
    }
    this.attempt?.abort(error);
    this.fail(error);
  }

  /** The request's subscriber hears `error`, and so does tracing. */
  private fail(error: unknown): void {
    if (channels.clientRequestError.hasSubscribers) {
      channels.clientRequestError.publish({ request: this.info(), error });
    }
    this.subscriber.error(error);
  }

  /** The request as tracing names it. */
  private info(): ClientRequestInfo {
    return { method: this.prepared.outgoing.method, url: this.prepared.where };
  }

  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.total?.unsubscribe();
    this.connecting?.unsubscribe();
    this.interim?.unsubscribe();
    this.prepared.signal?.removeEventListener('abort', this);
  }

  private send(): void {
    const { config } = this.prepared;
    let sent = this.outgoing;
    const jar = config.cookies;
    if (jar !== undefined && (this.hop === 0 || sent.url.origin === this.prepared.outgoing.url.origin)) {
      const cookies = jar.header(sent.url);
      if (cookies !== undefined) {
        const { cookie } = sent.headers;
        sent = {
          ...sent,
          headers: { ...sent.headers, cookie: cookie === undefined ? cookies : `${String(cookie)}; ${cookies}` },
        };
      }
    }
    const attempt = new DispatchHandler(this);
    this.attempt = attempt;
    this.sentAt = 0;
    this.interim?.unsubscribe();
    this.interim = undefined;
    if (this.prepared.timedConnect) {
      const { connect } = this.prepared.timeouts;
      this.connecting?.unsubscribe();
      this.connecting = asyncScheduler.schedule(() => {
        this.interrupt(new TimeoutError(sent.method, sent.url.href, 'connect', connect));
      }, connect);
    }
    dispatch(config.dispatcher, sent, attempt);
  }

  // the attempts' owner ------------------------------------------------------------------------

  connected(): void {
    this.connecting?.unsubscribe();
    this.connecting = undefined;
  }

  sent(attempt: DispatchHandler): void {
    if (attempt === this.attempt) this.sentAt = asyncScheduler.now();
  }

  informational(attempt: DispatchHandler): void {
    const { headers } = this.prepared.timeouts;
    if (attempt !== this.attempt || this.interim !== undefined || this.stopped || headers === 0) return;
    const waited = this.sentAt === 0 ? 0 : asyncScheduler.now() - this.sentAt;
    this.interim = asyncScheduler.schedule(
      () => this.interrupt(new TimeoutError(this.prepared.outgoing.method, this.prepared.where, 'headers', headers)),
      Math.max(0, headers - waited),
    );
  }

  failed(cause: unknown, connected: boolean): void {
    if (this.subscriber.closed) return;
    this.stop();
    this.fail(this.failure(cause, connected));
  }

  settled(attempt: DispatchHandler, failure?: unknown): void {
    if (attempt !== this.attempt || this.body === undefined) return;
    this.stop();
    // A streamed body's end is traced here; one read whole is traced as the request ends.
    if (this.whole !== undefined) return;
    if (failure === undefined) {
      if (channels.clientRequestEnd.hasSubscribers) channels.clientRequestEnd.publish({ request: this.info() });
    } else if (channels.clientRequestError.hasSubscribers) {
      channels.clientRequestError.publish({ request: this.info(), error: this.failure(failure) });
    }
  }

  response(attempt: DispatchHandler, status: number, headers: ResponseHeaders): void {
    this.interim?.unsubscribe();
    this.interim = undefined;
    const { config, hops, digest } = this.prepared;
    const outgoing = this.outgoing;
    config.cookies?.store(outgoing.url, headers['set-cookie']);
    // Digest credentials answer only the origin the user named: any other origin a redirect
    // reaches could collect the response and crack the password offline.
    if (
      status === 401 &&
      digest !== undefined &&
      !this.answeredChallenge &&
      outgoing.url.origin === this.prepared.outgoing.url.origin &&
      replayable(outgoing.body)
    ) {
      const challenge = digestChallenge(headers['www-authenticate']);
      const authorization =
        challenge &&
        digestAuthorization(challenge, digest, outgoing.method, outgoing.url.pathname + outgoing.url.search);
      if (authorization !== undefined) {
        this.answeredChallenge = true;
        attempt.discard(); // the challenge's own body is not needed
        this.outgoing = { ...outgoing, headers: { ...outgoing.headers, authorization } };
        this.send();
        return;
      }
    }
    const { location } = headers;
    if (hops === 0 || !redirects.has(status) || typeof location !== 'string') {
      this.deliver(attempt, status, headers);
      return;
    }
    const keepsBody = status === 307 || status === 308;
    if (keepsBody && !replayable(outgoing.body)) {
      this.deliver(attempt, status, headers);
      return;
    }
    const { method: firstMethod } = this.prepared.outgoing;
    let next: URL;
    try {
      next = new URL(location, outgoing.url);
    } catch {
      attempt.abort();
      this.fatal(new RedirectError(firstMethod, this.prepared.where, `a redirect to an invalid URL`));
      return;
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      attempt.abort();
      this.fatal(new RedirectError(firstMethod, this.prepared.where, `a redirect to a ${next.protocol} URL`));
      return;
    }
    if (this.hop >= hops) {
      attempt.abort();
      this.fatal(new RedirectError(firstMethod, this.prepared.where, `more than ${hops} redirects`));
      return;
    }
    const visited = (this.visited ??= new Set());
    visited.add(`${outgoing.method} ${outgoing.url.href}`);
    const method =
      status === 303
        ? outgoing.method === 'HEAD'
          ? 'HEAD'
          : 'GET'
        : !keepsBody && outgoing.method === 'POST'
          ? 'GET'
          : outgoing.method;
    if (visited.has(`${method} ${next.href}`)) {
      attempt.abort();
      this.fatal(new RedirectError(firstMethod, this.prepared.where, `redirect loop back to ${next.href}`));
      return;
    }
    attempt.discard(); // the redirect's own body is not needed; its connection goes back to the pool
    const crossing = next.origin !== outgoing.url.origin;
    const headersNext = new HeaderRecord() as unknown as Outgoing['headers'];
    for (const [name, value] of Object.entries(outgoing.headers)) {
      if (!crossing || !config.sensitiveHeaders.has(name)) headersNext[name] = value;
    }
    if (method !== outgoing.method && method === 'GET') {
      delete headersNext['content-type'];
      delete headersNext['content-length'];
    }
    this.hop++;
    this.outgoing = {
      ...outgoing,
      method,
      url: next,
      headers: headersNext,
      body: method === outgoing.method ? outgoing.body : undefined,
    };
    this.send();
  }

  private fatal(error: Error): void {
    this.stop();
    this.fail(error);
  }

  /** Hands the response on: its body streamed, or read whole first. */
  private deliver(attempt: DispatchHandler, status: number, headers: ResponseHeaders): void {
    const { config, as, progress } = this.prepared;
    const empty = hasNoContent(this.outgoing.method, status);
    let body: ChunkSource;
    if (empty) {
      // Nothing follows the head, whatever it declares; the connection finishes (or fails) unheard.
      body = emptyBody;
      this.attempt = undefined;
      attempt.discard();
    } else body = config.decompress ? decompressed(attempt, headers['content-encoding']) : attempt;
    this.body = body;
    if (channels.clientRequestHeaders.hasSubscribers) {
      channels.clientRequestHeaders.publish({ request: this.info(), status, headers });
    }
    if (empty && as === 'stream') {
      this.stop();
      if (channels.clientRequestEnd.hasSubscribers) channels.clientRequestEnd.publish({ request: this.info() });
    }
    const counted = progress === undefined || empty ? undefined : downloadCounter(progress, headers['content-length']);
    if (as === 'stream') {
      const reading = { failure: (cause: unknown) => this.failure(cause), counted };
      const response = { status, url: this.outgoing.url.href, headers, body: responseBody(body, reading) };
      this.subscriber.next(response);
      this.subscriber.complete();
      return;
    }
    const whole = new WholeBody(as, config.maxResponseSize, this.prepared.outgoing.method, this.prepared.where);
    const early = empty ? undefined : whole.declared(headers['content-length']);
    if (early !== undefined) {
      body.abort();
      this.fatal(early);
      return;
    }
    this.whole = whole;
    this.status = status;
    this.headers = headers;
    this.counted = counted;
    body.claim(this);
  }

  // the sink of a body read whole --------------------------------------------------------------

  private counted: ((size: number) => void) | undefined;

  data(chunk: Uint8Array): boolean {
    this.counted?.(chunk.byteLength);
    const tooLarge = this.whole!.add(chunk);
    if (tooLarge === undefined) return true;
    this.body!.abort();
    this.fatal(tooLarge);
    return false;
  }

  end(): void {
    this.stop();
    let body: unknown;
    try {
      body = this.whole!.decode(this.headers!['content-type']);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (channels.clientRequestEnd.hasSubscribers) channels.clientRequestEnd.publish({ request: this.info() });
    this.subscriber.next({ status: this.status, url: this.outgoing.url.href, headers: this.headers!, body });
    this.subscriber.complete();
  }

  error(cause: unknown): void {
    this.stop();
    this.fail(this.failure(cause));
  }

  /** What a failure of the exchange is raised as. */
  private failure(cause: unknown, connected = true): Error {
    if (cause instanceof RxjetError) return cause;
    const { method } = this.prepared.outgoing;
    return failure(cause, method, this.prepared.where, this.prepared.timeouts, connected);
  }
}

/** Counts a response's bytes for download progress. */
function downloadCounter(target: NonNullable<PreparedRequest['progress']>, length: string | string[] | undefined) {
  const total = typeof length === 'string' ? Number(length) : undefined;
  const counter = new ProgressCounter(target, 'download', Number.isFinite(total) ? total : undefined);
  return (size: number): void => counter.add(size);
}

const redirects = new Set([301, 302, 303, 307, 308]);

/** A body that can be sent a second time (a streamed one cannot). */
function replayable(body: Outgoing['body']): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}
