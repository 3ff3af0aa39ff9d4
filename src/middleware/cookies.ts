// Cookies: reading a request's Cookie header, and adding Set-Cookie lines to a response, signed or not.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse, serialize } from 'cookie';
import { describe, InvalidOptionError } from '../internal/errors.js';
import { booleanOption, checkKnownOptions, choiceOption } from '../internal/validate.js';
import type { JetRequest, JetResponse } from '../server/types.js';

/**
 * The request's cookies, by name, from its `Cookie` header: values are percent-decoded, and a
 * value whose escapes are malformed is kept as it was sent (never a throw). When a name comes
 * twice, the first wins (browsers send the cookie with the longest path first). The object has
 * no prototype and is frozen; it is parsed once per request (requests derived from it share it).
 *
 * A signed cookie appears here as it was sent, signature included; read it with
 * {@link signedCookies}, which checks the signature.
 *
 * @param req - the request
 * @returns the cookies by name; empty when the request has none
 * @example
 * ```ts
 * import { cookies } from 'rxjet/middleware';
 * import { router } from 'rxjet/router';
 *
 * const app = router().get('/', (req) => ({ body: `theme: ${cookies(req).theme ?? 'light'}` }));
 * ```
 */
export function cookies(req: JetRequest): Readonly<Record<string, string>> {
  if (req === null || typeof req !== 'object') throw new InvalidOptionError('req', `a request, got ${describe(req)}`);
  const { headers } = req;
  const header = headers?.cookie;
  if (header === undefined || header === '') return noCookies;
  const cached = parsed.get(headers);
  if (cached !== undefined && cached.header === header) return cached.cookies;
  const result = Object.freeze(parse(header)) as Readonly<Record<string, string>>;
  parsed.set(headers, { header, cookies: result });
  return result;
}

/** A secret that signs cookies, or several: the first signs, any of them verifies (key rotation). */
export type CookieSecret = string | readonly string[];

/**
 * The request's signed cookies whose signature one of `secret` verifies, without their
 * signature: a cookie with no signature, a bad one, or one made with a secret not given is left
 * out, as is a signed value moved to a cookie of another name. Signatures are HMAC-SHA256, compared
 * in constant time.
 *
 * Rotate keys by putting the new secret first and keeping the old ones after it for as long as
 * cookies signed with them may come back.
 *
 * @param req - the request
 * @param secret - the secret that signed the cookies (at least 32 bytes), or a list of them
 * @returns the verified cookies by name, with no prototype
 * @example
 * ```ts
 * import { setCookie, signedCookies } from 'rxjet/middleware';
 * import { router } from 'rxjet/router';
 *
 * const secret = process.env.COOKIE_SECRET!; // e.g. randomBytes(32).toString('base64url')
 * const app = router()
 *   .post('/login', () => setCookie({ status: 204 }, 'user', 'ada', { signed: secret }))
 *   .get('/me', (req) => {
 *     const user = signedCookies(req, secret).user;
 *     return user === undefined ? { status: 401 } : { body: user };
 *   });
 * ```
 */
export function signedCookies(req: JetRequest, secret: CookieSecret): Readonly<Record<string, string>> {
  const secrets = secretList(secret, 'secret');
  const all = cookies(req);
  const verified = Object.create(null) as Record<string, string>;
  for (const name in all) {
    const value = unsign(name, all[name]!, secrets);
    if (value !== undefined) verified[name] = value;
  }
  return verified;
}

/** Options of {@link setCookie}: the cookie's attributes, and its signing. */
export interface CookieOptions {
  /**
   * Seconds until the cookie expires (`Max-Age`, an integer); 0 expires it at once. Left out,
   * the cookie lasts until the browser session ends (unless `expires` says otherwise).
   * @default undefined (a session cookie)
   */
  maxAge?: number;
  /** When the cookie expires (`Expires`); `maxAge` wins in browsers that see both. */
  expires?: Date;
  /** The hosts the cookie is sent to besides this one (`Domain`); left out, only this host. */
  domain?: string;
  /**
   * The paths the cookie is sent to (`Path`).
   * @default '/'
   */
  path?: string;
  /**
   * Hides the cookie from scripts (`HttpOnly`).
   * @default true
   */
  httpOnly?: boolean;
  /**
   * When the cookie is sent on cross-site requests (`SameSite`): `'none'` needs `secure: true`.
   * @default 'lax'
   */
  sameSite?: 'lax' | 'strict' | 'none';
  /**
   * Sent only over HTTPS (`Secure`). The response does not know its scheme: pass `true` behind
   * TLS, or `req.scheme === 'https'`.
   * @default false
   */
  secure?: boolean;
  /**
   * Keys the cookie to the top-level site (`Partitioned`, CHIPS); needs `secure: true`.
   * @default false
   */
  partitioned?: boolean;
  /**
   * Which cookies a browser evicts first when it must (`Priority`, a Chrome extension).
   * @default undefined (no attribute: Chrome treats the cookie as 'medium')
   */
  priority?: 'low' | 'medium' | 'high';
  /**
   * Signs the value with HMAC-SHA256 under this secret (at least 32 bytes), or the first of a
   * list; read it back with {@link signedCookies}. The value stays readable by the client:
   * signing stops tampering, it does not hide anything.
   */
  signed?: CookieSecret;
}

/**
 * Returns a new response: `res` with one more `Set-Cookie` header (after any it had, in
 * whatever case their names were given), never changing `res` itself. Defaults:
 * `Path=/; HttpOnly; SameSite=Lax`, not `Secure` (the response does not know its scheme: pass
 * `{ secure: true }`, or `{ secure: req.scheme === 'https' }`). The value is percent-encoded,
 * as {@link cookies} decodes it.
 *
 * Everything is checked at call time, with an `InvalidOptionError` naming what is wrong: a name
 * that is not an HTTP token, a value that cannot be encoded (a lone surrogate), a cookie over
 * 4096 bytes, `sameSite: 'none'` or `partitioned` without `secure`, a `__Secure-` or `__Host-`
 * name without what its prefix demands, an unknown option.
 *
 * On a `{ websocket }` answer the cookie goes out with the handshake's 101.
 *
 * @param res - the response to add the cookie to
 * @param name - the cookie's name, an HTTP token
 * @param value - the cookie's value, any string
 * @param options - attributes and signing
 * @returns a copy of `res` with the cookie added
 * @example
 * ```ts
 * import { setCookie } from 'rxjet/middleware';
 * import { router } from 'rxjet/router';
 *
 * const app = router().post('/theme', (req) =>
 *   setCookie({ status: 204 }, 'theme', 'dark', { maxAge: 60 * 60 * 24 * 365, secure: req.scheme === 'https' }),
 * );
 * ```
 */
export function setCookie<R extends JetResponse>(
  res: R,
  name: string,
  value: string,
  options?: CookieOptions,
): CookieResponse<R> {
  if (res === null || typeof res !== 'object') throw new InvalidOptionError('res', `a response, got ${describe(res)}`);
  return withSetCookie(res, cookieLine(name, value, options ?? {}, 'setCookie'));
}

/** A response as {@link setCookie} returns it: the one given, with headers for sure. */
export type CookieResponse<R extends JetResponse> = R & {
  /** The response's headers, `set-cookie` among them as an array. */
  headers: NonNullable<JetResponse['headers']>;
};

/** Options of {@link clearCookie}: the attributes that find the cookie to clear. */
export type ClearCookieOptions = Omit<CookieOptions, 'maxAge' | 'expires' | 'signed'>;

/**
 * Returns a new response that tells the browser to delete a cookie: one more `Set-Cookie` with
 * an empty value, `Max-Age=0` and an `Expires` in the past. A browser deletes only the cookie of
 * the same name, `path` and `domain`, so give the ones it was set with. Checked as
 * {@link setCookie} checks.
 *
 * @param res - the response to add the deletion to
 * @param name - the cookie's name
 * @param options - `path` and `domain` as the cookie was set with, and the other attributes
 * @returns a copy of `res` with the deletion added
 * @example
 * ```ts
 * import { clearCookie } from 'rxjet/middleware';
 * import { router } from 'rxjet/router';
 *
 * const app = router().post('/logout', () => clearCookie({ status: 204 }, 'session'));
 * ```
 */
export function clearCookie<R extends JetResponse>(
  res: R,
  name: string,
  options?: ClearCookieOptions,
): CookieResponse<R> {
  if (res === null || typeof res !== 'object') throw new InvalidOptionError('res', `a response, got ${describe(res)}`);
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options ?? {}, clearOptionNames, 'clearCookie');
  const line = cookieLine(name, '', { ...options, maxAge: 0, expires: new Date(0) }, 'clearCookie');
  return withSetCookie(res, line);
}

const optionNames = [
  'maxAge',
  'expires',
  'domain',
  'path',
  'httpOnly',
  'sameSite',
  'secure',
  'partitioned',
  'priority',
  'signed',
];
const clearOptionNames = optionNames.filter((name) => name !== 'maxAge' && name !== 'expires' && name !== 'signed');
const sameSites: readonly NonNullable<CookieOptions['sameSite']>[] = ['lax', 'strict', 'none'];
const priorities: readonly NonNullable<CookieOptions['priority']>[] = ['low', 'medium', 'high'];

/** A cookie name: an RFC 9110 token, as RFC 6265 section 4.1.1 asks. */
const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A host name (RFC 1123 labels), a leading dot allowed as browsers ignore it. */
const domainPattern = /^\.?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** A path attribute: any visible ASCII or space but `;` (RFC 6265 section 4.1.1). */
const pathPattern = /^[\x20-\x3a\x3c-\x7e]+$/;
/** RFC 6265bis section 5.6: browsers ignore a cookie whose name and value pass 4096 bytes. */
const maxCookieBytes = 4096;
/** HMAC-SHA256 keys shorter than this make signatures guessable offline from one cookie. */
const minSecretBytes = 32;

const noCookies: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** Each headers object's parsed cookies, kept with the header they came from in case it changed. */
const parsed = new WeakMap<object, { header: string; cookies: Readonly<Record<string, string>> }>();

/** The Set-Cookie line for a cookie, every option checked first. */
function cookieLine(name: unknown, value: unknown, options: CookieOptions, what: string): string {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  if (what === 'setCookie') checkKnownOptions(options, optionNames, 'setCookie');
  if (typeof name !== 'string' || !tokenPattern.test(name)) {
    throw new InvalidOptionError(
      'name',
      `a cookie name made of letters, digits and !#$%&'*+-.^_\`|~, got ${describe(name)}`,
    );
  }
  if (typeof value !== 'string') throw new InvalidOptionError('value', `a string, got ${describe(value)}`);
  const o = options as Record<string, unknown>;
  const secure = booleanOption(o, 'secure', false);
  const partitioned = booleanOption(o, 'partitioned', false);
  const sameSite = choiceOption(o, 'sameSite', sameSites, 'lax');
  const priority = o.priority === undefined ? undefined : choiceOption(o, 'priority', priorities, 'medium');
  const path = o.path ?? '/';
  if (typeof path !== 'string' || !pathPattern.test(path)) {
    throw new InvalidOptionError('path', `a path of visible ASCII characters without ';', got ${describe(path)}`);
  }
  const { domain, maxAge, expires } = o;
  if (domain !== undefined && (typeof domain !== 'string' || !domainPattern.test(domain))) {
    throw new InvalidOptionError('domain', `a host name such as 'example.com', got ${describe(domain)}`);
  }
  if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isSafeInteger(maxAge) || maxAge < 0)) {
    throw new InvalidOptionError('maxAge', `a whole number of seconds, 0 or more, got ${describe(maxAge)}`);
  }
  if (expires !== undefined && (!(expires instanceof Date) || Number.isNaN(expires.getTime()))) {
    throw new InvalidOptionError('expires', `a valid Date, got ${describe(expires)}`);
  }
  if (sameSite === 'none' && !secure) {
    throw new InvalidOptionError('sameSite', "'none' only with secure: true (browsers refuse it otherwise)");
  }
  if (partitioned && !secure) {
    throw new InvalidOptionError('partitioned', 'true only with secure: true (browsers refuse it otherwise)');
  }
  checkPrefix(name, secure, path, domain);
  const signed = o.signed === undefined ? value : sign(name, value, secretList(o.signed, 'signed')[0]!);
  let encoded: string;
  try {
    encoded = encodeURIComponent(signed);
  } catch {
    throw new InvalidOptionError('value', 'a string that can be encoded in UTF-8 (it holds a lone surrogate)');
  }
  if (name.length + encoded.length > maxCookieBytes) {
    throw new InvalidOptionError(
      'value',
      `a cookie whose name and encoded value fit in ${maxCookieBytes} bytes (browsers ignore larger ones), got ${name.length + encoded.length}`,
    );
  }
  return serialize(name, encoded, {
    encode: (already) => already,
    path,
    httpOnly: booleanOption(o, 'httpOnly', true),
    sameSite,
    secure,
    partitioned,
    ...(priority === undefined ? {} : { priority }),
    ...(domain === undefined ? {} : { domain }),
    ...(maxAge === undefined ? {} : { maxAge }),
    ...(expires === undefined ? {} : { expires }),
  });
}

/** What the `__Secure-` and `__Host-` name prefixes demand (RFC 6265bis section 4.1.3): browsers refuse the cookie otherwise. */
function checkPrefix(name: string, secure: boolean, path: string, domain: unknown): void {
  const lower = name.toLowerCase();
  if ((lower.startsWith('__secure-') || lower.startsWith('__host-')) && !secure) {
    throw new InvalidOptionError('secure', `true for a cookie named ${name} (its prefix demands it)`);
  }
  if (lower.startsWith('__host-') && (path !== '/' || domain !== undefined)) {
    throw new InvalidOptionError('path', `'/' and no domain for a cookie named ${name} (its prefix demands it)`);
  }
}

/** A copy of `res` with `line` after the Set-Cookie values it had under any spelling of the name. */
function withSetCookie<R extends JetResponse>(res: R, line: string): CookieResponse<R> {
  const headers: Record<string, string | number | readonly string[] | undefined> = {};
  const lines: string[] = [];
  const given = res.headers ?? {};
  for (const key of Object.keys(given)) {
    const value = given[key];
    if (key.toLowerCase() !== 'set-cookie') headers[key] = value;
    else if (Array.isArray(value)) lines.push(...(value as readonly string[]));
    else if (value !== undefined) lines.push(String(value));
  }
  lines.push(line);
  headers['set-cookie'] = lines;
  return { ...res, headers };
}

/** `value.signature`: the signature covers the name too, so a signed value cannot be moved to another cookie. */
function sign(name: string, value: string, secret: string): string {
  return `${value}.${signature(name, value, secret)}`;
}

/** The value a signed cookie holds when one of `secrets` made its signature, else undefined. */
function unsign(name: string, signed: string, secrets: readonly string[]): string | undefined {
  const dot = signed.lastIndexOf('.');
  if (dot === -1 || signed.length - dot - 1 !== signatureLength) return undefined;
  const value = signed.slice(0, dot);
  const given = Buffer.from(signed.slice(dot + 1));
  // A multi-byte character in the signature makes the lengths differ: not ours.
  if (given.length !== signatureLength) return undefined;
  let valid = false;
  for (const secret of secrets) {
    if (timingSafeEqual(given, Buffer.from(signature(name, value, secret)))) valid = true;
  }
  return valid ? value : undefined;
}

/** Base64url of HMAC-SHA256 over `name=value`. */
function signature(name: string, value: string, secret: string): string {
  return createHmac('sha256', secret).update(`${name}=${value}`).digest('base64url');
}

/** Characters of a base64url SHA-256 digest, without padding. */
const signatureLength = 43;

/** The secrets as a non-empty list, each long enough. */
function secretList(secret: unknown, option: string): readonly string[] {
  const list = typeof secret === 'string' ? [secret] : Array.isArray(secret) ? (secret as unknown[]) : undefined;
  if (list === undefined || list.length === 0) {
    throw new InvalidOptionError(option, `a secret string or a non-empty list of them, got ${describe(secret)}`);
  }
  for (let i = 0; i < list.length; i++) {
    const entry = list[i];
    if (typeof entry !== 'string' || Buffer.byteLength(entry) < minSecretBytes) {
      throw new InvalidOptionError(
        list === secret ? `${option}[${i}]` : option,
        `a secret of at least ${minSecretBytes} bytes (e.g. randomBytes(32).toString('base64url')), got ${typeof entry === 'string' ? `${Buffer.byteLength(entry)} bytes` : describe(entry)}`,
      );
    }
  }
  return list as readonly string[];
}
