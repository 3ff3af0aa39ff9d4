// The request map a server-side WebSocket keeps for its lifetime.
import type { IncomingMessage } from 'node:http';
import { HeaderRecord } from '../internal/headers.js';
import { emptyBody } from '../internal/once-body.js';
import { kContext, LazySignal, type RequestContext } from '../internal/request-context.js';
import type { IncomingRequest } from './request.js';
import type { JetRequest, RequestBody } from './types.js';

/**
 * The request map a server-side WebSocket connection keeps for its lifetime: every field
 * copied from the upgrade request, its signal aborted when the socket closes, and node's
 * request held only while the handler is called. A connection that kept node's request alive
 * would cost about a kilobyte more, held for as long as the socket is open; read `raw` in the
 * handler, when the upgrade has just happened, not later.
 */
export class UpgradeRequest implements JetRequest, RequestContext {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly query: string;
  readonly remoteAddress: string;
  readonly scheme: 'http' | 'https';
  readonly protocol: string;
  /** The original request; one derived with `deriveRequest` shares its state through it. @internal */
  readonly [kContext]: UpgradeRequest;
  private readonly heldHeaders: Readonly<Record<string, string>>;
  private heldRaw: IncomingMessage | undefined;
  private lazySignal: LazySignal | undefined;
  private lazyBody: RequestBody | undefined;

  /** An upgrade request has no body to read. */
  get maxBodySize(): number {
    return 0;
  }

  /** Lower-case names, as on every request. */
  get headers(): Readonly<Record<string, string>> {
    return this[kContext].heldHeaders;
  }

  constructor(req: IncomingRequest<IncomingMessage>) {
    this.method = req.method;
    this.url = req.url;
    this.path = req.path;
    this.query = req.query;
    this.heldHeaders = shareValues(req.headers);
    this[kContext] = this;
    this.remoteAddress = req.remoteAddress;
    this.scheme = req.scheme;
    this.protocol = req.protocol;
    this.heldRaw = req.raw;
  }

  /** node's upgrade request, during the handler call; undefined afterwards. */
  get raw(): IncomingMessage | undefined {
    return this[kContext].heldRaw;
  }

  /** @internal The handler has been called: node's request is let go. */
  release(): void {
    this[kContext].heldRaw = undefined;
  }

  /** An upgrade request has no body. */
  get body(): RequestBody {
    const self = this[kContext];
    return (self.lazyBody ??= emptyBody());
  }

  /** Aborted, with a `ClientAbortedError`, when the socket closes. */
  get signal(): AbortSignal {
    const self = this[kContext];
    return (self.lazySignal ??= new LazySignal()).signal;
  }

  abort(reason: Error): void {
    const self = this[kContext];
    (self.lazySignal ??= new LazySignal()).abort(reason);
  }
}

/**
 * Headers whose values repeat from one WebSocket to the next: the host, the upgrade's own, and
 * what a browser sends with every request. Not cookies or credentials (a secret is not kept past
 * its connection) and not the key (new each time).
 */
const repeating = new Set([
  'host',
  'connection',
  'upgrade',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
  'origin',
  'user-agent',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
]);
/** One string for each repeating value seen, for every connection that sends it; bounded. */
const shared = new Map<string, string>();
const mostShared = 256;
const longestShared = 512;

/**
 * `headers` with each repeating value replaced by the one string kept for it. node makes new
 * strings for every request, and a connection holds its request's headers for as long as it is
 * open: sharing them saves about 200 bytes a connection for a `ws` client, more for a browser.
 */
function shareValues(headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const kept = new HeaderRecord();
  for (const name in headers) {
    let value = headers[name]!;
    if (repeating.has(name) && value.length <= longestShared) {
      const known = shared.get(value);
      if (known !== undefined) value = known;
      else if (shared.size < mostShared) shared.set(value, value);
    }
    kept[name] = value;
  }
  return kept;
}
