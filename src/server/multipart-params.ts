// Header values with parameters, as multipart/form-data uses them: the request's boundary and each
// part's Content-Disposition.
import { HttpError } from '../internal/errors.js';

/** A header value split into its leading value (lower-cased) and its parameters (names lower-cased). */
export interface ParameterizedValue {
  value: string;
  params: Map<string, string>;
}

/**
 * Splits `type; name=value; name="quoted"` into its parts; undefined when it is malformed (a
 * parameter without `=`, an unclosed quote, a name given twice). In a quoted value only `\"` and
 * `\\` are unescaped, so a Windows path sent unescaped (`"C:\files\a.txt"`) keeps its backslashes.
 * `name*` values (RFC 8187: `utf-8''%e2%82%ac`) are decoded and stored under `name*`.
 */
export function parseParameterized(header: string): ParameterizedValue | undefined {
  const semi = header.indexOf(';');
  const value = (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
  const params = new Map<string, string>();
  if (semi === -1) return { value, params };
  let at = semi;
  const length = header.length;
  while (at < length) {
    // at points at a ';'
    at++;
    while (at < length && isSpace(header.charCodeAt(at))) at++;
    if (at === length) break; // a trailing ';'
    const eq = header.indexOf('=', at);
    if (eq === -1) return undefined;
    const name = header.slice(at, eq).trim().toLowerCase();
    if (name === '' || !isToken(name) || params.has(name)) return undefined;
    at = eq + 1;
    while (at < length && isSpace(header.charCodeAt(at))) at++;
    let raw: string;
    if (header.charCodeAt(at) === 34 /* " */) {
      let text = '';
      let closed = false;
      for (at++; at < length; at++) {
        const code = header.charCodeAt(at);
        if (code === 34) {
          closed = true;
          at++;
          break;
        }
        const next = header.charCodeAt(at + 1);
        if (code === 92 /* \ */ && (next === 34 || next === 92)) {
          text += header.charAt(at + 1);
          at++;
        } else {
          text += header.charAt(at);
        }
      }
      if (!closed) return undefined;
      raw = text;
      while (at < length && isSpace(header.charCodeAt(at))) at++;
      if (at < length && header.charCodeAt(at) !== 59 /* ; */) return undefined;
    } else {
      let end = header.indexOf(';', at);
      if (end === -1) end = length;
      raw = header.slice(at, end).trim();
      at = end;
    }
    if (name.endsWith('*')) {
      const decoded = decodeExtValue(raw);
      if (decoded === undefined) return undefined;
      raw = decoded;
    }
    params.set(name, raw);
  }
  return { value, params };
}

/** Decodes an RFC 8187 ext-value (`charset'lang'pct-encoded`); UTF-8 and ISO-8859-1 only. */
function decodeExtValue(raw: string): string | undefined {
  const first = raw.indexOf("'");
  const second = first === -1 ? -1 : raw.indexOf("'", first + 1);
  if (second === -1) return undefined;
  const charset = raw.slice(0, first).toLowerCase();
  if (charset !== 'utf-8' && charset !== 'iso-8859-1') return undefined;
  const encoded = raw.slice(second + 1);
  if (!/^(?:[^%]|%[0-9a-fA-F]{2})*$/.test(encoded)) return undefined;
  const bytes = Buffer.from(
    encoded.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
  return charset === 'utf-8' ? bytes.toString('utf8') : bytes.toString('latin1');
}

/**
 * The boundary of a `multipart/form-data` content type: 400 when it is missing, empty, longer
 * than RFC 2046's 70 characters, or has characters outside its set.
 */
export function boundaryOf(params: Map<string, string>): string {
  const boundary = params.get('boundary');
  if (boundary === undefined || boundary === '') {
    throw new HttpError(400, 'The multipart/form-data content type has no boundary.');
  }
  if (boundary.length > 70) {
    throw new HttpError(400, 'The multipart boundary is longer than 70 characters.');
  }
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) {
    throw new HttpError(400, 'The multipart boundary has characters RFC 2046 does not allow.');
  }
  return boundary;
}

/** Text sent as raw bytes in a header (node and the parser read them as latin1), decoded as UTF-8. */
export function utf8Header(latin1: string): string {
  // eslint-disable-next-line no-control-regex -- any byte past ASCII means the text was UTF-8 bytes
  return /[^\x00-\x7f]/.test(latin1) ? Buffer.from(latin1, 'latin1').toString('utf8') : latin1;
}

function isSpace(code: number): boolean {
  return code === 32 || code === 9;
}

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** An RFC 9110 token: a header or parameter name. */
export function isToken(text: string): boolean {
  return tokenPattern.test(text);
}
