// A request's body as an Observable and async iterable, held to its byte limit.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { Observable } from 'rxjs';
import { iterateObservable } from '../internal/observable-iterator.js';
import { ClientAbortedError, HttpError } from '../internal/errors.js';
import { onceBody } from '../internal/once-body.js';
import { iterateReadable, type ReadableIteratorOptions, subscribeReadable } from '../internal/readable-iterator.js';
import type { RequestBody } from './types.js';

/**
 * The body of a node request. `limit` bounds the bytes read (413 past it, at once when the
 * content-length already says so); `where` names the request in errors; `unwanted` tells
 * whether the rest has been given up on (then it is not drained when left unread).
 */
export function incomingBody(
  raw: IncomingMessage | Http2ServerRequest,
  limit: number,
  where: () => string,
  unwanted?: () => boolean,
): RequestBody {
  const tooLarge = (): HttpError => bodyTooLarge(limit);
  const failure = (cause?: unknown): Error =>
    new ClientAbortedError(`the request body of ${where()}`, cause === undefined ? undefined : { cause });
  const declared = Number(raw.headers['content-length']);
  const overDeclared = Number.isFinite(declared) && declared > limit;

  // The stream is borrowed from node: left unread, the rest is drained, not destroyed.
  const reading = (): ReadableIteratorOptions => {
    let seen = 0;
    return {
      destroyOnReturn: false,
      unwanted,
      failure,
      inspect: (chunk) => {
        seen += chunk.byteLength;
        if (seen > limit) throw tooLarge();
      },
    };
  };
  return onceBody({
    subscribe(subscriber) {
      if (!overDeclared) return subscribeReadable(raw, subscriber, reading());
      raw.resume();
      subscriber.error(tooLarge());
      return;
    },
    iterate() {
      if (!overDeclared) return iterateReadable(raw, reading());
      raw.resume();
      return { next: () => Promise.reject(tooLarge()) };
    },
  });
}

/** The 413 a request body past a limit fails with, the same from the server and the body helpers. */
export function bodyTooLarge(limit: number): HttpError {
  return new HttpError(413, `The request body is larger than ${limit} bytes.`);
}

/**
 * A body of chunks held to `limit` bytes as a served request's body is: it fails with the same
 * 413 past the limit, and at once when `declared` (its content-length) already says so. The
 * testing kit's requests read their bodies through it, so that a test meets the server's limits.
 */
export function limitedBody(chunks: Observable<Uint8Array>, limit: number, declared: number): RequestBody {
  const limited =
    limit === Infinity
      ? chunks
      : new Observable<Uint8Array>((subscriber) => {
          if (declared > limit) {
            subscriber.error(bodyTooLarge(limit));
            return undefined;
          }
          let seen = 0;
          return chunks.subscribe({
            next: (chunk) => {
              seen += chunk.byteLength;
              if (seen > limit) subscriber.error(bodyTooLarge(limit));
              else subscriber.next(chunk);
            },
            error: (error: unknown) => subscriber.error(error),
            complete: () => subscriber.complete(),
          });
        });
  return onceBody({
    subscribe: (subscriber) => limited.subscribe(subscriber),
    iterate: () => iterateObservable(limited),
  });
}
