// Conditional requests on a file (RFC 9110 section 13): what its validators make of `If-*` headers.

/** A file's validators, as `serveStatic` sends them. */
export interface Validators {
  /** The weak entity tag, `W/"…"`. */
  readonly etag: string;
  /** The modification time in whole seconds, as `Last-Modified` carries it, in milliseconds. */
  readonly modified: number;
}

/**
 * What the preconditions of a GET or HEAD ask, evaluated in RFC 9110's order (section 13.2.2):
 * `If-Match`, else `If-Unmodified-Since` (412 when false); then `If-None-Match`, else
 * `If-Modified-Since` (304 when the client's copy is current).
 */
export function preconditions(headers: Readonly<Record<string, string>>, file: Validators): 'send' | 304 | 412 {
  const ifMatch = headers['if-match'];
  if (ifMatch !== undefined) {
    // Strong comparison: a weak tag (all serveStatic makes) only passes '*'.
    if (!tags(ifMatch).some((tag) => tag === '*' || (tag === file.etag && !tag.startsWith('W/')))) return 412;
  } else if (since(headers['if-unmodified-since']) < file.modified) {
    return 412;
  }
  const ifNoneMatch = headers['if-none-match'];
  if (ifNoneMatch !== undefined) {
    const mine = opaque(file.etag);
    if (tags(ifNoneMatch).some((tag) => tag === '*' || opaque(tag) === mine)) return 304;
  } else if (file.modified <= since(headers['if-modified-since'])) {
    return 304;
  }
  return 'send';
}

/**
 * Whether a `Range` may be honoured under `If-Range`: when it is absent, or names this very
 * file. A date must be the file's `Last-Modified` exactly; an entity tag needs a strong match,
 * which a weak tag never gives, so the whole file is sent instead of a piece of another version.
 */
export function rangeStillFresh(headers: Readonly<Record<string, string>>, file: Validators): boolean {
  const ifRange = headers['if-range']?.trim();
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === file.etag && !ifRange.startsWith('W/');
  return Date.parse(ifRange) === file.modified;
}

/** The entity tags of a list header, trimmed. */
function tags(list: string): string[] {
  return list.split(',').map((tag) => tag.trim());
}

/** A tag without its weakness, for the weak comparison `If-None-Match` uses. */
function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** A header date in milliseconds; NaN (never before nor after anything) when absent or invalid. */
function since(date: string | undefined): number {
  return date === undefined ? NaN : Date.parse(date);
}
