// One reading of a multipart body: the request's bytes in, parts out one at a time, limits kept.
import { Subscription } from 'rxjs';
import { HttpError, PartAbortedError } from '../internal/errors.js';
import { contextOf } from '../internal/request-context.js';
import { FormDataParser, type PartHead, type PartSink } from './multipart-parser.js';
import { PartBody, type PartBodyHost } from './multipart-part-body.js';
import { decode } from './read-body.js';
import type { JetRequest } from './types.js';
import type { MultipartPart, ResolvedMultipartOptions } from './multipart-types.js';
import { parseParameterized } from './multipart-params.js';

/** Where parts go: a subscriber (always wanting) or an iterator (wanting while a `next()` waits). */
export interface PartsOutlet {
  wants(): boolean;
  /** Hands out a part; `body` is a file part's body, for the skip rule. */
  deliver(part: MultipartPart, body: PartBody | undefined): void;
  complete(): void;
  error(error: unknown): void;
}

/** The request body as read here. */
interface Source {
  /** Whether a chunk is wanted may have changed: the socket is held back or let go. */
  wake(): void;
  stop(): void;
}

/**
 * Reads one multipart body. Parts are delivered in order, the next only once the body of the
 * file before it has ended for its reader; the request is read only while nothing parsed waits
 * for delivery and the file being read has room, so the socket goes at the reader's pace. The
 * first failure (a limit, a malformed body, the client gone) fails the parts and every file body
 * still open; leaving (`stop`) fails open bodies with a `PartAbortedError`.
 */
export class MultipartSession implements PartBodyHost {
  private readonly parser: FormDataParser;
  /** Parts parsed and not yet delivered, in order, each file with its body. */
  private readonly ready: { part: MultipartPart; body: PartBody | undefined }[] = [];
  /** The delivered file whose body has not ended for its reader. */
  private current: PartBody | undefined;
  /** File bodies not over yet: failed with the session. */
  private readonly open = new Set<PartBody>();
  private source: Source | undefined;
  private closed = false;
  /** The request body has ended. */
  private sourceDone = false;
  private pumping = false;
  private again = false;
  private parts = 0;
  private files = 0;
  private fields = 0;

  constructor(
    private readonly req: JetRequest,
    boundary: string,
    private readonly options: ResolvedMultipartOptions,
    private readonly outlet: PartsOutlet,
  ) {
    this.parser = new FormDataParser(boundary, options, {
      part: (head) => this.onPart(head),
      finish: () => this.pump(),
      fail: (error) => this.fail(error),
    });
  }

  /** Starts reading the request body. */
  start(): void {
    this.subscribeSource();
  }

  /** The consumer left: reading stops, and open file bodies fail with a `PartAbortedError`. */
  stop(): void {
    if (this.closed) return;
    const { signal } = this.req;
    this.close(signal.aborted ? signal.reason : undefined);
  }

  /** Delivers what can be delivered; re-entrant calls (from user code in `deliver`) loop here instead. */
  pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        while (!this.closed && this.current === undefined && this.ready.length > 0 && this.outlet.wants()) {
          const { part, body } = this.ready.shift()!;
          this.current = body;
          this.outlet.deliver(part, body);
        }
        if (!this.closed && this.parser.finished && this.ready.length === 0 && this.current === undefined) {
          this.closed = true;
          this.source?.stop();
          this.parser.stop();
          this.outlet.complete();
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    this.source?.wake();
  }

  room(): void {
    this.parser.resume();
    if (this.sourceDone && !this.parser.pending) this.sourceEnded();
    this.source?.wake();
  }

  done(body: PartBody): void {
    this.open.delete(body);
    if (body !== this.current) return;
    this.current = undefined;
    this.pump();
  }

  /** Whether to read more of the request: nothing parsed waits, and the file being read has room. */
  private canRead(): boolean {
    return (
      !this.closed &&
      !this.parser.finished &&
      this.ready.length === 0 &&
      (this.current === undefined || this.current.hasRoom)
    );
  }

  private onPart(head: PartHead): PartSink {
    const { options } = this;
    const where = `part "${head.name}" of ${this.where()}`;
    if (++this.parts > options.maxParts) throw new HttpError(413, `The form has more than ${options.maxParts} parts.`);
    if (head.filename === undefined) {
      if (++this.fields > options.maxFields) {
        throw new HttpError(413, `The form has more than ${options.maxFields} fields.`);
      }
      return this.fieldSink(head, where);
    }
    if (++this.files > options.maxFiles) throw new HttpError(413, `The form has more than ${options.maxFiles} files.`);
    const body = new PartBody(`The body of ${where}`, this);
    this.open.add(body);
    const part: MultipartPart = {
      kind: 'file',
      name: head.name,
      filename: head.filename,
      contentType: head.contentType,
      headers: head.headers,
      body,
    };
    this.ready.push({ part, body });
    this.pump();
    let size = 0;
    return {
      data: (chunk) => {
        size += chunk.byteLength;
        if (size > options.maxFileSize) {
          this.fail(new HttpError(413, `The file in ${where} is larger than ${options.maxFileSize} bytes.`));
          return false;
        }
        return body.feed(chunk);
      },
      end: () => body.end(),
    };
  }

  private fieldSink(head: PartHead, where: string): PartSink {
    const { maxFieldSize } = this.options;
    const chunks: Buffer[] = [];
    let size = 0;
    return {
      data: (chunk) => {
        size += chunk.byteLength;
        if (size > maxFieldSize) {
          this.fail(new HttpError(413, `The value of ${where} is larger than ${maxFieldSize} bytes.`));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      end: () => {
        const charset = parseParameterized(head.contentType)?.params.get('charset') ?? '';
        const value = decode(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), charset, false);
        this.ready.push({ part: { kind: 'field', name: head.name, value }, body: undefined });
        this.pump();
      },
    };
  }

  /** The request body ended: fine after the closing delimiter, else the body was cut short. */
  private sourceEnded(): void {
    if (this.closed || this.parser.finished) return;
    // Bytes still wait for a reader to make room: the end is judged once they are parsed.
    this.sourceDone = true;
    if (this.parser.pending) return;
    this.fail(
      new HttpError(
        400,
        this.parser.sawPart
          ? 'The multipart body ends before its closing boundary.'
          : 'The multipart boundary never appears in the body.',
      ),
    );
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close(error);
    this.outlet.error(error);
  }

  /**
   * Stops reading and parsing before the end: the rest of the request is not read (nor drained),
   * and open bodies fail with `error`, or a `PartAbortedError` each.
   */
  private close(error: unknown): void {
    this.closed = true;
    if (!this.sourceDone) contextOf(this.req)?.stopReading?.();
    this.source?.stop();
    this.parser.stop();
    this.ready.length = 0;
    this.current = undefined;
    const bodies = [...this.open];
    this.open.clear();
    for (const body of bodies) body.fail(error ?? new PartAbortedError(body.what));
  }

  /**
   * Subscribes to the request body, holding the socket back (pausing the node request under it)
   * whenever a chunk is not wanted: the body keeps its limits and errors, and a fast reader pays
   * nothing per chunk for the flow control. A body with no socket under it (a mock's, in memory)
   * cannot be held back; subscribing keeps parsing in step with its emissions, in virtual time too.
   */
  private subscribeSource(): void {
    const { raw } = this.req;
    let held = false;
    let stopped = false;
    const hold = (): void => {
      // Once let go of, the stream is the body's to drain (or to leave unread): never paused again.
      if (raw === undefined || stopped) return;
      const wanted = this.canRead();
      if (wanted === !held) return;
      held = !wanted;
      if (held) raw.pause();
      else raw.resume();
    };
    // Stopped while the body emits during subscribe, the subscription added later ends at once.
    const subscription = new Subscription();
    this.source = {
      wake: hold,
      stop: () => {
        stopped = true;
        subscription.unsubscribe();
      },
    };
    subscription.add(
      this.req.body.subscribe({
        next: (chunk) => {
          this.parser.write(chunk);
          hold();
        },
        error: (error: unknown) => this.fail(error),
        complete: () => this.sourceEnded(),
      }),
    );
  }

  private where(): string {
    return `${this.req.method} ${this.req.url}`;
  }
}
