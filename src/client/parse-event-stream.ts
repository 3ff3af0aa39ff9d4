// `parseEventStream`: the WHATWG event-stream parser, as an operator from body chunks to events.
import { defer, Observable, type OperatorFunction } from 'rxjs';
import { EventTooLargeError, InvalidOptionError } from '../internal/errors.js';
import { checkKnownOptions, functionOption, limitOption } from '../internal/validate.js';

/**
 * An operator that parses a `text/event-stream` body, as chunks of bytes (or text), into events,
 * exactly as the WHATWG HTML standard has browsers do it: an optional UTF-8 BOM, lines ended by
 * CRLF, LF or CR (even a CRLF split between chunks), `field: value` lines with one leading space
 * dropped, a field without a colon taken as an empty value, comments (`:`) and unknown fields
 * ignored, `id` with NUL ignored, an event dispatched at each blank line (not when its data is
 * empty), and an event not ended by a blank line when the stream ends dropped. Use it for event
 * streams that `eventSource` does not fetch, such as the answer to a POST.
 *
 * @param options - the last event id to start from, a size limit, and a `retry:` callback
 * @returns an operator from body chunks to events
 * @example
 * ```ts
 * import { createClient, post, parseEventStream } from 'rxjet/client';
 * import { switchMap } from 'rxjs';
 * const client = createClient();
 * post(client, 'http://127.0.0.1:8080/chat', { json: { prompt: 'hi' } })
 *   .pipe(switchMap((res) => res.body.pipe(parseEventStream())))
 *   .subscribe((event) => console.log(event.event, event.data));
 * ```
 */
export function parseEventStream(
  options: ParseEventStreamOptions = {},
): OperatorFunction<Uint8Array | string, ServerSentEvent> {
  if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object');
  checkKnownOptions(options, optionNames, 'parseEventStream');
  const o = options as Record<string, unknown>;
  const lastEventId = eventIdOption(o);
  const maxEventSize = limitOption(o, 'maxEventSize', defaultMaxEventSize);
  const onRetry = functionOption<(ms: number) => void>(o, 'onRetry');
  return (source) =>
    defer(() => source.pipe(parseWith(new EventStreamParser(lastEventId, maxEventSize, 'an event stream', onRetry))));
}

/** One event of an event stream, as a browser's `EventSource` dispatches it. */
export interface ServerSentEvent {
  /** The `data:` lines of the event joined with `\n`. */
  data: string;
  /** The event type: its `event:` field, or `'message'` when it has none. */
  event: string;
  /** The last event id at this event (set by this event's `id:` or an earlier one), `''` when none. */
  id: string;
}

/** Options of {@link parseEventStream}. */
export interface ParseEventStreamOptions {
  /**
   * The last event id to start from: events before any `id:` field carry it.
   * @default ''
   */
  lastEventId?: string;
  /**
   * The most characters one event may reach (its data and the line being read) before the blank
   * line that ends it; past it the stream errors with `EventTooLargeError`. `Infinity` for none.
   * @default 4194304
   */
  maxEventSize?: number;
  /** Called with the milliseconds of each valid `retry:` field, the server's reconnection delay. */
  onRetry?: (ms: number) => void;
}

/** Where the parser puts the events it dispatches. */
interface EventSink {
  next(event: ServerSentEvent): void;
  readonly closed: boolean;
}

const optionNames = ['lastEventId', 'maxEventSize', 'onRetry'];
const defaultMaxEventSize = 4 * 1024 * 1024;
const digits = /^[0-9]+$/;

/**
 * The event stream parser of the WHATWG HTML standard ("Interpreting an event stream"): UTF-8
 * with an optional BOM, lines ended by CRLF, LF or CR (a CRLF may be split between chunks), an
 * event dispatched at each blank line. It keeps the last event id across streams, as an
 * `EventSource` does across reconnections.
 */
export class EventStreamParser {
  /** The last event id string: committed by each blank line, kept across streams. */
  lastEventId: string;
  private idBuffer: string;
  private data = '';
  private type = '';
  private line = '';
  private skipLF = false;
  private started = false;
  private decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  constructor(
    lastEventId: string,
    private readonly maxEventSize: number,
    private readonly where: string,
    private readonly onRetry: ((ms: number) => void) | undefined,
  ) {
    this.lastEventId = lastEventId;
    this.idBuffer = lastEventId;
  }

  /** Starts a new stream: everything but the last event id is forgotten. */
  reset(): void {
    this.idBuffer = this.lastEventId;
    this.data = '';
    this.type = '';
    this.line = '';
    this.skipLF = false;
    this.started = false;
    this.decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  }

  /** Parses a chunk, dispatching the events it completes to `sink` while it is open. */
  write(chunk: Uint8Array | string, sink: EventSink): void {
    let text = typeof chunk === 'string' ? chunk : this.decoder.decode(chunk, { stream: true });
    if (text === '') return;
    if (!this.started) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    let start = 0;
    if (this.skipLF) {
      this.skipLF = false;
      if (text.charCodeAt(0) === 10) start = 1;
    }
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.line === '' ? text.slice(start, i) : this.line + text.slice(start, i);
      this.line = '';
      if (c === 13) {
        if (i + 1 === text.length) this.skipLF = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
      this.field(line, sink);
      if (sink.closed) return;
    }
    this.line += text.slice(start);
    if (this.data.length + this.line.length > this.maxEventSize) {
      throw new EventTooLargeError(this.where, this.maxEventSize);
    }
  }

  /** The stream ended: an event not ended by a blank line is dropped. */
  end(): void {
    this.reset();
  }

  private field(line: string, sink: EventSink): void {
    if (line === '') {
      this.dispatch(sink);
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return; // a comment
    const name = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(line.charCodeAt(colon + 1) === 32 ? colon + 2 : colon + 1);
    switch (name) {
      case 'data':
        this.data += value + '\n';
        if (this.data.length > this.maxEventSize) throw new EventTooLargeError(this.where, this.maxEventSize);
        break;
      case 'event':
        this.type = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.idBuffer = value;
        break;
      case 'retry':
        if (digits.test(value)) this.onRetry?.(Number(value));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(sink: EventSink): void {
    this.lastEventId = this.idBuffer;
    const { data, type } = this;
    this.data = '';
    this.type = '';
    if (data === '') return;
    sink.next({ data: data.slice(0, -1), event: type === '' ? 'message' : type, id: this.lastEventId });
  }
}

/** The events `parser` finds in a stream of chunks; it ends the stream at completion. */
export function parseWith(parser: EventStreamParser): OperatorFunction<Uint8Array | string, ServerSentEvent> {
  return (source) =>
    new Observable<ServerSentEvent>((subscriber) =>
      source.subscribe({
        next: (chunk) => {
          try {
            parser.write(chunk, subscriber);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => {
          parser.end();
          subscriber.complete();
        },
      }),
    );
}

/** The `lastEventId` option: a string that can be sent as a `Last-Event-ID` header. */
export function eventIdOption(options: Record<string, unknown>): string {
  const id = options.lastEventId ?? '';
  if (typeof id !== 'string' || /[\0\r\n]/.test(id)) {
    throw new InvalidOptionError('lastEventId', 'a string without NUL, CR or LF');
  }
  return id;
}
