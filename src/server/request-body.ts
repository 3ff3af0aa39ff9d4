import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { ClientAbortedError, HttpError } from '../internal/errors.js';
import { onceBody } from '../internal/once-body.js';
import { iterateReadable, type ReadableIteratorOptions, subscribeReadable } from '../internal/readable-iterator.js';
import type { RequestBody } from './types.js';

/**
 * The body of a node request. `limit` bounds the bytes read (413 past it, at once when the
 * content-length already says so); `where` names the request in errors.
 */
export function incomingBody(
  raw: IncomingMessage | Http2ServerRequest,
  limit: number,
  where: () => string,
): RequestBody {
  const tooLarge = (): HttpError => new HttpError(413, `The request body is larger than ${limit} bytes.`);
  const failure = (cause?: unknown): Error =>
    new ClientAbortedError(`the request body of ${where()}`, cause === undefined ? undefined : { cause });
  const declared = Number(raw.headers['content-length']);
  const overDeclared = Number.isFinite(declared) && declared > limit;

  // The stream is borrowed from node: left unread, the rest is drained, not destroyed.
  const reading = (): ReadableIteratorOptions => {
    let seen = 0;
    return {
      destroyOnReturn: false,
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
