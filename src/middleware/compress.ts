// `compress()`: response compression (br, gzip, deflate) negotiated from Accept-Encoding.
import { isObservable, map, mergeMap, of, type Observable } from 'rxjs';
import { describe, InvalidOptionError } from '../internal/errors.js';
import type { OutgoingHeaders } from '../internal/headers.js';
import { negotiatorPackage } from '../internal/packages.js';
import { isAsyncIterable, isPullable } from '../internal/pull.js';
import { checkKnownOptions, functionOption, integerOption } from '../internal/validate.js';
import type { Middleware, Next } from '../router/types.js';
import type { BodyChunk, JetRequest, JetResponse, WebSocketResponse } from '../server/types.js';
import { rawHeaderOf } from './response-headers.js';
import {
  type Codec,
  type CompressEncoding,
  encodePull,
  encodePush,
  encodeWhole,
  zlibCodec,
} from './compressed-body.js';

export type { CompressEncoding } from './compressed-body.js';

/** Options of {@link compress}. */
export interface CompressOptions {
  /**
   * Whole bodies (strings and bytes) smaller than this many bytes are sent as they are: a few
   * hundred bytes gain little and cost a round of zlib. Streaming bodies are compressed whatever
   * their size, unless they declare a `content-length` below it.
   * @default 1024
   */
  threshold?: number;
  /**
   * The codings offered, in the server's order of preference where the client's q-values tie
   * (`Accept-Encoding: gzip, br` gets br by default). Leave one out to never use it.
   * @default ['br', 'gzip', 'deflate']
   */
  encodings?: readonly CompressEncoding[];
  /**
   * zlib's compression level for gzip and deflate, 0 (none) to 9 (smallest, slowest).
   * @default 6 (zlib's own default)
   */
  level?: number;
  /**
   * Brotli's quality, 0 to 11. Brotli's own default, 11, is meant for assets compressed once
   * ahead of time and is tens of times slower; 4 compresses on the fly about as fast as gzip at
   * level 6, and smaller.
   * @default 4
   */
  brotliQuality?: number;
  /**
   * Decides, for a response that may be compressed, whether it is worth it: called after the
   * rules that always hold (see {@link compress}), before the threshold and the negotiation.
   * A throw fails the response, as a throwing handler does.
   * @default {@link compressible}: by content type
   */
  filter?: (res: JetResponse, req: JetRequest) => boolean;
}

/**
 * Middleware that compresses responses with br, gzip or deflate (node's zlib), whichever the
 * request's `Accept-Encoding` prefers by its q-values (`identity`, `q=0` and `*` honoured; at
 * equal q, br before gzip before deflate, or the order of `encodings`). When the client prefers
 * no coding, or accepts none of them, the response is sent as it is.
 *
 * - Whole bodies (strings and bytes) of `threshold` bytes or more are compressed off the main
 *   thread, and the response is emitted once they are, with a new `content-length`.
 * - Streaming bodies (Observables, async iterables, Readables) are compressed chunk by chunk,
 *   each chunk flushed (`Z_SYNC_FLUSH`, `BROTLI_OPERATION_FLUSH`), so a compressed SSE stream
 *   still reaches the client event by event. A pull body stays a pull body: its source is read
 *   only as fast as the client takes the compressed bytes. When the client goes away, the
 *   encoder is stopped and the source unsubscribed (or returned, or destroyed).
 * - Left as they are: answers to HEAD, bodyless statuses (204, 205, 304), 206 (Range) answers,
 *   responses with a `content-encoding` already, or `cache-control: no-transform`,
 *   `{ websocket }` answers, empty bodies, and what `filter` refuses (by default, types that are
 *   already compressed: images, audio, video, archives, fonts other than TTF/OTF).
 * - Compressing sets `content-encoding`, drops `content-length` (and `accept-ranges`: ranges
 *   would count the uncompressed bytes) and makes a strong `etag` weak (`W/"…"`), since the bytes
 *   differ from the uncompressed ones. `Vary: Accept-Encoding` is added (to a `vary` already
 *   there) whenever the answer depended on the request's `Accept-Encoding`, compressed or not.
 *
 * Errors from below pass through untouched.
 *
 * @param options - `threshold`, `encodings`, `level`, `brotliQuality`, `filter`
 * @returns the middleware
 * @example
 * ```ts
 * import { router } from 'rxjet/router';
 * import { compress } from 'rxjet/middleware';
 * import { serve, sse } from 'rxjet/server';
 * import { interval, map } from 'rxjs';
 *
 * const app = router()
 *   .use(compress({ threshold: 512 }))
 *   .get('/report', () => ({ headers: { 'content-type': 'text/csv' }, body: 'id,name\n'.repeat(1000) }))
 *   .get('/ticks', () => sse(interval(1000).pipe(map((i) => ({ data: i })))));
 * await serve({ handler: app });
 * ```
 */
export function compress(options: CompressOptions = {}): Middleware {
  return compressWith(options);
}

/**
 * The default `filter` of {@link compress}: whether a response's type is worth compressing.
 * True for `text/*`, JSON, JavaScript, XML, `+json`, `+xml` and `+text` types, SVG, WebAssembly,
 * forms, YAML, TOML, GraphQL, ndjson, TTF/OTF fonts and the like; false for images, audio, video,
 * archives and other types that are compressed already, or unknown. A response without a
 * `content-type` is compressible when its body is a string (text, whatever its type).
 *
 * @param res - the response, with its headers in any case
 * @returns true to compress it
 * @example
 * ```ts
 * import { compress, compressible } from 'rxjet/middleware';
 * import type { JetResponse } from 'rxjet/server';
 *
 * // Also compress a binary format of our own that is known to compress well.
 * const isTrace = (res: JetResponse) => String(res.headers?.['content-type']).startsWith('application/x-trace');
 * const middleware = compress({ filter: (res) => compressible(res) || isTrace(res) });
 * ```
 */
export function compressible(res: JetResponse): boolean {
  const type = rawHeaderOf(res.headers, 'content-type');
  if (type === undefined) return typeof res.body === 'string';
  const essence = String(Array.isArray(type) ? type[0] : type)
    .split(';', 1)[0]!
    .trim()
    .toLowerCase();
  return essence.startsWith('text/') || compressibleTypes.has(essence) || compressibleSuffix.test(essence);
}

/** The checked options, with their defaults. */
interface Settings {
  readonly threshold: number;
  readonly encodings: readonly CompressEncoding[];
  readonly level: number;
  readonly brotliQuality: number;
  readonly filter: (res: JetResponse, req: JetRequest) => boolean;
}

/**
 * {@link compress} with the encoders given: zlib's by default, ones that run in virtual time in
 * marble specs.
 *
 * @internal
 */
export function compressWith(options: CompressOptions, given?: Codec): Middleware {
  const settings = resolve(options);
  const codec = given ?? zlibCodec(settings.level, settings.brotliQuality);
  const offered = [...settings.encodings, 'identity'];
  return (req: JetRequest, next: Next) => {
    if (req.method === 'HEAD') return next();
    return next().pipe(
      mergeMap((res): Observable<JetResponse> => {
        const plan = planFor(req, res, settings, offered);
        if (plan === undefined) return of(res);
        if (plan.encoding === undefined) return of(changed(res, plan.headers, res.body));
        const encoding = plan.encoding;
        const where = `${req.method} ${req.url}`;
        const body = res.body;
        if (typeof body === 'string' || body instanceof Uint8Array) {
          const headers = encodedHeaders(plan.headers, encoding);
          return encodeWhole(body, (size) => codec(encoding, { flush: false, size })).pipe(
            map((encoded) => changed(res, headers, encoded)),
          );
        }
        const open = () => codec(encoding, { flush: true });
        const encoded =
          isObservable(body) && !isPullable(body)
            ? encodePush(body, open, where)
            : encodePull(body as AsyncIterable<BodyChunk>, open, where);
        return of(changed(res, encodedHeaders(plan.headers, encoding), encoded));
      }),
    );
  };
}

const optionNames = ['threshold', 'encodings', 'level', 'brotliQuality', 'filter'];
const allEncodings: readonly CompressEncoding[] = ['br', 'gzip', 'deflate'];
/** Statuses that never carry a body, and 206, whose body is a range of the uncompressed bytes. */
const untouchedStatuses = new Set([204, 205, 206, 304]);
const compressibleTypes = new Set([
  'application/json',
  'application/javascript',
  'application/ecmascript',
  'application/x-javascript',
  'application/xml',
  'application/wasm',
  'application/x-www-form-urlencoded',
  'application/graphql',
  'application/x-ndjson',
  'application/ndjson',
  'application/yaml',
  'application/x-yaml',
  'application/toml',
  'application/rtf',
  'application/x-sh',
  'application/x-tar',
  'application/postscript',
  'application/vnd.ms-fontobject',
  'font/ttf',
  'font/otf',
  'image/bmp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
]);
const compressibleSuffix = /\+(?:json|xml|text)$/;

function resolve(options: CompressOptions): Settings {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', `an object, got ${describe(options)}`);
  }
  checkKnownOptions(options, optionNames, 'compress');
  const o = options as Record<string, unknown>;
  return {
    threshold: integerOption(o, 'threshold', 1024),
    encodings: encodingsOption(o.encodings),
    level: integerOption(o, 'level', 6, 0, 9),
    brotliQuality: integerOption(o, 'brotliQuality', 4, 0, 11),
    filter: functionOption<Settings['filter']>(o, 'filter') ?? compressible,
  };
}

function encodingsOption(value: unknown): readonly CompressEncoding[] {
  if (value === undefined) return allEncodings;
  const problem = `a non-empty list of distinct codings from ${allEncodings.map((e) => `"${e}"`).join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidOptionError('encodings', `${problem}, got ${describe(value)}`);
  }
  const seen = new Set<CompressEncoding>();
  for (const entry of value as unknown[]) {
    if (!allEncodings.includes(entry as CompressEncoding) || seen.has(entry as CompressEncoding)) {
      throw new InvalidOptionError('encodings', `${problem}, got ${describe(entry)} in the list`);
    }
    seen.add(entry as CompressEncoding);
  }
  return [...seen];
}

/** What to do with one response: nothing (undefined), or add Vary and maybe encode. */
interface Plan {
  readonly headers: OutgoingHeaders;
  readonly encoding: CompressEncoding | undefined;
}

function planFor(
  req: JetRequest,
  res: JetResponse | WebSocketResponse,
  settings: Settings,
  offered: readonly string[],
): Plan | undefined {
  if (typeof (res as Partial<WebSocketResponse>).websocket === 'function') return undefined;
  if (untouchedStatuses.has(res.status ?? 200)) return undefined;
  const { headers = {}, body } = res;
  const encoded = rawHeaderOf(headers, 'content-encoding');
  if (encoded !== undefined && String(encoded).trim().toLowerCase() !== 'identity') return undefined;
  if (hasToken(rawHeaderOf(headers, 'cache-control'), 'no-transform')) return undefined;
  const size = wholeSize(body);
  // Nothing to compress, or not a body at all (the server answers that with its own error).
  if (size === 0 || (size === undefined && !isStream(body))) return undefined;
  if (!settings.filter(res, req)) return undefined;
  const length = size ?? Number(rawHeaderOf(headers, 'content-length') ?? Infinity);
  if (length < settings.threshold) return undefined;
  // From here on, the answer depends on the request's Accept-Encoding.
  const Negotiator = negotiatorPackage();
  const negotiator = new Negotiator({ headers: { 'accept-encoding': req.headers['accept-encoding'] ?? '' } });
  const [choice] = (negotiator.encodings as PreferredEncodings).call(negotiator, offered, { preferred: offered });
  const encoding = choice === undefined || choice === 'identity' ? undefined : (choice as CompressEncoding);
  return { headers: withVary(headers), encoding };
}

/** Negotiator 1.x takes the server's order for ties (`preferred`); its published types predate that. */
type PreferredEncodings = (available: readonly string[], options: { preferred: readonly string[] }) => string[];

/** The byte size of a whole body, or undefined for a streaming one. */
function wholeSize(body: unknown): number | undefined {
  if (typeof body === 'string') return Buffer.byteLength(body);
  return body instanceof Uint8Array ? body.byteLength : undefined;
}

/** A streaming body: an Observable, an async iterable or a Readable. */
function isStream(body: unknown): body is object {
  return typeof body === 'object' && body !== null && (isObservable(body) || isAsyncIterable(body));
}

/** The headers of a compressed response. */
function encodedHeaders(headers: OutgoingHeaders, encoding: CompressEncoding): OutgoingHeaders {
  const out = without(headers, ['content-encoding', 'content-length', 'accept-ranges', 'etag']);
  const etag = rawHeaderOf(headers, 'etag');
  if (etag !== undefined) out.etag = Array.isArray(etag) ? etag.map(weak) : weak(String(etag));
  out['content-encoding'] = encoding;
  return out;
}

/** A strong entity tag made weak: the compressed bytes are not the ones it was made for. */
function weak(etag: string): string {
  return etag.startsWith('W/') ? etag : `W/${etag}`;
}

/** `Vary: Accept-Encoding`, merged with a `vary` already there. */
function withVary(headers: OutgoingHeaders): OutgoingHeaders {
  const vary = rawHeaderOf(headers, 'vary');
  if (vary === undefined) return { ...headers, vary: 'Accept-Encoding' };
  const listed = (Array.isArray(vary) ? vary.join(', ') : String(vary)).trim();
  if (hasToken(listed, 'accept-encoding') || hasToken(listed, '*')) return headers;
  const out = without(headers, ['vary']);
  out.vary = listed === '' ? 'Accept-Encoding' : `${listed}, Accept-Encoding`;
  return out;
}

/** The headers without the given names, in any case. */
function without(headers: OutgoingHeaders, names: readonly string[]): Record<string, OutgoingHeaders[string]> {
  const out: Record<string, OutgoingHeaders[string]> = {};
  for (const key of Object.keys(headers)) if (!names.includes(key.toLowerCase())) out[key] = headers[key];
  return out;
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
function hasToken(value: OutgoingHeaders[string], token: string): boolean {
  if (value === undefined) return false;
  const text = Array.isArray(value) ? value.join(',') : String(value);
  return text.split(',').some((part) => part.trim().toLowerCase() === token);
}

/**
 * The response with new headers and body, keeping everything else it carries (a failure that
 * `errorResponse` attached, for the server to report).
 */
function changed(res: JetResponse, headers: OutgoingHeaders, body: JetResponse['body']): JetResponse {
  const prototype = Object.getPrototypeOf(res) as object | null;
  const out = Object.create(prototype, Object.getOwnPropertyDescriptors(res)) as JetResponse;
  Object.defineProperty(out, 'headers', { value: headers, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(out, 'body', { value: body, enumerable: true, writable: true, configurable: true });
  return out;
}
