// `mockRequest()`: a request with no socket, shaped as a served request is.
import { from, isObservable, map, Observable } from 'rxjs';
import { InvalidOptionError, describe } from '../internal/errors.js';
import { joinRawHeaders } from '../internal/headers.js';
import { checkKnownOptions, limitOption } from '../internal/validate.js';
import { limitedBody } from '../server/request-body.js';
import { kContext, LazySignal, type RequestContext } from '../internal/request-context.js';
import { splitTarget } from '../server/request.js';
import type { BodyChunk, JetRequest, RequestBody } from '../server/types.js';

/** What {@link mockRequest} builds a request from; everything has a default. */
export interface MockRequestOptions {
  /**
   * The method, in any case (it is upper-cased).
   * @default 'GET'
   */
  method?: string;
  /** The request target. @default '/' */
  url?: string;
  /**
   * Names are lower-cased, and an array (or two names differing in case) stands for a field
   * sent more than once: joined with `', '` (`cookie` with `'; '`), as on a real request.
   */
  headers?: Record<string, string | readonly string[]>;
  /**
   * The body: whole, or an Observable of chunks (a marble Observable works, in virtual time).
   * A whole body gets a `content-length` header unless one is given.
   */
  body?: string | Uint8Array | Observable<BodyChunk>;
  /**
   * The peer's address, `req.remoteAddress`.
   * @default '127.0.0.1'
   */
  remoteAddress?: string;
  /**
   * `req.scheme`: `'https'` stands for a request over TLS.
   * @default 'http'
   */
  scheme?: 'http' | 'https';
  /**
   * `req.protocol`, e.g. `'HTTP/2.0'`.
   * @default 'HTTP/1.1'
   */
  protocol?: string;
  /**
   * The default limit of the body helpers, as the server's `maxBodySize`.
   * @default 1048576
   */
  maxBodySize?: number;
  /**
   * The most bytes `req.body` gives, as the server's `maxRequestBodySize`: reading past it (or a
   * `content-length` over it) fails with a 413 `HttpError`. `inject` into a server uses the
   * server's own `maxBodySize` and `maxRequestBodySize` instead of these.
   * @default Infinity
   */
  maxRequestBodySize?: number;
}

const optionNames = [
  'method',
  'url',
  'headers',
  'body',
  'remoteAddress',
  'scheme',
  'protocol',
  'maxBodySize',
  'maxRequestBodySize',
];

/**
 * Builds a request with no socket, for testing handlers with {@link inject} or by calling them.
 * Its body is read-once like a real one, and its `signal` aborts when the `inject` using it is
 * unsubscribed: use one mock per `inject`.
 *
 * @param options - what differs from a plain `GET /`
 * @returns a {@link JetRequest}
 * @example
 * ```ts
 * import { mockRequest } from 'rxjet/testing';
 * const req = mockRequest({ method: 'POST', url: '/items?x=1', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
 * ```
 */
export function mockRequest(options: MockRequestOptions = {}): JetRequest {
  checkKnownOptions(options, optionNames, 'mockRequest');
  const o = options as Record<string, unknown>;
  const url = options.url ?? '/';
  if (typeof url !== 'string' || url === '') throw new InvalidOptionError('url', 'a non-empty string');
  const method = (options.method ?? 'GET').toUpperCase();
  // The fields as a client would send them, shaped by the same code as a served request's.
  const fields: string[] = [];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    for (const item of typeof value === 'string' ? [value] : value) fields.push(name, item);
  }
  const headers = joinRawHeaders(fields);
  const { body } = options;
  let chunks: Observable<Uint8Array>;
  if (body === undefined) {
    chunks = from([]);
  } else if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    headers['content-length'] ??= String(bytes.byteLength);
    chunks = from([bytes]);
  } else if (isObservable(body)) {
    chunks = body.pipe(map((chunk) => (typeof chunk === 'string' ? Buffer.from(chunk) : chunk)));
  } else {
    throw new InvalidOptionError('body', `a string, Uint8Array or Observable, got ${describe(body)}`);
  }
  const maxBodySize = limitOption(o, 'maxBodySize', 1024 * 1024);
  const maxRequestBodySize = limitOption(o, 'maxRequestBodySize', Infinity);
  const { path, query } = splitTarget(url);
  return new MockRequest(
    { method, url, path, query },
    {
      headers,
      body: limitedBody(chunks, maxRequestBodySize, Number(headers['content-length'] ?? -1)),
      maxBodySize,
      signal: new LazySignal(),
    },
    options,
  );
}

/** What a mock keeps out of its own fields, as a served request does. */
interface MockState {
  readonly headers: Record<string, string>;
  readonly body: RequestBody;
  readonly maxBodySize: number;
  readonly signal: LazySignal;
}

/**
 * A request with no socket, shaped as a served request is: its target and peer are its own
 * fields; `headers`, `body` and `signal` are read through the prototype from state the original
 * holds, so `deriveRequest` shares them and a spread keeps none of them, exactly as on a
 * served request.
 */
class MockRequest implements JetRequest, RequestContext {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: string;
  readonly remoteAddress: string;
  readonly scheme: 'http' | 'https';
  readonly protocol: string;
  readonly raw: undefined = undefined;
  /** The original request, whose state derived ones share. @internal */
  readonly [kContext]: MockRequest;
  private readonly state: MockState;

  constructor(
    target: { method: string; url: string; path: string; query: string },
    state: MockState,
    options: MockRequestOptions,
  ) {
    this.method = target.method;
    this.url = target.url;
    this.path = target.path;
    this.query = target.query;
    this.remoteAddress = options.remoteAddress ?? '127.0.0.1';
    this.scheme = options.scheme ?? 'http';
    this.protocol = options.protocol ?? 'HTTP/1.1';
    this.state = state;
    this[kContext] = this;
  }

  get headers(): Record<string, string> {
    return this[kContext].state.headers;
  }

  get body(): RequestBody {
    return this[kContext].state.body;
  }

  get signal(): AbortSignal {
    return this[kContext].state.signal.signal;
  }

  get maxBodySize(): number {
    return this[kContext].state.maxBodySize;
  }

  abort(reason: Error): void {
    this[kContext].state.signal.abort(reason);
  }
}
