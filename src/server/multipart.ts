// `multipart()`: a multipart/form-data request body as an Observable (and async iterable) of parts.
import { Observable, type Subscriber, type TeardownLogic } from 'rxjs';
import { BodyConsumedError, HttpError } from '../internal/errors.js';
import { checkKnownOptions, integerOption, limitOption } from '../internal/validate.js';
import { boundaryOf, parseParameterized } from './multipart-params.js';
import { parseContentType } from './read-body.js';
import type { PartBody } from './multipart-part-body.js';
import { MultipartSession, type PartsOutlet } from './multipart-session.js';
import type { MultipartOptions, MultipartPart, ResolvedMultipartOptions } from './multipart-types.js';
import type { JetRequest } from './types.js';

/**
 * Reads a `multipart/form-data` request body as it arrives: an Observable of its parts in order,
 * which is also async-iterable. Fields are `{ kind: 'field', name, value }`; files are
 * `{ kind: 'file', name, filename, contentType, headers, body }`, with `body` an
 * `Observable<Uint8Array>` that is also async-iterable. Cold, and read once like `req.body`.
 *
 * - One part at a time: the next part comes once the current file's body has ended for its
 *   reader, and the request is read only as fast as that body is consumed (backpressure to the
 *   client when it is pulled: `for await`, or piped to a stream).
 * - A file body not subscribed (or iterated) during the `next` call that delivered its part is
 *   skipped: read and dropped, so a filtered-out file never stalls the upload; reading it later
 *   errors with a `PartSkippedError`. Use `mergeMap`, not `concatMap` (which would hold a part
 *   back and so skip it). Under `for await`, a body stays readable until the loop asks for the
 *   next part.
 * - Unsubscribing (or the client going away) stops the parse and the reading of the request; a
 *   file body being read then errors (`PartAbortedError`, or the `ClientAbortedError`).
 * - `filename` is as sent and never used as a path by rxjet: never use it as one.
 *
 * Errors (as `HttpError`s): 413 past a limit (the file body being read errors too, never ending
 * as if whole) or past the server's `maxRequestBodySize`; 400 for a malformed body (no or bad
 * boundary, a boundary longer than 70 characters or never there, a part without
 * Content-Disposition, a bad header line, a nested multipart part, a body cut short); 415 for
 * another content type or a content-encoding.
 *
 * @param req - the request
 * @param options - limits: `maxFileSize`, `maxFiles` (100), `maxFields` (1000), `maxFieldSize`
 *   (1 MiB), `maxParts` (1000), `maxHeaderPairs` (2000), `maxHeaderSize` (16 KiB)
 * @returns a cold Observable of the parts, also async-iterable
 * @example
 * ```ts
 * import { multipart } from 'rxjet/server';
 * import { createWriteStream } from 'node:fs';
 * import { randomUUID } from 'node:crypto';
 * import { pipeline } from 'node:stream/promises';
 * import { defer, map, mergeMap, of, toArray } from 'rxjs';
 *
 * const handler = (req) =>
 *   multipart(req, { maxFileSize: 10 * 2 ** 20, maxFiles: 5 }).pipe(
 *     mergeMap((part) =>
 *       part.kind === 'field'
 *         ? of(`${part.name}=${part.value}`)
 *         : // A name of our own: the client's filename is never a path.
 *           defer(() => pipeline(part.body, createWriteStream(`/tmp/${randomUUID()}`))).pipe(map(() => part.filename)),
 *     ),
 *     toArray(),
 *     map((lines) => ({ status: 201, body: lines.join('\n') })),
 *   );
 * ```
 */
export function multipart(
  req: JetRequest,
  options?: MultipartOptions,
): Observable<MultipartPart> & AsyncIterable<MultipartPart> {
  return new MultipartParts(req, resolveOptions(options));
}

const optionNames = [
  'maxFileSize',
  'maxFiles',
  'maxFields',
  'maxFieldSize',
  'maxParts',
  'maxHeaderPairs',
  'maxHeaderSize',
] as const;

function resolveOptions(options: MultipartOptions | undefined): ResolvedMultipartOptions {
  const o = (options ?? {}) as Record<string, unknown>;
  checkKnownOptions(o, optionNames, 'multipart');
  return {
    maxFileSize: limitOption(o, 'maxFileSize', Infinity),
    maxFiles: integerOption(o, 'maxFiles', 100),
    maxFields: integerOption(o, 'maxFields', 1000),
    maxFieldSize: limitOption(o, 'maxFieldSize', 1024 * 1024),
    maxParts: integerOption(o, 'maxParts', 1000),
    maxHeaderPairs: integerOption(o, 'maxHeaderPairs', 2000, 1),
    maxHeaderSize: integerOption(o, 'maxHeaderSize', 16 * 1024, 1),
  };
}

const done: IteratorReturnResult<undefined> = Object.freeze({ value: undefined, done: true });

/** The parts of one request's multipart body: read once, by subscription or by `for await`. */
class MultipartParts extends Observable<MultipartPart> implements AsyncIterable<MultipartPart> {
  private claimed = false;

  constructor(
    private readonly req: JetRequest,
    private readonly options: ResolvedMultipartOptions,
  ) {
    super();
  }

  protected _subscribe(subscriber: Subscriber<MultipartPart>): TeardownLogic {
    const session = this.open({
      wants: () => true,
      deliver: (part, body) => {
        subscriber.next(part);
        body?.skipUnclaimed();
      },
      complete: () => subscriber.complete(),
      error: (error) => subscriber.error(error),
    });
    if (session instanceof Error) {
      subscriber.error(session);
      return undefined;
    }
    session.start();
    return () => session.stop();
  }

  [Symbol.asyncIterator](): AsyncIterator<MultipartPart> {
    const refused = this.claim();
    let session: MultipartSession | Error | undefined = refused;
    let waiter: { resolve: (r: IteratorResult<MultipartPart>) => void; reject: (e: unknown) => void } | undefined;
    let ended = false;
    let failure: { error: unknown } | undefined;
    let previous: PartBody | undefined;
    const outlet: PartsOutlet = {
      wants: () => waiter !== undefined,
      deliver: (part, body) => {
        const { resolve } = waiter!;
        waiter = undefined;
        previous = body;
        resolve({ value: part, done: false });
      },
      complete: () => {
        ended = true;
        const resolve = waiter?.resolve;
        waiter = undefined;
        resolve?.(done);
      },
      error: (error) => {
        failure = { error };
        const reject = waiter?.reject;
        waiter = undefined;
        reject?.(error);
      },
    };
    return {
      next: () => {
        if (session === undefined) {
          session = this.check(outlet);
          if (!(session instanceof Error)) session.start();
        }
        if (session instanceof Error) return Promise.reject(session);
        // Under `for await`, a file body stays readable until the loop asks for the next part.
        previous?.skipUnclaimed();
        previous = undefined;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the failure is passed on as it came
        if (failure !== undefined) return Promise.reject(failure.error);
        if (ended) return Promise.resolve(done);
        const next = new Promise<IteratorResult<MultipartPart>>((resolve, reject) => (waiter = { resolve, reject }));
        session.pump();
        return next;
      },
      return: () => {
        ended = true;
        if (session instanceof MultipartSession) session.stop();
        return Promise.resolve(done);
      },
    };
  }

  /** Claims the body and starts a session for `outlet`, or the error that refuses it. */
  private open(outlet: PartsOutlet): MultipartSession | Error {
    return this.claim() ?? this.check(outlet);
  }

  private claim(): Error | undefined {
    if (this.claimed) return new BodyConsumedError(`The multipart body of ${this.req.method} ${this.req.url}`);
    this.claimed = true;
    return undefined;
  }

  /** The session for a body whose head says multipart/form-data with a good boundary, or the error. */
  private check(outlet: PartsOutlet): MultipartSession | Error {
    try {
      const { headers } = this.req;
      const raw = headers['content-type'] ?? '';
      const [mediaType] = parseContentType(raw);
      if (mediaType !== 'multipart/form-data') {
        return new HttpError(
          415,
          `Unsupported content type: ${mediaType === '' ? 'none given' : mediaType}; send multipart/form-data.`,
        );
      }
      const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (encoding !== 'identity') return new HttpError(415, `Unsupported content encoding: ${encoding}.`);
      const contentType = parseParameterized(raw);
      if (contentType === undefined) return new HttpError(400, 'The multipart/form-data content type is malformed.');
      return new MultipartSession(this.req, boundaryOf(contentType.params), this.options, outlet);
    } catch (error) {
      return error as Error;
    }
  }
}
