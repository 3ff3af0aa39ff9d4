// Reading a request body whole for the body helpers: content type, encoding and size checks.
import { TextDecoder } from 'node:util';
import { Observable } from 'rxjs';
import { HttpError } from '../internal/errors.js';
import { checkKnownOptions, limitOption } from '../internal/validate.js';
import { contextOf } from '../internal/request-context.js';
import { bodyTooLarge } from './request-body.js';
import type { JetRequest } from './types.js';

/** Options of the body helpers `text`, `json` and `form`. */
export interface BodyReadOptions {
  /**
   * Most bytes read; past it the helper errors with a 413 `HttpError`.
   * @default the server's `maxBodySize` (1 MiB)
   */
  limit?: number;
}

/** A request body read whole, with the media type it declared. */
export interface WholeBody {
  bytes: Uint8Array;
  /** Lower-case media type without parameters, `''` when none was sent. */
  mediaType: string;
  /** Lower-case `charset` parameter, `''` when none was sent. */
  charset: string;
}

/**
 * Reads a request body whole, after checking its content type with `accepts` (415 when it says
 * no), its content-encoding (415 unless identity) and its size (413 past the limit, at once when
 * the content-length says so). Used by every body helper so they share one set of rules.
 */
export function readBody(
  req: JetRequest,
  options: BodyReadOptions | undefined,
  accepts: (mediaType: string) => boolean,
): Observable<WholeBody> {
  const o = (options ?? {}) as Record<string, unknown>;
  checkKnownOptions(o, ['limit'], 'body helper');
  // The request's own limit (a served, upgrade or mock request has one, and so does one derived
  // from them), else its context's, for a request made by hand.
  const limit = limitOption(
    o,
    'limit',
    (req as { maxBodySize?: number }).maxBodySize ?? contextOf(req)?.maxBodySize ?? fallbackLimit,
  );
  return new Observable<WholeBody>((subscriber) => {
    const { headers } = req;
    const [mediaType, charset] = parseContentType(headers['content-type'] ?? '');
    if (!accepts(mediaType)) {
      subscriber.error(new HttpError(415, `Unsupported content type: ${mediaType === '' ? 'none given' : mediaType}.`));
      return;
    }
    const encoding = (headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      subscriber.error(new HttpError(415, `Unsupported content encoding: ${encoding}.`));
      return;
    }
    const tooLarge = (): HttpError => bodyTooLarge(limit);
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      subscriber.error(tooLarge());
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    return req.body.subscribe({
      next: (chunk) => {
        size += chunk.byteLength;
        if (size > limit) subscriber.error(tooLarge());
        else chunks.push(chunk);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => {
        subscriber.next({ bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), mediaType, charset });
        subscriber.complete();
      },
    });
  });
}

const fallbackLimit = 1024 * 1024;

/** Splits a content-type into lower-case media type and charset. */
export function parseContentType(value: string): [mediaType: string, charset: string] {
  const semi = value.indexOf(';');
  const mediaType = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  if (semi === -1) return [mediaType, ''];
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(value.slice(semi));
  return [mediaType, match?.[1]?.toLowerCase() ?? ''];
}

/** Decodes bytes in a charset; 415 for a charset it does not know, 400 for bytes that are not in it when `fatal`. */
export function decode(bytes: Uint8Array, charset: string, fatal: boolean): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(charset === '' ? 'utf-8' : charset, { fatal });
  } catch {
    throw new HttpError(415, `Unsupported charset: ${charset}.`);
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new HttpError(400, `The request body is not valid ${charset === '' ? 'utf-8' : charset}.`);
  }
}

const poisonedKeys = new Set(['__proto__', 'constructor', 'prototype']);

/** Keys that can reach an object's prototype when a parsed body is merged into another object. */
export function isPoisonedKey(key: string): boolean {
  return poisonedKeys.has(key);
}
