// The file a request asks `serveStatic` for: its path split and decoded, refusing any that could leave the root.
import { HttpError } from '../internal/errors.js';
import { kRawRest } from '../server/derived-request.js';
import type { JetRequest } from '../server/types.js';

/** The path a request asks for, below the root. */
export interface AskedPath {
  /** Its segments, percent-decoded; none for the root itself. */
  readonly segments: readonly string[];
  /** Whether it ends with `/`: it names a folder. */
  readonly folder: boolean;
}

/**
 * The path `req` asks for: the raw rest a router's wildcard matched, or else the request's own
 * path. It is split on `/` before any decoding, so an encoded separator stays inside its segment,
 * where it is refused; each segment is then decoded once (`%252e` names a file called `%2e`).
 * Throws a 400 `HttpError` for a path that could name something outside the root, or something
 * else than it says: `.` or `..` segments, empty segments (`//`, an absolute path), `/`, `\` or
 * NUL inside a segment, a malformed escape.
 */
export function askedPath(req: JetRequest): AskedPath {
  const raw = (req as { readonly [kRawRest]?: unknown })[kRawRest];
  if (typeof raw === 'string') return checked(raw.split('/'), true);
  // A routed request derived without the raw rest: `params['*']` is decoded already, so its
  // separators are real ones, and every segment still passes the same checks.
  const rest = (req as { readonly params?: Readonly<Record<string, unknown>> }).params?.['*'];
  if (typeof rest === 'string') return checked(rest.split('/'), false);
  const path = req.path;
  if (typeof path !== 'string' || !path.startsWith('/')) throw refused('is not a path below the root');
  return checked(path.slice(1).split('/'), true);
}

/** True when a segment is a dotfile's (or dot-folder's) name. */
export function isDotName(segment: string): boolean {
  return segment.charCodeAt(0) === 46; /* . */
}

function checked(parts: string[], encoded: boolean): AskedPath {
  // A trailing '' is the trailing slash; an empty path ('' alone) is the root, asked as a folder.
  const folder = parts[parts.length - 1] === '';
  if (folder) parts.pop();
  const segments: string[] = [];
  for (const part of parts) {
    const segment = encoded ? decode(part) : part;
    if (segment === '') throw refused('has an empty segment');
    if (segment === '.' || segment === '..') throw refused(`has a "${segment}" segment`);
    if (segment.includes('/')) throw refused('has an encoded "/"');
    if (segment.includes('\\')) throw refused('has a backslash');
    if (segment.includes('\0')) throw refused('has a NUL byte');
    segments.push(segment);
  }
  return { segments, folder };
}

function decode(part: string): string {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new HttpError(400, 'The path has a malformed percent-encoding.');
  }
}

function refused(why: string): HttpError {
  return new HttpError(400, `The path ${why}; it is not served.`);
}
