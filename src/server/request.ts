import type { IncomingMessage } from 'node:http';
import { joinRawHeaders } from '../internal/headers.js';
import { incomingBody } from './request-body.js';
import { kContext, type RequestContext } from './request-context.js';
import type { JetRequest, RequestBody } from './types.js';

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

/**
 * Builds the request map for a node request. Headers, body and signal are computed on first
 * use, so a handler that never looks at them costs no more than a bare node handler.
 */
export function createRequest(
  raw: IncomingMessage,
  context: RequestContext,
  scheme: 'http' | 'https',
  maxRequestBodySize: number,
): JetRequest {
  const url = raw.url ?? '/';
  const { path, query } = splitTarget(url);
  const method = raw.method ?? 'GET';
  let headers: Record<string, string> | undefined;
  let body: RequestBody | undefined;
  const request = {
    method,
    url,
    path,
    query,
    get headers(): Record<string, string> {
      return (headers ??= joinRawHeaders(raw.rawHeaders));
    },
    get body(): RequestBody {
      return (body ??= incomingBody(raw, maxRequestBodySize, () => `${method} ${url}`));
    },
    remoteAddress: unwrapAddress(raw.socket.remoteAddress),
    scheme,
    protocol: `HTTP/${raw.httpVersion}`,
    get signal(): AbortSignal {
      return context.signal;
    },
    raw,
    [kContext]: context,
  };
  return request;
}
