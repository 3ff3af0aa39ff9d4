// Reading an application/x-www-form-urlencoded body whole into fields, with a field limit.
import { map, type Observable } from 'rxjs';
import { HttpError } from '../internal/errors.js';
import { checkKnownOptions, integerOption } from '../internal/validate.js';
import { decode, isPoisonedKey, readBody, type BodyReadOptions } from './read-body.js';
import type { JetRequest } from './types.js';

/** Form fields: one string per name, or an array when a name repeats. */
export type FormFields = Record<string, string | string[]>;

/** Options of {@link form}: the byte limit, and how many fields a form may have. */
export interface FormOptions extends BodyReadOptions {
  /**
   * Most fields (`name=value` pairs, repeats included) a form may have; past it the helper errors
   * with a 413 `HttpError` before parsing any. A 1 MiB body of `k0=&k1=&…` is about 128,000
   * fields and a tenth of a second of CPU; body-parser and node's `querystring` stop at 1,000.
   * @default 1000
   */
  maxFields?: number;
}

/**
 * Reads an `application/x-www-form-urlencoded` request body whole into an object with no
 * prototype; a repeated name gives an array of its values in order.
 *
 * Errors (as `HttpError`s): 400 for a `__proto__`, `constructor` or `prototype` field; 413 past
 * the byte limit or past `maxFields` fields; 415 for another content type or a content-encoding.
 *
 * @param req - the request
 * @param options - `limit` in bytes (default: the server's `maxBodySize`, 1 MiB) and
 *   `maxFields` (default 1000)
 * @returns a cold Observable of the fields
 * @example
 * ```ts
 * import { form } from 'rxjet/server';
 * import { map } from 'rxjs';
 * const handler = (req) => form(req).pipe(map((fields) => ({ body: `hi ${String(fields.name)}` })));
 * ```
 */
export function form(req: JetRequest, options?: FormOptions): Observable<FormFields> {
  const o = (options ?? {}) as Record<string, unknown>;
  checkKnownOptions(o, ['limit', 'maxFields'], 'form');
  const maxFields = integerOption(o, 'maxFields', defaultMaxFields, 1);
  return readBody(req, { limit: options?.limit }, (type) => type === 'application/x-www-form-urlencoded').pipe(
    map(({ bytes, charset }) => {
      const text = decode(bytes, charset, false);
      if (tooManyFields(text, maxFields)) throw new HttpError(413, `The form has more than ${maxFields} fields.`);
      return urlencodedFields(text, 'form has a forbidden field');
    }),
  );
}

const defaultMaxFields = 1000;

/** Whether `text` has more than `max` non-empty `&`-separated fields; stops counting past `max`. */
function tooManyFields(text: string, max: number): boolean {
  let fields = 0;
  for (let at = 0; at <= text.length;) {
    let end = text.indexOf('&', at);
    if (end === -1) end = text.length;
    if (end > at && ++fields > max) return true;
    at = end + 1;
  }
  return false;
}

/**
 * Fields of an urlencoded string (a form body, a query) as an object with no prototype: a
 * repeated name gives an array of its values; a name that could poison an object is a 400 that
 * says `The ${forbidden}: <name>.`
 */
export function urlencodedFields(text: string, forbidden: string): FormFields {
  const fields = Object.create(null) as FormFields;
  if (text === '') return fields;
  for (const [name, value] of new URLSearchParams(text)) {
    if (isPoisonedKey(name)) throw new HttpError(400, `The ${forbidden}: ${name}.`);
    const seen = fields[name];
    if (seen === undefined) fields[name] = value;
    else if (Array.isArray(seen)) seen.push(value);
    else fields[name] = [seen, value];
  }
  return fields;
}
