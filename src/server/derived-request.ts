// The request a derivation makes: one fixed shape that forwards what it shares to the original.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { contextOf, kContext, type RequestContext } from '../internal/request-context.js';
import type { JetRequest, RequestBody } from './types.js';

/** The request a derived one shares its state with. */
const kBase = Symbol('rxjet.base');
/** A derived request's parsed query, and the query it was parsed from. */
const kSearch = Symbol('rxjet.search');
/**
 * The rest of the path a router's wildcard matched, before its last decoding (only the escapes of
 * `/`, `?`, `#` and `%` are left in it), for `serveStatic` to refuse encoded separators; kept by
 * further derivations.
 */
export const kRawRest: unique symbol = Symbol('rxjet.rawRest');
/** A derived request's own default limit for the body helpers, when a derivation gave one. */
const kLimit = Symbol('rxjet.limit');

/**
 * A request derived from another (by `deriveRequest`, or by a router for its routes): the
 * target's four fields and any fields of its own are its own properties; the headers, body,
 * signal, raw request, peer and limits are read from the original through getters.
 *
 * One class for every derivation, rather than `Object.create(original)`: making each request
 * the prototype of another gives V8 a new object shape per request, which turns the property
 * caches of every middleware megamorphic and costs microseconds a request.
 */
export class DerivedRequest implements JetRequest {
  // Declared, then assigned in the constructor in one order: one shape, and plain stores.
  declare method: string;
  declare url: string;
  declare path: string;
  declare query: string;
  declare private readonly [kBase]: JetRequest;
  declare private [kSearch]: { query: string; params: URLSearchParams } | undefined;
  declare private [kLimit]: number | undefined;
  declare [kRawRest]: string | undefined;

  /** @param base - the request to derive from; its own fields, those of a derived request included, are copied */
  constructor(base: JetRequest) {
    const derived = isDerived(base);
    this.method = base.method;
    this.url = base.url;
    this.path = base.path;
    this.query = base.query;
    this[kBase] = derived ? base[kBase] : base;
    this[kSearch] = undefined;
    this[kLimit] = derived ? base[kLimit] : undefined;
    this[kRawRest] = derived ? base[kRawRest] : undefined;
    // Fields a derivation added (a router's params, a request id) go on, and so do those of a
    // request made by hand; rxjet's own request classes keep nothing else worth copying.
    if (derived || contextOf(base) === undefined) {
      const own = this as unknown as Record<string, unknown>;
      for (const name in base) {
        if (name === 'method' || name === 'url' || name === 'path' || name === 'query') continue;
        if (Object.hasOwn(base, name) && !isMember(name)) {
          own[name] = (base as unknown as Record<string, unknown>)[name];
        }
      }
    }
  }

  get headers(): Readonly<Record<string, string>> {
    return this[kBase].headers;
  }

  get body(): RequestBody {
    return this[kBase].body;
  }

  get signal(): AbortSignal {
    return this[kBase].signal;
  }

  get raw(): IncomingMessage | Http2ServerRequest | undefined {
    return this[kBase].raw;
  }

  get remoteAddress(): string {
    return this[kBase].remoteAddress;
  }

  get scheme(): 'http' | 'https' {
    return this[kBase].scheme;
  }

  get protocol(): string {
    return this[kBase].protocol;
  }

  /** The default limit of the body helpers: the original's, unless a derivation gave one. */
  get maxBodySize(): number | undefined {
    return this[kLimit] ?? (this[kBase] as { maxBodySize?: number }).maxBodySize;
  }

  set maxBodySize(limit: number | undefined) {
    this[kLimit] = limit;
  }

  /** The query parsed, on first use, from this request's own `query`. */
  get searchParams(): URLSearchParams {
    const cached = this[kSearch];
    if (cached !== undefined && cached.query === this.query) return cached.params;
    const params = new URLSearchParams(this.query);
    this[kSearch] = { query: this.query, params };
    return params;
  }

  set searchParams(params: URLSearchParams) {
    this[kSearch] = { query: this.query, params };
  }

  get [kContext](): RequestContext | undefined {
    return contextOf(this[kBase]);
  }
}

// Outside the class, so that its body never names it: a bundler would otherwise give the class a
// second, inner name, and that is the name stack traces and `inspect` would show.
function isDerived(request: JetRequest): request is DerivedRequest {
  return request instanceof DerivedRequest;
}

function isMember(name: string): boolean {
  return name in DerivedRequest.prototype;
}
