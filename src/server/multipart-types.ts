// The shapes of multipart/form-data parts and the options of `multipart`.
import type { Observable } from 'rxjs';

/** A text field of a multipart form. */
export interface MultipartFieldPart {
  /** Tells a field from a file. */
  readonly kind: 'field';
  /** The field's name, from its Content-Disposition. */
  readonly name: string;
  /** Its value, decoded from UTF-8 (or the charset its Content-Type names). */
  readonly value: string;
}

/**
 * A file of a multipart form. Its `body` is read once, and only while the parts are subscribed:
 * subscribe to it (or start iterating it) during the `next` call that delivered the part, or it is
 * skipped; under `for await`, read it before asking for the next part.
 */
export interface MultipartFilePart {
  /** Tells a file from a field. */
  readonly kind: 'file';
  /** The field's name, from its Content-Disposition. */
  readonly name: string;
  /**
   * The file name as sent (UTF-8, from `filename*` when given, else `filename`), paths and all:
   * never use it as a path. `''` when a browser sent an empty file input.
   */
  readonly filename: string;
  /** The part's Content-Type as sent, `'text/plain'` when it has none (RFC 7578). */
  readonly contentType: string;
  /** The part's own headers, names lower-cased, repeats joined with `', '`. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The file's bytes as they arrive: the request is read only as fast as this is consumed
   * (pull it with `for await`, or pipe it to a stream, for backpressure to the client).
   */
  readonly body: Observable<Uint8Array> & AsyncIterable<Uint8Array>;
}

/** A part of a multipart form: a field or a file. */
export type MultipartPart = MultipartFieldPart | MultipartFilePart;

/** Options of `multipart`: limits, each past which the parts fail with a 413 `HttpError`. */
export interface MultipartOptions {
  /**
   * Most bytes in one file.
   * @default the server's `maxRequestBodySize`, which bounds the whole body (no limit of its own)
   */
  maxFileSize?: number;
  /**
   * Most files.
   * @default 100
   */
  maxFiles?: number;
  /**
   * Most fields (text parts; files are not counted).
   * @default 1000
   */
  maxFields?: number;
  /**
   * Most bytes in one field's value.
   * @default 1048576 (1 MiB)
   */
  maxFieldSize?: number;
  /**
   * Most parts, fields and files together.
   * @default 1000
   */
  maxParts?: number;
  /**
   * Most header lines in one part.
   * @default 2000
   */
  maxHeaderPairs?: number;
  /**
   * Most bytes of one part's header lines, as node's `maxHeaderSize` for a request's head.
   * @default 16384 (16 KiB)
   */
  maxHeaderSize?: number;
}

/** Every limit of {@link MultipartOptions}, resolved. */
export type ResolvedMultipartOptions = Required<MultipartOptions>;
