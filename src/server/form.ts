import { map, type Observable } from 'rxjs';
import { HttpError } from '../internal/errors.js';
import { decode, isPoisonedKey, readBody, type BodyReadOptions } from './read-body.js';
import type { JetRequest } from './types.js';

/** Form fields: one string per name, or an array when a name repeats. */
export type FormFields = Record<string, string | string[]>;

/**
 * Reads an `application/x-www-form-urlencoded` request body whole into an object with no
 * prototype; a repeated name gives an array of its values in order.
 *
 * Errors (as `HttpError`s): 400 for a `__proto__`, `constructor` or `prototype` field; 413 past
 * the limit; 415 for another content type or a content-encoding.
 *
 * @param req - the request
 * @param options - `limit` in bytes (default: the server's `maxBodySize`, 1 MiB)
 * @returns a cold Observable of the fields
 * @example
 * ```ts
 * import { form } from 'rxjet/server';
 * import { map } from 'rxjs';
 * const handler = (req) => form(req).pipe(map((fields) => ({ body: `hi ${String(fields.name)}` })));
 * ```
 */
export function form(req: JetRequest, options?: BodyReadOptions): Observable<FormFields> {
  return readBody(req, options, (type) => type === 'application/x-www-form-urlencoded').pipe(
    map(({ bytes, charset }) => {
      const fields = Object.create(null) as FormFields;
      for (const [name, value] of new URLSearchParams(decode(bytes, charset, false))) {
        if (isPoisonedKey(name)) throw new HttpError(400, `The form has a forbidden field: ${name}.`);
        const seen = fields[name];
        if (seen === undefined) fields[name] = value;
        else if (Array.isArray(seen)) seen.push(value);
        else fields[name] = [seen, value];
      }
      return fields;
    }),
  );
}
