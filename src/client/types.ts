// The client's public option and response types.
import type { Readable } from 'node:stream';
import type { Observable } from 'rxjs';
import type { CookieJar } from 'tough-cookie';
import type { Dispatcher } from 'undici';
import type { BackoffOptions } from '../internal/backoff.js';
import type { MultipartField } from './transport.js';
import type { ProgressTarget } from './progress.js';

/** Per-phase timeouts in milliseconds; each raises a `TimeoutError` naming its phase. */
export interface Timeouts {
  /**
   * Establishing the connection (and TLS). Set on a request, it may only be shorter than the
   * client's, and it also covers waiting for a free connection of the pool.
   * @default 10000 on a client; a request's is its client's
   */
  connect?: number;
  /**
   * From sending the request to receiving the final response head, however many interim (1xx)
   * responses come before it.
   * @default 30000 on a client; a request's is its client's
   */
  headers?: number;
  /**
   * Between two chunks of the response body: a pause, so a body trickling in a byte at a time
   * never trips it (`total` bounds that).
   * @default 30000 on a client; a request's is its client's
   */
  body?: number;
  /**
   * The whole exchange, body included; 0 is off. When none is given, a body read whole (`as`)
   * gets 60000, so such a request always settles; a streamed body gets none (bounding it is its
   * reader's call).
   * @default 60000 with `as`, 0 (off) for a streamed body
   */
  total?: number;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /** Resolves relative request URLs: `createClient({ baseUrl: 'http://127.0.0.1:8080/api/' })`. */
  baseUrl?: string;
  /** Headers sent with every request (a request's own headers win). */
  headers?: Record<string, string>;
  /**
   * Connections per origin.
   * @default 32
   */
  connections?: number;
  /**
   * Milliseconds to connect, to receive headers, between body chunks, and in all (see
   * {@link Timeouts}; a body read whole with `as` has a total of 60000 unless one is given).
   * @default { connect: 10000, headers: 30000, body: 30000 }
   */
  timeout?: Timeouts;
  /**
   * Largest body read whole by `as: 'text' | 'json' | 'bytes'`, in bytes.
   * @default 10485760 (10 MiB)
   */
  maxResponseSize?: number;
  /**
   * Cookies: `true` keeps an in-memory RFC 6265 jar shared by the client's requests, `false`
   * sends and stores none, or pass a tough-cookie `CookieJar` of your own.
   * @default true
   */
  cookies?: boolean | CookieJar;
  /**
   * Cookies the jar keeps in all; past it the least recently used (set or sent longest ago) are
   * evicted, expired ones first. RFC 6265 section 6.1 asks for at least 3000.
   * @default 3000
   */
  maxCookies?: number;
  /**
   * Cookies the jar keeps per registrable domain (`a.example.com` and `b.example.com` both count
   * as `example.com`; an IP or `localhost` as itself); past it that domain's least recently used
   * are evicted. RFC 6265 section 6.1 asks for at least 50 (browsers keep 180).
   * @default 50
   */
  maxCookiesPerDomain?: number;
  /**
   * Longest `Set-Cookie` value stored, in characters: name, value and attributes together, as
   * RFC 6265 section 6.1 measures it. A longer cookie is ignored, as browsers do.
   * @default 4096
   */
  maxCookieSize?: number;
  /**
   * Follow redirects: `true` (at most 10 hops, loops refused), `false`, or the most hops.
   * Authorization, Cookie, Proxy-Authorization and `sensitiveHeaders` are never sent to
   * another origin, and neither are cookies from the jar.
   * @default true
   */
  followRedirects?: boolean | number;
  /**
   * Offer gzip, deflate and br, and undo them (at most 5 codings per response); size limits
   * count decoded bytes. Deflate is taken zlib-wrapped or raw, as browsers take it.
   * @default true
   */
  decompress?: boolean;
  /**
   * Speak HTTP/2 with https servers that offer it (ALPN), HTTP/1.1 otherwise.
   * @default false
   */
  allowH2?: boolean;
  /**
   * Send requests through a proxy: its `http:` or `https:` URL (`'http://user:pass@proxy:3128'`),
   * or `'env'` to follow HTTP_PROXY, HTTPS_PROXY and NO_PROXY. Requests are tunnelled with
   * CONNECT; a proxy that refuses the tunnel fails them with a `NetworkError`.
   */
  proxy?: string;
  /** More headers to drop when a redirect leads to another origin. */
  sensitiveHeaders?: readonly string[];
  /** Certificate authorities to trust for https (PEM). */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Verify servers' certificates.
   * @default true
   */
  rejectUnauthorized?: boolean;
  /**
   * Send through this undici Dispatcher (an `Agent` or `Pool` of your own, or a `MockAgent` in
   * tests) instead of the client's own pool. Pool settings (`connections`, `allowH2`, `proxy`,
   * `ca`, `rejectUnauthorized`) then belong to it, and `close()` leaves it open. A `timeout.connect`
   * given with it is timed by the client, from sending until a connection takes the request.
   */
  dispatcher?: Dispatcher;
}

/** A request body. */
export type ClientRequestBody =
  string | Uint8Array | Observable<string | Uint8Array> | AsyncIterable<string | Uint8Array> | Readable;

/** How to read the response body. */
export type BodyAs = 'stream' | 'text' | 'json' | 'bytes';

/** Options of a request. */
export interface RequestOptions {
  /**
   * The request method, in any case (`'get'` is sent as `GET`).
   * @default 'GET'
   */
  method?: string;
  /** Absolute, or relative to the client's `baseUrl`. */
  url: string | URL;
  /** Request headers, over the client's `headers`; an array sends the header once per value. */
  headers?: Record<string, string | readonly string[]>;
  /** Merged into the URL's query; arrays repeat the key. */
  query?: Record<string, string | number | boolean | readonly (string | number | boolean)[]>;
  /** Sent as `application/json`. */
  json?: unknown;
  /** Sent as `application/x-www-form-urlencoded`; arrays repeat the key. */
  formParams?: Record<string, string | number | boolean | readonly (string | number | boolean)[]>;
  /**
   * Sent as `multipart/form-data` with a random boundary: text fields, or files as
   * `{ value, filename?, contentType? }`; an array repeats the field.
   */
  multipart?: Record<string, MultipartField | readonly MultipartField[]>;
  /** A body as is (an Observable or async iterable is streamed with chunked encoding). */
  body?: ClientRequestBody;
  /** HTTP Basic credentials. */
  basicAuth?: readonly [user: string, password: string];
  /**
   * Digest credentials: a 401 with a Digest challenge (MD5 or SHA-256, qop auth) is answered
   * once, as Jet's client did (the body must be a string or bytes to be sent again). Only a
   * challenge from the request's own origin is answered, never one from another origin that a
   * redirect led to.
   */
  digestAuth?: readonly [user: string, password: string];
  /** A bearer token for the Authorization header. */
  bearer?: string;
  /**
   * A total timeout in milliseconds, or per phase (overriding the client's).
   * @default the client's `timeout`; with no total given, 60000 with `as` and none for a streamed body
   */
  timeout?: number | Timeouts;
  /**
   * `'stream'` (default): `body` is an Observable of chunks as they arrive. `'text'`, `'json'`,
   * `'bytes'`: the body is read whole and decoded.
   * @default 'stream'
   */
  as?: BodyAs;
  /** Aborts the request (and its body) with an `AbortError`. */
  signal?: AbortSignal;
  /**
   * Reports upload and download progress (`{ direction, bytes, total }`, total when known) to
   * an Observer or a function, for progress bars. A whole body is then sent in 64 KiB slices.
   */
  progress?: ProgressTarget;
  /**
   * Overrides the client's `followRedirects` for this request.
   * @default the client's `followRedirects` (`true`: at most 10 hops)
   */
  followRedirects?: boolean | number;
  /**
   * Send an idempotent request again (GET, HEAD, OPTIONS, PUT, DELETE, TRACE; never POST or
   * PATCH) after a network failure, a timeout or a 408/429/502/503/504: a number of retries,
   * or options with backoff (exponential with jitter) and `Retry-After` honoured.
   * @default 0
   */
  retry?: number | RetryOptions;
}

/** A streamed response body: an Observable of chunks that can also be pulled with `for await`. */
export type ClientResponseBody = Observable<Uint8Array> & AsyncIterable<Uint8Array>;

/** A response; `body` depends on `as`. */
export interface ClientResponse<B = ClientResponseBody> {
  /** The status code; non-2xx statuses are responses too, not errors. */
  status: number;
  /** The URL that answered, after any redirects. */
  url: string;
  /** Lower-case names; a repeated header gives an array. */
  headers: Record<string, string | string[] | undefined>;
  /**
   * Without `as`, the body as it streams in: subscribe to it (or pull it with `for await`) to
   * read it, unsubscribe to abort it. With `as`, the body read whole and decoded.
   */
  body: B;
}

/** Options of the method helpers (`get`, `post`, …): a request's options without method and URL. */
export type MethodOptions = Omit<RequestOptions, 'method' | 'url'>;

/** When and how often a request is sent again. */
export interface RetryOptions extends BackoffOptions {
  /**
   * Attempts after the first.
   * @default 2
   */
  count?: number;
  /**
   * Statuses worth another try; the last response is returned as it is when the count runs out.
   * @default [408, 429, 502, 503, 504]
   */
  statuses?: readonly number[];
  /**
   * Longest `Retry-After` honoured, in milliseconds; a longer one ends the retries.
   * @default 60000
   */
  maxRetryAfter?: number;
}
