// HTTP Digest authentication (RFC 7616): reading a server's challenge and writing the answer.
import { createHash, randomBytes } from 'node:crypto';

/** The Digest challenge among `WWW-Authenticate` values, or undefined when there is none. */
export function digestChallenge(header: string | string[] | undefined): DigestChallenge | undefined {
  for (const value of Array.isArray(header) ? header : header === undefined ? [] : [header]) {
    const match = /^\s*Digest\s+(.*)$/i.exec(value);
    if (match === null) continue;
    // A Map: parameter names come from the server, and `__proto__` or `constructor` is just a name.
    const params = new Map<string, string>();
    for (const [, name, quoted, bare] of match[1]!.matchAll(
      /([a-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/gi,
    )) {
      params.set(name!.toLowerCase(), quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : bare!);
    }
    const realm = params.get('realm');
    const nonce = params.get('nonce');
    if (realm === undefined || nonce === undefined) continue;
    const qops = params
      .get('qop')
      ?.split(',')
      .map((q) => q.trim().toLowerCase());
    return {
      realm,
      nonce,
      qop: qops === undefined ? undefined : qops.includes('auth') ? 'auth' : undefined,
      opaque: params.get('opaque'),
      algorithm: params.get('algorithm') ?? 'MD5',
    };
  }
  return undefined;
}

/** node's hash for each algorithm a challenge may name (a Map: the name comes from the server). */
const hashes = new Map([
  ['MD5', 'md5'],
  ['MD5-SESS', 'md5'],
  ['SHA-256', 'sha256'],
  ['SHA-256-SESS', 'sha256'],
]);

/**
 * The `Authorization` header answering a Digest challenge (RFC 7616; MD5 and SHA-256, with or
 * without -sess, qop auth or none), or undefined for an algorithm it does not speak.
 */
export function digestAuthorization(
  challenge: DigestChallenge,
  credentials: readonly [user: string, password: string],
  method: string,
  uri: string,
  cnonce = randomBytes(8).toString('hex'),
): string | undefined {
  const algorithm = challenge.algorithm.toUpperCase();
  const hash = hashes.get(algorithm);
  if (hash === undefined) return undefined;
  const h = (text: string): string => createHash(hash).update(text).digest('hex');
  const [user, password] = credentials;
  const nc = '00000001';
  let ha1 = h(`${user}:${challenge.realm}:${password}`);
  if (algorithm.endsWith('-SESS')) ha1 = h(`${ha1}:${challenge.nonce}:${cnonce}`);
  const ha2 = h(`${method}:${uri}`);
  const response =
    challenge.qop === 'auth'
      ? h(`${ha1}:${challenge.nonce}:${nc}:${cnonce}:auth:${ha2}`)
      : h(`${ha1}:${challenge.nonce}:${ha2}`);
  const quote = (value: string): string => `"${value.replace(/(["\\])/g, '\\$1')}"`;
  const parts = [
    `username=${quote(user)}`,
    `realm=${quote(challenge.realm)}`,
    `nonce=${quote(challenge.nonce)}`,
    `uri=${quote(uri)}`,
    `algorithm=${challenge.algorithm}`,
    `response=${quote(response)}`,
  ];
  if (challenge.qop === 'auth') parts.push('qop=auth', `nc=${nc}`, `cnonce=${quote(cnonce)}`);
  if (challenge.opaque !== undefined) parts.push(`opaque=${quote(challenge.opaque)}`);
  return `Digest ${parts.join(', ')}`;
}

/** A parsed `WWW-Authenticate: Digest …` challenge. */
export interface DigestChallenge {
  realm: string;
  nonce: string;
  qop: string | undefined;
  opaque: string | undefined;
  algorithm: string;
}
