import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { Agent, type Dispatcher, EnvHttpProxyAgent, errors, FormData, ProxyAgent, request as send } from 'undici';
import { AbortError, NetworkError, TimeoutError, type TimeoutPhase } from '../internal/errors.js';

/**
 * An abort signal undici accepts (it takes any EventTarget-like object): creating an
 * AbortController, and undici's listening to it, costs several microseconds per request.
 */
export class AbortSwitch {
  aborted = false;
  reason: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  addEventListener(_type: 'abort', listener: () => void): void {
    if (this.listeners === undefined) this.listeners = [listener];
    else this.listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const at = this.listeners?.indexOf(listener) ?? -1;
    if (at !== -1) this.listeners!.splice(at, 1);
  }

  abort(reason?: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener();
  }
}

/** A multipart field: text, or a file's bytes with its name and type. */
export type MultipartField = string | { value: string | Uint8Array; filename?: string; contentType?: string };

/**
 * A multipart/form-data body. undici writes it with a boundary from crypto's random source
 * (CVE-2025-22150 was a guessable one) and sets the content-type that names it.
 */
export function multipartBody(fields: Record<string, MultipartField | readonly MultipartField[]>): FormData {
  const form = new FormData();
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
  return body instanceof FormData;
}

/** What the transport needs to send a request. */
export interface Outgoing {
  method: string;
  url: URL;
  headers: Record<string, string | string[]>;
  body: string | Uint8Array | AsyncIterable<Uint8Array | string> | Readable | FormData | undefined;
  signal: AbortSwitch;
  headersTimeout: number;
  bodyTimeout: number;
}

/** What comes back once the headers have arrived. */
export interface Incoming {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
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

/**
 * The one place that speaks undici: a pooled Agent and the mapping of its errors onto
 * rxjet's typed ones.
 */
export class Transport {
  private readonly agent: Dispatcher;

  constructor(private readonly settings: PoolSettings) {
    const options = {
      connections: settings.connections,
      allowH2: settings.allowH2,
      connect: { timeout: settings.connectTimeout, ca: settings.ca, rejectUnauthorized: settings.rejectUnauthorized },
    };
    this.agent =
      settings.proxy === undefined
        ? new Agent(options)
        : settings.proxy === 'env'
          ? new EnvHttpProxyAgent(options)
          : new ProxyAgent({ ...options, uri: settings.proxy });
  }

  async dispatch(outgoing: Outgoing): Promise<Incoming> {
    const response = await send(outgoing.url, {
      method: outgoing.method as 'GET',
      headers: outgoing.headers,
      body: outgoing.body as never,
      signal: outgoing.signal as unknown as AbortSignal,
      dispatcher: this.agent,
      headersTimeout: outgoing.headersTimeout,
      bodyTimeout: outgoing.bodyTimeout,
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /** Turns what undici threw into a typed error for `method url`. */
  failure(
    error: unknown,
    method: string,
    url: string,
    timeouts: Record<Exclude<TimeoutPhase, 'total'>, number>,
  ): Error {
    if (error instanceof errors.ConnectTimeoutError)
      return new TimeoutError(method, url, 'connect', timeouts.connect, { cause: error });
    if (error instanceof errors.HeadersTimeoutError)
      return new TimeoutError(method, url, 'headers', timeouts.headers, { cause: error });
    if (error instanceof errors.BodyTimeoutError)
      return new TimeoutError(method, url, 'body', timeouts.body, { cause: error });
    if (error instanceof errors.RequestAbortedError || (error as { name?: string }).name === 'AbortError') {
      return new AbortError(method, url, error);
    }
    return new NetworkError(method, url, error);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}
