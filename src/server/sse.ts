// Server-Sent Events: `sse()` formats events with heartbeats; `lastEventId()` reads where a client
// resumes.
import { Buffer } from 'node:buffer';
import { asyncScheduler, isObservable, Observable, type SchedulerAction, type SchedulerLike } from 'rxjs';
import { describe, InvalidEventError, InvalidOptionError } from '../internal/errors.js';
import type { OutgoingHeaders } from '../internal/headers.js';
import { checkKnownOptions, integerOption } from '../internal/validate.js';
import type { JetRequest, JetResponse } from './types.js';
import { kEndsOnClose } from './pipeline-config.js';

/**
 * One server-sent event with its fields. Only `data` reaches a browser's `onmessage`; `event`
 * names the event type (`addEventListener(event, …)`), `id` becomes the `Last-Event-ID` a
 * reconnecting client sends, and `retry` tells the client how long to wait before reconnecting.
 */
export interface SseMessage {
  /**
   * The payload. A string is sent as is, split on CRLF, CR and LF into one `data:` line each (the
   * client joins them with `\n`). Anything else is sent as its JSON (`JSON.stringify`); `undefined`
   * sends no data at all, so the event only sets `id` or `retry` and no client dispatches it.
   */
  data: unknown;
  /** The event type; no CR or LF. Absent or `''`, the client calls it `'message'`. */
  event?: string;
  /** The event id; no CR, LF or NUL. `''` clears the client's last event id. */
  id?: string | number;
  /** Milliseconds the client waits before reconnecting: a non-negative integer. */
  retry?: number;
}

/** What {@link sse} sends: a string (one event of that data) or an {@link SseMessage}. */
export type SseEvent = string | SseMessage;

/** Options of {@link sse}. */
export interface SseOptions {
  /**
   * Milliseconds of silence after which a comment line (`:`) is sent, so that proxies and load
   * balancers keep the connection open and a dead client is found out. The period restarts after
   * each event, so a busy stream carries no heartbeats. `0` turns them off.
   * @default 15000
   */
  heartbeat?: number;
  /**
   * A `retry:` sent first, in milliseconds: how long a client waits before reconnecting.
   * @default none: clients keep their own delay (3000 ms in browsers and eventSource)
   */
  retry?: number;
  /**
   * More response headers; they win over the defaults (`cache-control`, say), whatever their case.
   * They are checked as any response header is (a bad one gives a 500).
   * @default none: `content-type`, `cache-control` and `x-accel-buffering` only
   */
  headers?: OutgoingHeaders;
  /**
   * Where heartbeats are scheduled: RxJS's `TestScheduler` in marble tests.
   * @default asyncScheduler
   */
  scheduler?: SchedulerLike;
}

/**
 * A Server-Sent Events response: each value of `events$` is written as one `text/event-stream`
 * event the moment it comes, with heartbeat comments while it is quiet. Cold like any body: the
 * server subscribes to `events$` when it writes the response and unsubscribes (ending the
 * heartbeat too) when the client disconnects. `events$` completing ends the response (a browser
 * then reconnects after its retry delay; answer 204 to make it stop); an error, or an event that
 * cannot be written ({@link InvalidEventError}), breaks the connection.
 *
 * The response is a 200 with `content-type: text/event-stream; charset=utf-8`,
 * `cache-control: no-cache` and `x-accel-buffering: no` (so nginx does not hold events back).
 * A slow client is bounded like any push body, by the server's `highWaterMark` and `overflow`.
 *
 * @param events$ - the events: strings, or `{ data, event?, id?, retry? }`
 * @param options - heartbeat period, initial retry, extra headers, scheduler
 * @returns a response to answer with
 * @example
 * ```ts
 * import { serve, sse, lastEventId } from 'rxjet/server';
 * import { interval, map } from 'rxjs';
 * await serve({
 *   port: 8080,
 *   handler: (req) => {
 *     const from = Number(lastEventId(req) ?? 0);
 *     return sse(interval(1000).pipe(map((i) => ({ id: from + i + 1, event: 'tick', data: { at: Date.now() } }))));
 *   },
 * });
 * ```
 */
export function sse(events$: Observable<SseEvent>, options: SseOptions = {}): JetResponse {
  if (!isObservable(events$)) throw new InvalidOptionError('events$', 'an Observable of events');
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object');
  checkKnownOptions(options, optionNames, 'sse');
  const o = options as Record<string, unknown>;
  const heartbeat = integerOption(o, 'heartbeat', 15_000, 0, maxDelay);
  const retry = o.retry === undefined ? undefined : integerOption(o, 'retry', 0, 0);
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw new InvalidOptionError('scheduler', `an RxJS scheduler, got ${describe(scheduler)}`);
  }
  const headers = responseHeaders(options.headers);
  const body = new Observable<string>((subscriber) => {
    if (retry !== undefined) subscriber.next(`retry: ${retry}\n\n`);
    let last = scheduler.now();
    if (heartbeat > 0) {
      // One timer for the whole stream: at each due time it looks at how long the stream has been quiet.
      subscriber.add(
        scheduler.schedule(function (this: SchedulerAction<undefined>) {
          const quiet = scheduler.now() - last;
          if (quiet >= heartbeat) {
            last = scheduler.now();
            subscriber.next(heartbeatComment);
            this.schedule(undefined, heartbeat);
          } else this.schedule(undefined, heartbeat - quiet);
        }, heartbeat),
      );
    }
    subscriber.add(
      events$.subscribe({
        next: (event) => {
          let text: string;
          try {
            text = formatEvent(event);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (text === '') return;
          last = scheduler.now();
          subscriber.next(text);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
  });
  return { status: 200, headers, body: Object.assign(body, { [kEndsOnClose]: true }) };
}

const optionNames = ['heartbeat', 'retry', 'headers', 'scheduler'];
const maxDelay = 2 ** 31 - 1;
const heartbeatComment = ':\n\n';
const lineBreak = /\r\n|\r|\n/;
const lineBreakChar = /[\r\n]/;
const idProblem = /[\r\n\0]/;

/**
 * The id of the last event a reconnecting client saw: its `Last-Event-ID` header, sent by
 * browsers' `EventSource` and by `eventSource` (from `rxjet/client`), so a handler can resume after it.
 *
 * @param req - the request
 * @returns the id (decoded from UTF-8, as clients send it), or `undefined` when the header is
 *   absent or empty
 * @example
 * ```ts
 * import { serve, sse, lastEventId } from 'rxjet/server';
 * import { interval, map } from 'rxjs';
 * await serve({
 *   port: 8080,
 *   handler: (req) => {
 *     const after = Number(lastEventId(req) ?? 0); // the last id this client saw, on a reconnection
 *     return sse(interval(1000).pipe(map((i) => ({ id: after + i + 1, data: `event ${after + i + 1}` }))));
 *   },
 * });
 * ```
 */
export function lastEventId(req: Pick<JetRequest, 'headers'>): string | undefined {
  const id = req.headers['last-event-id'];
  if (id === undefined || id === '') return undefined;
  // Clients send it as UTF-8, as the HTML standard has them do; node reads header bytes as latin1.
  return /[\x80-\xff]/.test(id) && !/[\u0100-\uffff]/.test(id) ? Buffer.from(id, 'latin1').toString('utf8') : id;
}

/** The text of one event, ending with its blank line; `''` when it has no field at all. */
function formatEvent(event: SseEvent): string {
  if (typeof event === 'string') return dataLines(event) + '\n';
  if (event === null || typeof event !== 'object') {
    throw new InvalidEventError(`expected a string or { data, event?, id?, retry? }, got ${describe(event)}`);
  }
  let text = '';
  const { id, event: type, retry } = event;
  if (id !== undefined) {
    if (typeof id === 'number' ? !Number.isFinite(id) : typeof id !== 'string' || idProblem.test(id)) {
      throw new InvalidEventError(
        `the id must be a finite number or a string without CR, LF or NUL, got ${describe(id)}`,
      );
    }
    text += `id: ${id}\n`;
  }
  if (type !== undefined && type !== '') {
    if (typeof type !== 'string' || lineBreakChar.test(type)) {
      throw new InvalidEventError(`the event type must be a string without CR or LF, got ${describe(type)}`);
    }
    text += `event: ${type}\n`;
  }
  if (retry !== undefined) {
    if (typeof retry !== 'number' || !Number.isSafeInteger(retry) || retry < 0) {
      throw new InvalidEventError(`retry must be a non-negative integer, got ${describe(retry)}`);
    }
    text += `retry: ${retry}\n`;
  }
  const { data } = event;
  if (data !== undefined) text += dataLines(typeof data === 'string' ? data : serialize(data));
  return text === '' ? '' : text + '\n';
}

function dataLines(data: string): string {
  return data.split(lineBreak).reduce((lines, line) => `${lines}data: ${line}\n`, '');
}

function serialize(data: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch (error) {
    throw new InvalidEventError(`the data could not be turned into JSON`, { cause: error });
  }
  if (json === undefined) throw new InvalidEventError(`the data has no JSON form (${describe(data)})`);
  return json;
}

function responseHeaders(extra: OutgoingHeaders | undefined): OutgoingHeaders {
  const defaults: OutgoingHeaders = {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no',
  };
  if (extra === undefined) return defaults;
  if (extra === null || typeof extra !== 'object') throw new InvalidOptionError('headers', 'an object of headers');
  const given = Object.entries(extra);
  const overridden = new Set(given.map(([name]) => name.toLowerCase()));
  return Object.fromEntries([
    ...Object.entries(defaults).filter(([name]) => !overridden.has(name)),
    ...given.filter(([, value]) => value !== undefined),
  ]);
}
