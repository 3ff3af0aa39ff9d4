// Reading a body whole as text, in its charset.
import { map, type Observable } from 'rxjs';
import { decode, readBody, type BodyReadOptions } from './read-body.js';
import type { JetRequest } from './types.js';

/**
 * Reads the request body whole as text, decoded in the charset its content-type names
 * (UTF-8 when none). Any content type is accepted.
 *
 * Errors (as `HttpError`s, so a handler can let them through): 413 past the limit, 415 for an
 * unknown charset or a content-encoding.
 *
 * @param req - the request
 * @param options - `limit` in bytes (default: the server's `maxBodySize`, 1 MiB)
 * @returns a cold Observable of the text
 * @example
 * ```ts
 * import { text } from 'rxjet/server';
 * import { map } from 'rxjs';
 * const handler = (req) => text(req).pipe(map((body) => ({ body: body.toUpperCase() })));
 * ```
 */
export function text(req: JetRequest, options?: BodyReadOptions): Observable<string> {
  return readBody(req, options, () => true).pipe(map(({ bytes, charset }) => decode(bytes, charset, false)));
}
