import type { IncomingMessage } from 'node:http';
import type { Subscriber, TeardownLogic } from 'rxjs';
import { BodyConsumedError, ClientAbortedError, HttpError } from '../internal/errors.js';
import { pullable } from '../internal/pull.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import type { RequestBody } from './types.js';

/** The two faces of a body source; each is used at most once, by whichever comes first. */
export interface BodySource {
  subscribe(subscriber: Subscriber<Uint8Array>): TeardownLogic;
  iterate(): AsyncIterator<Uint8Array>;
}

/** Makes a request body that can be read once, by subscription or by `for await`. */
export function onceBody(source: BodySource): RequestBody {
  let claimed = false;
  return pullable<Uint8Array>(
    (subscriber) => {
      if (claimed) {
        subscriber.error(new BodyConsumedError('The request body'));
        return;
      }
      claimed = true;
      return source.subscribe(subscriber);
    },
    () => {
      if (claimed) return { next: () => Promise.reject(new BodyConsumedError('The request body')) };
      claimed = true;
      return source.iterate();
    },
  );
}

/**
 * The body of a node request. `limit` bounds the bytes read (413 past it, at once when the
 * content-length already says so); `where` names the request in errors.
 */
export function incomingBody(raw: IncomingMessage, limit: number, where: () => string): RequestBody {
  const tooLarge = (): HttpError => new HttpError(413, `The request body is larger than ${limit} bytes.`);
  const failure = (cause?: unknown): Error =>
    new ClientAbortedError(`the request body of ${where()}`, cause === undefined ? undefined : { cause });
  const declared = Number(raw.headers['content-length']);
  const overDeclared = Number.isFinite(declared) && declared > limit;

  return onceBody({
    subscribe(subscriber) {
      if (overDeclared) {
        raw.resume();
        subscriber.error(tooLarge());
        return;
      }
      let seen = 0;
      const onData = (chunk: Uint8Array): void => {
        seen += chunk.byteLength;
        if (seen > limit) {
          detach();
          raw.resume();
          subscriber.error(tooLarge());
        } else subscriber.next(chunk);
      };
      const onEnd = (): void => {
        detach();
        subscriber.complete();
      };
      const onError = (cause: unknown): void => {
        detach();
        subscriber.error(failure(cause));
      };
      const onClose = (): void => {
        detach();
        subscriber.error(failure());
      };
      function detach(): void {
        raw.off('data', onData);
        raw.off('end', onEnd);
        raw.off('error', onError);
        raw.off('close', onClose);
      }
      if (raw.readableEnded) {
        subscriber.complete();
        return;
      }
      if (raw.destroyed) {
        subscriber.error(failure());
        return;
      }
      raw.on('data', onData);
      raw.on('end', onEnd);
      raw.on('error', onError);
      raw.on('close', onClose);
      return () => {
        detach();
        if (!raw.readableEnded) raw.resume(); // discard the rest, as node does for unread bodies
      };
    },
    iterate() {
      if (overDeclared) {
        raw.resume();
        return { next: () => Promise.reject(tooLarge()) };
      }
      let seen = 0;
      return iterateReadable(raw, {
        destroyOnReturn: false,
        failure,
        inspect: (chunk) => {
          seen += chunk.byteLength;
          if (seen > limit) throw tooLarge();
        },
      });
    },
  });
}
