// The request map of a served request: cheap fields at once, headers, body and signal on first use.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import { joinRawHeaders } from '../internal/headers.js';
import { incomingBody } from './request-body.js';
import type { ResponseTarget } from './response-target.js';
import { leaveUnread } from './unread-body.js';
import { kContext, LazySignal, type RequestContext } from '../internal/request-context.js';
import type { JetRequest, RequestBody } from './types.js';

/** The server limits a request needs. */
export interface RequestLimits {
  readonly maxBodySize: number;
  readonly maxRequestBodySize: number;
}

/**
 * The request map of a node request. Cheap fields are set at once; `headers`, `body`,
 * and `signal` are computed on first use, so a handler that never looks at
 * them costs no more than a bare node handler (an object literal with getters, or an eager
 * AbortController, each cost more than the whole of node's request handling).
 */
export class IncomingRequest<Raw extends IncomingMessage | Http2ServerRequest = IncomingMessage | Http2ServerRequest>
  implements JetRequest, RequestContext
{
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: string;
  readonly scheme: 'http' | 'https';
  readonly protocol: string;
  /** Read at once: node can tell it only while the socket is open. */
  readonly remoteAddress: string;
  readonly raw: Raw;
  /** The original request; a request derived with `Object.create(req, …)` shares its lazy state. @internal */
  readonly [kContext]: IncomingRequest<Raw>;
  private lazyHeaders: Record<string, string> | undefined = undefined;
  private lazyBody: RequestBody | undefined = undefined;
  private readonly lazySignal = new LazySignal();
  /** The rest of the body was given up on (`stopReading`). */
  private unread = false;

  /** @param res - the response to this request, ended before the connection when the body is left unread */
  constructor(
    raw: Raw,
    scheme: 'http' | 'https',
    private readonly limits: RequestLimits,
    private readonly res?: ResponseTarget,
  ) {
    const url = raw.url ?? '/';
    this.method = raw.method ?? 'GET';
    this.url = url;
    if (url.charCodeAt(0) === 47 /* / */) {
      const mark = url.indexOf('?');
      this.path = mark === -1 ? url : url.slice(0, mark);
      this.query = mark === -1 ? '' : url.slice(mark + 1);
    } else {
      const { path, query } = splitTarget(url);
      this.path = path;
      this.query = query;
    }
    this.scheme = scheme;
    this.protocol = raw.httpVersion === '1.1' ? 'HTTP/1.1' : `HTTP/${raw.httpVersion}`;
    this.raw = raw;
    this.remoteAddress = unwrapAddress(raw.socket.remoteAddress);
    this[kContext] = this;
  }

  get headers(): Record<string, string> {
    const self = this[kContext];
    return (self.lazyHeaders ??= joinRawHeaders(self.raw.rawHeaders));
  }

  get body(): RequestBody {
    const self = this[kContext];
    return (self.lazyBody ??= incomingBody(
      self.raw,
      self.limits.maxRequestBodySize,
      () => `${self.method} ${self.url}`,
      () => self.unread,
    ));
  }

  get signal(): AbortSignal {
    return this[kContext].lazySignal.signal;
  }

  get maxBodySize(): number {
    return this[kContext].limits.maxBodySize;
  }

  abort(reason: Error): void {
    this[kContext].lazySignal.abort(reason);
  }

  stopReading(): void {
    const self = this[kContext];
    if (self.unread || self.res === undefined) return;
    self.unread = leaveUnread(self.raw, self.res);
  }
}

/** Splits a request target into path and query; absolute-form targets keep only their path. */
export function splitTarget(url: string): { path: string; query: string } {
  if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') {
    try {
      const parsed = new URL(url);
      return { path: parsed.pathname, query: parsed.search.slice(1) };
    } catch {
      return { path: url, query: '' };
    }
  }
  const mark = url.indexOf('?');
  return mark === -1 ? { path: url, query: '' } : { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

/** Strips the IPv4-mapped prefix node reports on dual-stack sockets. */
export function unwrapAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
