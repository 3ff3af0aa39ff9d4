// Deriving a request for middleware and routers: the one documented way, sharing the original's
// state.
import { describe, InvalidOptionError } from '../internal/errors.js';
import { DerivedRequest } from './derived-request.js';
import { splitTarget } from './request.js';
import type { JetRequest } from './types.js';

/** What {@link deriveRequest} may change: the target, or fields of your own (a router's `params`, say). */
export type RequestChanges = { readonly [name: string]: unknown } & {
  /** A new request target; `path` and `query` follow from it unless given too. */
  readonly url?: string;
  /** A new path (not decoded); `url` follows unless given too. */
  readonly path?: string;
  /** A new query string without `?`; `url` follows unless given too. */
  readonly query?: string;
};

/**
 * Derives a request for middleware or a router: the result shares `req`'s headers, body (still
 * read once between them), signal, raw request and limits, with the fields in `changes` set.
 * It is the one way to derive a request, and works the same on served, WebSocket upgrade and
 * `mockRequest` requests (a spread `{ ...req }` keeps none of `headers`, `body` or `signal`, on
 * any of them). Cheap: the headers, body and signal are read from the original, not copied.
 *
 * Changing `url` gives `path` and `query` from it (unless they are given too); changing `path` or
 * `query` alone gives the `url` they make. Other fields are added or replaced as given;
 * `headers`, `body`, `signal`, `raw`, `remoteAddress`, `scheme` and `protocol` cannot change.
 *
 * @param req - the request to derive from
 * @param changes - the fields that differ
 * @returns the derived request, typed with its changes
 * @example
 * ```ts
 * import { deriveRequest, type Handler, type JetRequest } from 'rxjet/server';
 *
 * // Mount a handler under /api: it sees the path without the prefix.
 * const mount =
 *   (prefix: string, inner: Handler): Handler =>
 *   (req: JetRequest) =>
 *     req.path.startsWith(prefix) ? inner(deriveRequest(req, { path: req.path.slice(prefix.length) || '/' })) : null;
 * ```
 */
export function deriveRequest<R extends JetRequest, C extends RequestChanges>(
  req: R,
  changes: C,
): Omit<R, keyof C> & C {
  if (req === null || typeof req !== 'object') throw new InvalidOptionError('req', `a request, got ${describe(req)}`);
  if (changes === null || typeof changes !== 'object') {
    throw new InvalidOptionError('changes', `an object of fields, got ${describe(changes)}`);
  }
  const derived = new DerivedRequest(req) as unknown as Record<string, unknown>;
  const given = changes as Record<string, unknown>;
  let target = false;
  for (const name in given) {
    if (!Object.hasOwn(given, name)) continue;
    if (shared.has(name)) throw new InvalidOptionError(`changes.${name}`, 'a field a derived request may change');
    const value = given[name];
    if (name === 'url' || name === 'path' || name === 'query') {
      if (typeof value !== 'string')
        throw new InvalidOptionError(`changes.${name}`, `a string, got ${describe(value)}`);
      target = true;
    }
    derived[name] = value;
  }
  if (target) {
    if (typeof given.url === 'string') {
      const split = splitTarget(given.url);
      if (given.path === undefined) derived.path = split.path;
      if (given.query === undefined) derived.query = split.query;
    } else {
      derived.url = derived.query === '' ? derived.path : `${derived.path as string}?${derived.query as string}`;
    }
  }
  return derived as unknown as Omit<R, keyof C> & C;
}

/** Fields a derived request always shares with its original: changing them is an error. */
const shared = new Set(['headers', 'body', 'signal', 'raw', 'remoteAddress', 'scheme', 'protocol']);
