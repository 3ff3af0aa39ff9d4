// The undici side of the client: the pool, sending one dispatch, multipart bodies, and failures as errors.
import type { Readable } from 'node:stream';
import type { Dispatcher, FormData } from 'undici';
import { undiciPackage } from '../internal/packages.js';
import { AbortError, NetworkError, TimeoutError, type TimeoutPhase } from '../internal/errors.js';
import type { DispatchHandler } from './dispatch-handler.js';

/** What the transport needs to send a request. */
export interface Outgoing {
  method: string;
  url: URL;
  headers: Record<string, string | string[]>;
  body: string | Uint8Array | AsyncIterable<Uint8Array | string> | Readable | FormData | undefined;
  headersTimeout: number;
  bodyTimeout: number;
}

/** The settings of the pool. */
export interface PoolSettings {
  connections: number;
  /** Speak HTTP/2 where the server offers it over TLS (ALPN). */
  allowH2: boolean;
  /** A proxy URL, `'env'` for HTTP_PROXY / HTTPS_PROXY / NO_PROXY, or none. */
  proxy: string | undefined;
  connectTimeout: number;
  ca?: string | Buffer | (string | Buffer)[] | undefined;
  rejectUnauthorized: boolean;
}

/** A pooled undici Agent made from the client's settings. */
export function pool(settings: PoolSettings): Dispatcher {
  const options = {
    connections: settings.connections,
    allowH2: settings.allowH2,
    connect: { timeout: settings.connectTimeout, ca: settings.ca, rejectUnauthorized: settings.rejectUnauthorized },
  };
  const { Agent, EnvHttpProxyAgent, ProxyAgent } = undiciPackage();
  return settings.proxy === undefined
    ? new Agent(options)
    : settings.proxy === 'env'
      ? new EnvHttpProxyAgent(options)
      : new ProxyAgent({ ...options, uri: settings.proxy });
}

/** Sends a request through an undici dispatcher; what happens next reaches the handler. */
export function dispatch(dispatcher: Dispatcher, outgoing: Outgoing, handler: DispatchHandler): void {
  const { url } = outgoing;
  dispatcher.dispatch(
    {
      origin: url.origin,
      path: url.search === '' ? url.pathname : url.pathname + url.search,
      method: outgoing.method,
      headers: outgoing.headers,
      body: outgoing.body as Dispatcher.DispatchOptions['body'],
      headersTimeout: outgoing.headersTimeout,
      bodyTimeout: outgoing.bodyTimeout,
    },
    handler,
  );
}

/** A multipart field: text, or a file's bytes with its name and type. */
export type MultipartField =
  | string
  | {
      /** The file's content. */
      value: string | Uint8Array;
      /** The file name sent with it; `'blob'` when absent. */
      filename?: string;
      /** Its media type, e.g. `'image/png'`. */
      contentType?: string;
    };

/**
 * A multipart/form-data body. undici writes it with a boundary from crypto's random source
 * (CVE-2025-22150 was a guessable one) and sets the content-type that names it.
 */
export function multipartBody(fields: Record<string, MultipartField | readonly MultipartField[]>): FormData {
  const form = new (undiciPackage().FormData)();
  for (const [name, given] of Object.entries(fields)) {
    for (const field of Array.isArray(given) ? (given as readonly MultipartField[]) : [given as MultipartField]) {
      if (typeof field === 'string') {
        form.append(name, field);
      } else {
        const blob = new Blob([field.value], field.contentType === undefined ? undefined : { type: field.contentType });
        form.append(name, blob, field.filename ?? 'blob');
      }
    }
  }
  return form;
}

/** True for a body made by {@link multipartBody}. */
export function isFormData(body: unknown): body is FormData {
  return typeof body === 'object' && body !== null && body instanceof undiciPackage().FormData;
}

/**
 * Turns what undici failed with into a typed error for `method url`. `connected` says whether a
 * connection had taken the request: an abort before that is the connection failing (a proxy
 * refusing the CONNECT tunnel comes as undici's RequestAbortedError), never the caller's signal,
 * whose AbortError the request raises itself.
 */
export function failure(
  error: unknown,
  method: string,
  url: string,
  timeouts: Record<Exclude<TimeoutPhase, 'total'>, number>,
  connected = true,
): Error {
  const { errors } = undiciPackage();
  if (error instanceof errors.ConnectTimeoutError)
    return new TimeoutError(method, url, 'connect', timeouts.connect, { cause: error });
  if (error instanceof errors.HeadersTimeoutError)
    return new TimeoutError(method, url, 'headers', timeouts.headers, { cause: error });
  if (error instanceof errors.BodyTimeoutError)
    return new TimeoutError(method, url, 'body', timeouts.body, { cause: error });
  if (error instanceof errors.RequestAbortedError || (error as { name?: string }).name === 'AbortError') {
    return connected ? new AbortError(method, url, error) : new NetworkError(method, url, error);
  }
  return new NetworkError(method, url, error);
}
