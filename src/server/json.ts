// Reading a JSON body whole, safe against prototype poisoning.
import { map, type Observable } from 'rxjs';
import { HttpError } from '../internal/errors.js';
import { decode, isPoisonedKey, readBody, type BodyReadOptions } from './read-body.js';
import type { JetRequest } from './types.js';

/**
 * Reads the request body whole as JSON. The content type must be `application/json` or
 * `*+json`, in UTF-8.
 *
 * Errors (as `HttpError`s): 400 for an empty body, invalid UTF-8, invalid JSON, or a
 * `__proto__`, `constructor` or `prototype` key anywhere (prototype poisoning); 413 past the
 * limit; 415 for another content type, charset or a content-encoding.
 *
 * `T` is what you say the body is (nothing checks it at run time); it is never inferred from
 * where the result goes, so a handler that forgets to `map` the value to a response
 * (`(req) => json(req)`) does not compile.
 *
 * @param req - the request
 * @param options - `limit` in bytes (default: the server's `maxBodySize`, 1 MiB)
 * @returns a cold Observable of the parsed value
 * @example
 * ```ts
 * import { json } from 'rxjet/server';
 * import { map } from 'rxjs';
 * const handler = (req) =>
 *   json<{ name: string }>(req).pipe(map(({ name }) => ({ status: 201, body: `hello ${name}` })));
 * ```
 */
export function json<T = unknown>(req: JetRequest, options?: BodyReadOptions): Observable<NoInfer<T>> {
  return readBody(req, options, isJsonType).pipe(
    map(({ bytes, charset }) => {
      if (charset !== '' && charset !== 'utf-8' && charset !== 'utf8') {
        throw new HttpError(415, `Unsupported charset for JSON: ${charset}.`);
      }
      const source = decode(bytes, 'utf-8', true);
      if (source.trim() === '') throw new HttpError(400, 'The JSON body is empty.');
      return parseJson(source) as NoInfer<T>;
    }),
  );
}

function isJsonType(mediaType: string): boolean {
  return mediaType === 'application/json' || mediaType.endsWith('+json');
}

/** JSON.parse that refuses prototype-poisoning keys; the slow check runs only when one may be there. */
export function parseJson(source: string): unknown {
  const suspicious =
    source.includes('__proto__') ||
    source.includes('constructor') ||
    source.includes('prototype') ||
    source.includes('\\u');
  try {
    return suspicious
      ? JSON.parse(source, function (this: unknown, key: string, value: unknown) {
          if (isPoisonedKey(key)) throw new HttpError(400, `The JSON body has a forbidden key: ${key}.`);
          return value;
        })
      : JSON.parse(source);
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, `The body is not valid JSON: ${(error as Error).message}.`, { cause: error });
  }
}
