// `eventSource`: a reconnecting Server-Sent Events stream over the client, as a browser's EventSource.
import { Buffer } from 'node:buffer';
import {
  asyncScheduler,
  defer,
  EMPTY,
  type Observable,
  repeat,
  retry,
  type SchedulerLike,
  switchMap,
  tap,
  throwError,
  timer,
} from 'rxjs';
import {
  describe,
  EventSourceResponseError,
  InvalidOptionError,
  NetworkError,
  TimeoutError,
} from '../internal/errors.js';
import { headerValueProblem } from '../internal/headers.js';
import { checkKnownOptions, integerOption, limitOption } from '../internal/validate.js';
import { type Client, kClient } from './create-client.js';
import { get } from './methods.js';
import { eventIdOption, EventStreamParser, parseWith, type ServerSentEvent } from './parse-event-stream.js';
import type { ClientResponse, MethodOptions } from './types.js';

/** Options of {@link eventSource}: a few request options, and how to reconnect. */
export interface EventSourceOptions extends Pick<
  MethodOptions,
  'query' | 'basicAuth' | 'bearer' | 'digestAuth' | 'timeout' | 'followRedirects' | 'signal'
> {
  /** Request headers; `accept`, `cache-control` and `last-event-id` are eventSource's own. */
  headers?: Record<string, string | readonly string[]>;
  /**
   * Milliseconds to wait before reconnecting, until the server sets another with `retry:`.
   * @default 3000
   */
  retry?: number;
  /**
   * Reconnections in a row that may bring no event (the connection failed, or the stream ended
   * before one) before giving up: the Observable then errors with the last error, or completes if
   * the last stream ended cleanly. The count starts again at each event, not at each stream that
   * opens: a server answering 200 and closing at once must not reconnect it forever.
   * @default Infinity
   */
  maxReconnects?: number;
  /**
   * The longest wait between reconnections while backing off. The first three reconnections
   * since the last event (or the start) wait the retry delay; while no event comes, each later
   * one waits at least 1 s, then 2 s, 4 s, … up to this (or the retry delay, when longer), as the
   * HTML standard suggests for a server that keeps failing. 0 turns the backoff off.
   * @default 60000
   */
  maxBackoff?: number;
  /**
   * The last event id to resume from: sent as `Last-Event-ID` on the first request too.
   * @default ''
   */
  lastEventId?: string;
  /**
   * The most characters one event may reach before its blank line; past it the Observable errors
   * with `EventTooLargeError`. `Infinity` for none.
   * @default 4194304
   */
  maxEventSize?: number;
  /**
   * Where reconnection delays are scheduled: RxJS's `TestScheduler` in marble tests.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

const optionNames = [
  'headers',
  'query',
  'basicAuth',
  'bearer',
  'digestAuth',
  'timeout',
  'followRedirects',
  'signal',
  'retry',
  'maxReconnects',
  'maxBackoff',
  'lastEventId',
  'maxEventSize',
  'scheduler',
];
const requestOptionNames = optionNames.slice(0, 8);
const maxDelay = 2 ** 31 - 1;

/** Reconnections since the last event that wait only the retry delay, before backing off. */
const quietBeforeBackoff = 3;
/** The first wait once backing off, doubled at each further reconnection without an event. */
const firstBackoff = 1000;

/**
 * The wait before the `quiet`-th reconnection since the last event: the retry delay for the first
 * few (a server restarting is back at once), then at least 1 s, 2 s, 4 s, … up to `maxBackoff`,
 * so a server that answers `retry: 0` and closes at once cannot make the client hammer it.
 */
function reconnectDelay(delay: number, quiet: number, maxBackoff: number): number {
  if (quiet <= quietBeforeBackoff) return delay;
  return Math.max(delay, Math.min(maxBackoff, firstBackoff * 2 ** (quiet - quietBeforeBackoff - 1)));
}

/**
 * Server-Sent Events over the client, as a browser's `EventSource` reads them: a cold Observable
 * that sends `GET url` with `accept: text/event-stream` when subscribed, emits each event of the
 * stream as `{ data, event, id }` (parsed as {@link parseEventStream} does), and reconnects when
 * the stream ends or fails on the network (`NetworkError`, `TimeoutError`), after the `retry`
 * delay (or the server's `retry:`), sending the last event id as `Last-Event-ID`. A 204 answer
 * completes it (the server says stop); any other status but 200, or a content type other than
 * `text/event-stream`, errors with `EventSourceResponseError` and does not reconnect.
 * Unsubscribing aborts the request or closes the stream. When connections keep bringing no
 * event, reconnections back off (see `maxBackoff`), so a server answering `retry: 0` and
 * closing at once cannot make the client hammer it.
 *
 * It uses the client's pool, default headers, cookies, redirects and timeouts. The body timeout
 * (30 s by default) also finds out a dead connection, which is then reconnected: keep it above
 * the server's heartbeat period (rxjet's `sse` sends one every 15 s), or set `timeout: { body: 0 }`.
 * Once the client is closed it no longer reconnects; since `close()` lets requests in flight
 * finish, unsubscribe from open streams first (or let the server end them).
 *
 * @param client - from {@link createClient}
 * @param url - absolute, or relative to the client's `baseUrl`
 * @param options - request options, the reconnection delay and limit, the last event id
 * @returns a cold Observable of the events
 * @example
 * ```ts
 * import { createClient, eventSource } from 'rxjet/client';
 * import { filter } from 'rxjs';
 * const client = createClient();
 * eventSource(client, 'http://127.0.0.1:8080/ticks', { retry: 1000 })
 *   .pipe(filter((e) => e.event === 'tick'))
 *   .subscribe((e) => console.log(e.id, e.data));
 * ```
 */
export function eventSource(
  client: Client,
  url: string | URL,
  options: EventSourceOptions = {},
): Observable<ServerSentEvent> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object');
  checkKnownOptions(options, optionNames, 'eventSource');
  const o = options as Record<string, unknown>;
  const initialDelay = integerOption(o, 'retry', 3000, 0, maxDelay);
  const maxReconnects = o.maxReconnects === Infinity ? Infinity : integerOption(o, 'maxReconnects', Infinity, 0);
  const maxBackoff = integerOption(o, 'maxBackoff', 60_000, 0, maxDelay);
  const initialId = eventIdOption(o);
  const maxEventSize = limitOption(o, 'maxEventSize', 4 * 1024 * 1024);
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new InvalidOptionError('scheduler', `an RxJS scheduler, got ${describe(scheduler)}`);
  }
  const base: MethodOptions = {};
  for (const name of requestOptionNames) {
    if (o[name] !== undefined) (base as Record<string, unknown>)[name] = o[name];
  }
  const connect = (lastId: string): Observable<ClientResponse> =>
    get(client, url, {
      ...base,
      headers: {
        ...options.headers,
        accept: 'text/event-stream',
        'cache-control': 'no-cache',
        ...idHeader(lastId),
      },
    });
  connect(initialId); // checks the client, URL and request options now; sends nothing

  return defer(() => {
    let delay = initialDelay;
    /** Reconnections since the last event: they count toward maxReconnects and the backoff. */
    let quiet = 0;
    let stopped = false;
    const parser = new EventStreamParser(initialId, maxEventSize, `the event stream of ${String(url)}`, (ms) => {
      delay = Math.min(ms, maxDelay);
    });
    /** The wait before the next connection, or undefined when there is to be none. */
    const again = (): Observable<0> | undefined =>
      stopped || isClosed(client) || ++quiet > maxReconnects
        ? undefined
        : timer(reconnectDelay(delay, quiet, maxBackoff), scheduler);
    return defer(() => {
      parser.reset();
      return connect(parser.lastEventId);
    }).pipe(
      switchMap((res) => {
        if (res.status === 204) {
          stopped = true;
          return EMPTY;
        }
        const type = res.headers['content-type'];
        const contentType = Array.isArray(type) ? type[0] : type;
        if (res.status !== 200 || !isEventStream(contentType)) {
          return throwError(() => new EventSourceResponseError('GET', res.url, res.status, contentType));
        }
        return res.body.pipe(
          parseWith(parser),
          tap(() => (quiet = 0)),
        );
      }),
      retry({
        delay: (error: unknown) => {
          const wait = error instanceof NetworkError || error instanceof TimeoutError ? again() : undefined;
          return wait ?? throwError(() => error);
        },
      }),
      repeat({ delay: () => again() ?? EMPTY }),
    );
  });
}

/**
 * The `Last-Event-ID` header for an id, in UTF-8 as browsers send it (undici writes each character
 * of a header as one byte); none for `''`, or for an id no header can carry (a control character).
 */
function idHeader(id: string): { 'last-event-id': string } | undefined {
  if (id === '') return undefined;
  const bytes = Buffer.from(id, 'utf8').toString('latin1');
  return headerValueProblem(bytes) === undefined ? { 'last-event-id': bytes } : undefined;
}

/** A closed client cannot send again: reconnecting would fail at once, forever. */
function isClosed(client: Client): boolean {
  const dispatcher = client[kClient].dispatcher as { closed?: boolean; destroyed?: boolean };
  return dispatcher.closed === true || dispatcher.destroyed === true;
}

function isEventStream(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'text/event-stream';
}
