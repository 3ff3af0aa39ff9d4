// Changing a response's headers in middleware: names matched in any case, Vary merged, and the
// hidden failure marker kept, so that the server still reports an error answered below.
import type { OutgoingHeaders } from '../internal/headers.js';
import { kFailure } from '../server/to-response.js';
import type { JetResponse } from '../server/types.js';

/**
 * `res` with the headers in `set` (lower-case names) replacing any of the same name in another
 * case, and `vary` merged into its `Vary`. A `{ websocket }` answer stays one; the failure an
 * `errorResponse` stands for is carried over (its marker is enumerable, so the spread keeps it).
 */
export function withHeaders<R extends JetResponse>(
  res: R,
  set: Readonly<Record<string, string>>,
  vary: readonly string[] = [],
): R {
  const headers: Record<string, string | number | readonly string[] | undefined> = {};
  const given = res.headers;
  let varied: string | undefined;
  if (given != null) {
    for (const name in given) {
      if (!Object.hasOwn(given, name)) continue;
      const lower = name.toLowerCase();
      if (lower === 'vary' && vary.length > 0) {
        const value = given[name];
        if (value !== undefined) varied = varied === undefined ? flatten(value) : `${varied}, ${flatten(value)}`;
      } else if (!Object.hasOwn(set, lower)) {
        headers[name] = given[name];
      }
    }
  }
  Object.assign(headers, set);
  if (vary.length > 0) headers.vary = mergeVary(varied, vary);
  return { ...res, headers };
}

/** The value of a header in any case, arrays joined with `, `; `undefined` when absent. */
export function headerOf(headers: OutgoingHeaders | undefined, name: string): string | undefined {
  const value = rawHeaderOf(headers, name);
  return value === undefined ? undefined : flatten(value);
}

/** The value of a header (`name` in lower case) as it was set, whatever the case it was set in; `undefined` when absent. */
export function rawHeaderOf(headers: OutgoingHeaders | undefined, name: string): OutgoingHeaders[string] {
  if (headers == null) return undefined;
  if (headers[name] !== undefined) return headers[name];
  for (const key of Object.keys(headers)) {
    if (key.length === name.length && key.toLowerCase() === name && headers[key] !== undefined) return headers[key];
  }
  return undefined;
}

/** Carries the failure marker of `from` (an `errorResponse`) over to `to`, a response built anew; returns `to`. */
export function keepFailure<R extends object>(from: object, to: R): R {
  const failure = (from as { [kFailure]?: unknown })[kFailure];
  if (failure !== undefined) Object.defineProperty(to, kFailure, { value: failure, enumerable: true });
  return to;
}

/** The failure an `errorResponse` stands for (not an `HttpError`), or `undefined`. */
export function failureOf(res: object): unknown {
  return (res as { [kFailure]?: unknown })[kFailure];
}

function flatten(value: string | number | readonly string[]): string {
  return typeof value === 'object' ? value.join(', ') : String(value);
}

/** `Vary` with `names` added once each; `*` already varies on everything. */
function mergeVary(current: string | undefined, names: readonly string[]): string {
  if (current === undefined && names.length === 1) return names[0]!;
  const list =
    current === undefined
      ? []
      : current
          .split(',')
          .map((name) => name.trim())
          .filter((n) => n !== '');
  if (list.includes('*')) return '*';
  const seen = new Set(list.map((name) => name.toLowerCase()));
  for (const name of names) {
    if (!seen.has(name.toLowerCase())) {
      seen.add(name.toLowerCase());
      list.push(name);
    }
  }
  return list.join(', ');
}
