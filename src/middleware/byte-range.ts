// Reading a `Range` header (RFC 9110 section 14) into the one byte range `serveStatic` sends.

/** The bytes to send, both ends included; or the whole file; or a range the file cannot satisfy. */
export type ByteRange = { readonly start: number; readonly end: number } | 'whole' | 'unsatisfiable';

/**
 * The range `header` asks of a file of `size` bytes. A single range is honoured (`bytes=0-99`,
 * `bytes=500-`, `bytes=-500`), clipped to the file; one starting past the end, or a suffix of
 * zero bytes, is unsatisfiable (416). Anything else gets the whole file, as RFC 9110 lets a
 * server do: no header, another unit, a malformed header, or several ranges (which would need a
 * `multipart/byteranges` body).
 */
export function byteRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return 'whole';
  const match = rangeSpec.exec(header);
  if (match === null) return 'whole';
  const [, first = '', last = ''] = match;
  if (first === '') {
    if (last === '') return 'whole';
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return 'whole';
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (!Number.isSafeInteger(start) || !(end === Infinity || Number.isSafeInteger(end)) || end < start) return 'whole';
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/** One range of bytes; a list (a comma) does not match and is answered whole. */
const rangeSpec = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;
