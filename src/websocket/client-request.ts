// The request map a client WebSocket keeps as `conn.request`: the URL and headers it sent.
import { joinRawHeaders } from '../internal/headers.js';
import { emptyBody } from '../internal/once-body.js';
import { kContext, LazySignal, type RequestContext } from '../internal/request-context.js';
import type { JetRequest, RequestBody } from '../types.js';

/**
 * The opening request of a client WebSocket, as a request map: `GET` of the URL's path and
 * query, with the headers it was given (shaped as a served request's) and no body. Its signal
 * aborts when the connection closes.
 */
export class ClientUpgradeRequest implements JetRequest, RequestContext {
  readonly method = 'GET';
  readonly url: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: 'http' | 'https';
  readonly protocol = 'HTTP/1.1';
  readonly remoteAddress: string;
  readonly raw: undefined = undefined;
  /** The original request; one derived with `deriveRequest` shares its state through it. @internal */
  readonly [kContext]: ClientUpgradeRequest;
  private readonly heldHeaders: Record<string, string>;
  private readonly lazySignal = new LazySignal();
  private lazyBody: RequestBody | undefined;

  constructor(
    target: URL,
    headers: Readonly<Record<string, string | readonly string[]>> | undefined,
    remoteAddress: string,
  ) {
    this.path = target.pathname;
    this.query = target.search.slice(1);
    this.url = `${target.pathname}${target.search}`;
    this.scheme = target.protocol === 'wss:' ? 'https' : 'http';
    this.remoteAddress = remoteAddress;
    const fields: string[] = [];
    for (const [name, value] of Object.entries(headers ?? {})) {
      for (const item of typeof value === 'string' ? [value] : value) fields.push(name, item);
    }
    this.heldHeaders = joinRawHeaders(fields);
    this[kContext] = this;
  }

  get headers(): Readonly<Record<string, string>> {
    return this[kContext].heldHeaders;
  }

  /** An opening request has no body to read. */
  get body(): RequestBody {
    const self = this[kContext];
    return (self.lazyBody ??= emptyBody());
  }

  get signal(): AbortSignal {
    return this[kContext].lazySignal.signal;
  }

  get maxBodySize(): number {
    return 0;
  }

  abort(reason: Error): void {
    this[kContext].lazySignal.abort(reason);
  }
}
