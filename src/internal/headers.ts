/** Header names and values: what may be sent, and how incoming ones are shaped. */

import { InvalidOptionError } from './errors.js';

/** Response header values as handlers give them. */
export type OutgoingHeaders = Readonly<Record<string, string | number | readonly string[] | undefined>>;

// RFC 9110 token characters, the only ones allowed in a field name.
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, space, tab and obs-text; never CR, LF or NUL.
const invalidValuePattern = /[^\t\x20-\x7e\x80-\xff]/;

/** Why a header name cannot be sent, or undefined when it can. */
export function headerNameProblem(name: string): string | undefined {
  return tokenPattern.test(name) ? undefined : 'the name is not an HTTP token';
}

/** Why a header value cannot be sent, or undefined when it can. */
export function headerValueProblem(value: string): string | undefined {
  return invalidValuePattern.test(value)
    ? 'the value holds a character that is not allowed (CR, LF, NUL or another control)'
    : undefined;
}

/**
 * A record with no `Object.prototype` behind it (a header named `__proto__` or `constructor`
 * is just a header) that stays a fast object: `Object.create(null)` would make a dictionary
 * per request, several hundred bytes more and slower to read.
 */
function HeaderRecordShape(): void {}
HeaderRecordShape.prototype = Object.create(null) as object;
export const HeaderRecord = HeaderRecordShape as unknown as new () => Record<string, string>;

/**
 * Turns node's `rawHeaders` (name, value, name, value, ...) into lower-case names with
 * repeated values joined by `, ` (`cookie` by `; `, as RFC 9113 joins split cookies).
 * HTTP/2 pseudo-headers are left out, but `:authority` stands for `host` when there is none.
 */
export function joinRawHeaders(raw: readonly string[]): Record<string, string> {
  const headers = new HeaderRecord();
  let authority: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (name === ':authority') authority = value;
      continue;
    }
    const seen = headers[name];
    headers[name] = seen === undefined ? value : seen + (name === 'cookie' ? '; ' : ', ') + value;
  }
  if (authority !== undefined && headers.host === undefined) headers.host = authority;
  return headers;
}

/**
 * Checks headers given as options and adds them under lower-case names; throws
 * {@link InvalidOptionError} naming the header for anything that cannot be sent.
 */
export function addHeaders(
  target: Record<string, string | string[]>,
  given: Readonly<Record<string, string | readonly string[]>>,
  option: string,
): void {
  if (typeof given !== 'object' || given === null) throw new InvalidOptionError(option, 'an object of headers');
  for (const name of Object.keys(given)) {
    const value: unknown = given[name];
    const values: unknown[] | undefined =
      typeof value === 'string' ? [value] : Array.isArray(value) ? [...(value as unknown[])] : undefined;
    const strings = values?.every((v): v is string => typeof v === 'string') === true ? values : undefined;
    const problem =
      strings === undefined
        ? 'values must be strings or arrays of strings'
        : (headerNameProblem(name) ?? strings.map(headerValueProblem).find((p) => p !== undefined));
    if (problem !== undefined || strings === undefined) {
      throw new InvalidOptionError(`${option}.${name}`, `a valid header (${problem ?? 'no value'})`);
    }
    target[name.toLowerCase()] = strings.length === 1 ? strings[0]! : strings;
  }
}
