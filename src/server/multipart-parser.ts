// The framing of multipart/form-data: @fastify/busboy's Dicer finds the boundaries and header
// blocks; this file reads each part's head strictly and hands its bytes on, all synchronously.
import type { Dicer } from '@fastify/busboy';
import { busboyPackage } from '../internal/packages.js';
import { HttpError } from '../internal/errors.js';
import { isToken, parseParameterized, utf8Header } from './multipart-params.js';

/** What a part's headers say. */
export interface PartHead {
  /** The `name` of its Content-Disposition. */
  name: string;
  /** The `filename` (or `filename*`) of its Content-Disposition; present means a file. */
  filename: string | undefined;
  /** Its Content-Type as sent, `text/plain` when it has none (RFC 7578). */
  contentType: string;
  /** Its headers, names lower-cased, repeats joined with `', '`. */
  headers: Record<string, string>;
}

/** Where a part's bytes go. `data` returning false asks the parser to wait for `resume()`. */
export interface PartSink {
  data(chunk: Buffer): boolean;
  end(): void;
}

/** What the parser tells its owner. `part` may throw an `HttpError` (a limit), which fails the parse. */
export interface ParserEvents {
  part(head: PartHead): PartSink;
  /** The closing delimiter was read. */
  finish(): void;
  fail(error: unknown): void;
}

/** The limits the parser applies to each part's head. */
export interface HeadLimits {
  maxHeaderSize: number;
  maxHeaderPairs: number;
}

/** Dicer's part streams, as Dicer itself drives them: `push` hands bytes on, `_read` asks for more. */
interface PartStream {
  push(chunk: Buffer | null): boolean;
  _read(size?: number): void;
  emit(event: 'end'): boolean;
  on(event: 'header', listener: () => void): unknown;
}

/** The one piece of Dicer's header parser read here: the raw block, and whether it hit its size. */
interface HeaderParser {
  buffer: string;
  maxed: boolean;
  _parseHeader(): void;
}

/** Bytes of transport padding after a delimiter that do not count toward `maxHeaderSize`. */
const paddingAllowance = 256;

/**
 * A synchronous multipart/form-data tokenizer over Dicer. Dicer is taken at the protocol level
 * its part streams speak (`push`, `_read`, `'end'`): node's Readable would hand bytes and ends on
 * later ticks, which costs a tick per chunk and takes parsing out of virtual time. Dicer's own
 * header parsing is lenient (it stops at a bad line and truncates a long block without a word),
 * so the raw block is read here instead, and refused when it is bad (400) or too large (413).
 */
export class FormDataParser {
  private readonly dicer: Dicer;
  private stopped = false;
  /** The head of the part being read, from its header block; an error when the block is refused. */
  private head: PartHead | HttpError | undefined;
  private lastPart: PartStream | undefined;
  /** A delimiter was seen: the boundary is in the body. */
  sawPart = false;
  /** The closing delimiter was read. */
  finished = false;

  constructor(
    boundary: string,
    private readonly limits: HeadLimits,
    private readonly events: ParserEvents,
  ) {
    // maxHeaderSize is read by Dicer's header parser though its typings leave it out.
    const config = { boundary, maxHeaderSize: limits.maxHeaderSize + 2 + paddingAllowance };
    const dicer = new (busboyPackage().Dicer)(config);
    this.dicer = dicer;
    const headerParser = (dicer as unknown as { _hparser?: Partial<HeaderParser> })._hparser;
    if (typeof headerParser?._parseHeader !== 'function' || typeof headerParser.buffer !== 'string') {
      throw new Error('@fastify/busboy has changed: its Dicer has no header parser to read part heads from.');
    }
    const read = (block: string, maxed: boolean): void => {
      this.head = readHead(block, maxed, this.limits);
    };
    headerParser._parseHeader = function (this: HeaderParser) {
      read(this.buffer, this.maxed);
    };
    dicer.on('part', (part: PartStream) => this.onPart(part));
    dicer.on('finish', () => {
      if (this.stopped) return;
      this.finished = true;
      this.events.finish();
    });
    // Dicer reports a body cut short only when ended; it never is (the owner sees the end itself).
    dicer.on('error', () => undefined);
  }

  /** Parses a chunk; parts, bytes and errors reach the events before it returns. */
  write(chunk: Uint8Array): void {
    if (this.stopped) return;
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      this.dicer.write(buffer);
    } catch (error) {
      this.fail(error);
    }
  }

  /** Bytes written and not parsed yet: a sink said "no more" while they were on their way. */
  get pending(): boolean {
    return !this.stopped && this.dicer.writableLength > 0;
  }

  /** A sink that said "no more" can take bytes again. */
  resume(): void {
    if (this.stopped) return;
    try {
      this.lastPart?._read();
    } catch (error) {
      this.fail(error);
    }
  }

  /** Stops parsing for good: nothing more reaches the events. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.dicer.destroy();
  }

  private fail(error: unknown): void {
    if (this.stopped) return;
    this.stop();
    this.events.fail(error);
  }

  private onPart(part: PartStream): void {
    this.sawPart = true;
    this.lastPart = part;
    this.head = undefined;
    let sink: PartSink | undefined;
    let headed = false;
    part.push = (chunk) => {
      if (chunk === null) {
        // Dicer counts a part as done on its 'end', which a Readable would emit a tick later.
        part.emit('end');
        if (this.stopped) return false;
        if (!headed) this.fail(new HttpError(400, 'A part of the multipart body has no blank line after its headers.'));
        else this.guard(() => sink?.end());
        return false;
      }
      if (this.stopped || sink === undefined) return true;
      const more = this.guard(() => sink!.data(chunk));
      return more === true;
    };
    part.on('header', () => {
      headed = true;
      if (this.stopped) return;
      const head = this.head ?? new HttpError(400, 'A part of the multipart body has no headers.');
      if (head instanceof Error) this.fail(head);
      else sink = this.guard(() => this.events.part(head));
    });
  }

  /** Runs the owner's code; what it throws fails the parse. */
  private guard<T>(run: () => T): T | undefined {
    try {
      return run();
    } catch (error) {
      this.fail(error);
      return undefined;
    }
  }
}

/**
 * Reads a part's raw header block (latin1 text, from the end of the delimiter line to the blank
 * line): the rest of the delimiter line may hold only transport padding, each line is
 * `token: value`, and Content-Disposition is `form-data` with a `name`.
 */
function readHead(block: string, maxed: boolean, limits: HeadLimits): PartHead | HttpError {
  const firstEnd = block.indexOf('\r\n');
  const padding = firstEnd === -1 ? block : block.slice(0, firstEnd);
  if (!/^[ \t]*$/.test(padding)) return new HttpError(400, 'A multipart delimiter line has more than the boundary.');
  if (maxed || (firstEnd !== -1 && block.length - firstEnd - 2 > limits.maxHeaderSize)) {
    return new HttpError(413, `A part's headers are larger than ${limits.maxHeaderSize} bytes.`);
  }
  const headers = Object.create(null) as Record<string, string>;
  if (firstEnd !== -1) {
    let pairs = 0;
    for (const line of block.slice(firstEnd + 2).split('\r\n')) {
      if (++pairs > limits.maxHeaderPairs) {
        return new HttpError(413, `A part has more than ${limits.maxHeaderPairs} header lines.`);
      }
      const colon = line.indexOf(':');
      const name = colon <= 0 ? '' : line.slice(0, colon);
      // eslint-disable-next-line no-control-regex -- control characters other than tab are never valid in a header
      if (!isToken(name) || /[\x00-\x08\x0a-\x1f\x7f]/.test(line)) {
        return new HttpError(400, 'A part of the multipart body has a bad header line.');
      }
      const key = name.toLowerCase();
      const value = utf8Header(line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
      const seen = headers[key];
      if (seen !== undefined && key === 'content-disposition') {
        return new HttpError(400, 'A part of the multipart body has two Content-Disposition headers.');
      }
      headers[key] = seen === undefined ? value : `${seen}, ${value}`;
    }
  }
  const disposition = headers['content-disposition'];
  if (disposition === undefined) return new HttpError(400, 'A part of the multipart body has no Content-Disposition.');
  const parsed = parseParameterized(disposition);
  const name = parsed?.params.get('name');
  if (parsed?.value !== 'form-data' || name === undefined) {
    return new HttpError(
      400,
      'A part of the multipart body has a Content-Disposition other than form-data with a name.',
    );
  }
  const filename = parsed.params.get('filename*') ?? parsed.params.get('filename');
  const contentType = headers['content-type'] ?? 'text/plain';
  if (filename === undefined && /^\s*multipart\//i.test(contentType)) {
    return new HttpError(
      400,
      'A part of the multipart body is itself multipart, which multipart/form-data does not allow.',
    );
  }
  return { name, filename, contentType, headers };
}
