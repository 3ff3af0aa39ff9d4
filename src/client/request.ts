import { Buffer } from 'node:buffer';
import { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { isObservable, Observable } from 'rxjs';
import {
  DecodeError,
  describe,
  InvalidOptionError,
  RedirectError,
  ResponseTooLargeError,
  RxjetError,
  TimeoutError,
} from '../internal/errors.js';
import { headerNameProblem, headerValueProblem } from '../internal/headers.js';
import { iterateObservable } from '../internal/observable-iterator.js';
import { checkKnownOptions, choiceOption } from '../internal/validate.js';
import { type Client, type ClientConfig, kClient, redirectHops, resolveTimeouts } from './create-client.js';
import { acceptEncoding, decompressed } from './decompress.js';
import { digestAuthorization, digestChallenge } from './digest.js';
import { countedUpload, ProgressCounter } from './progress.js';
import { responseBody } from './response-body.js';
import { resolveRetry, withRetries } from './retry.js';
import { AbortSwitch, type Incoming, isFormData, multipartBody, type Outgoing } from './transport.js';
import type { BodyAs, ClientResponse, RequestOptions } from './types.js';

const optionNames = [
  'method',
  'url',
  'headers',
  'query',
  'json',
  'formParams',
  'multipart',
  'body',
  'basicAuth',
  'digestAuth',
  'bearer',
  'timeout',
  'as',
  'signal',
  'followRedirects',
  'retry',
  'progress',
];

type Params = NonNullable<RequestOptions['query']>;

function appendParams(target: URLSearchParams, params: Params): void {
  for (const [name, value] of Object.entries(params)) {
    for (const item of Array.isArray(value) ? value : [value]) target.append(name, String(item));
  }
}

/** Checks the options and works out everything that does not depend on the subscription. */
function prepare(
  client: Client,
  options: RequestOptions,
): { config: ClientConfig; outgoing: Omit<Outgoing, 'signal'>; as: BodyAs; timeouts: ClientConfig['timeouts'] } {
  if (!(client instanceof Object) || !(kClient in client))
    throw new InvalidOptionError('client', 'a client from createClient()');
  if (options === null || typeof options !== 'object')
    throw new InvalidOptionError('options', 'an object with at least a url');
  checkKnownOptions(options, optionNames, 'request');
  const config = client[kClient];
  const method = (options.method ?? 'GET').toUpperCase();
  if (headerNameProblem(method) !== undefined)
    throw new InvalidOptionError('method', `an HTTP method, got ${describe(options.method)}`);
  let url: URL;
  try {
    url = new URL(options.url, config.baseUrl);
  } catch {
    throw new InvalidOptionError(
      'url',
      `an absolute URL or one relative to baseUrl, got ${describe(String(options.url))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidOptionError('url', `an http: or https: URL, got ${url.protocol}`);
  if (options.query !== undefined) appendParams(url.searchParams, options.query);

  const headers: Record<string, string | string[]> = { ...config.headers };
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const values = typeof value === 'string' ? [value] : [...value];
    const problem = headerNameProblem(name) ?? values.map(headerValueProblem).find((p) => p !== undefined);
    if (problem !== undefined) throw new InvalidOptionError(`headers.${name}`, `a valid header (${problem})`);
    headers[name.toLowerCase()] = values.length === 1 ? values[0]! : values;
  }
  if (options.basicAuth !== undefined) {
    const [user, password] = options.basicAuth;
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }
  if (options.bearer !== undefined) headers.authorization = `Bearer ${options.bearer}`;
  if (config.decompress) headers['accept-encoding'] ??= acceptEncoding;

  const bodies = [options.json !== undefined, options.formParams !== undefined, options.body !== undefined].filter(
    Boolean,
  );
  if (bodies.length > 1) throw new InvalidOptionError('body', 'only one of body, json and formParams');
  let body: Outgoing['body'];
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] ??= 'application/json';
  } else if (options.multipart !== undefined) {
    if (typeof options.multipart !== 'object' || options.multipart === null) {
      throw new InvalidOptionError('multipart', 'an object of fields');
    }
    body = multipartBody(options.multipart);
  } else if (options.formParams !== undefined) {
    const form = new URLSearchParams();
    appendParams(form, options.formParams);
    body = form.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded';
  } else if (options.body !== undefined) {
    const given = options.body;
    if (typeof given === 'string' || given instanceof Uint8Array) body = given;
    else if (isObservable(given)) body = { [Symbol.asyncIterator]: () => iterateObservable(given) };
    else if (typeof (given as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
      body = given as AsyncIterable<string | Uint8Array> | Readable;
    else
      throw new InvalidOptionError(
        'body',
        `a string, Uint8Array, Observable, async iterable or Readable, got ${describe(given)}`,
      );
  }

  if (options.progress !== undefined && body !== undefined && !isFormData(body) && !isReadable(body)) {
    const declared =
      typeof body === 'string' ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : undefined;
    if (declared !== undefined) headers['content-length'] ??= String(declared);
    body = countedUpload(body, new ProgressCounter(options.progress, 'upload', declared));
  }

  const timeouts =
    typeof options.timeout === 'number'
      ? { ...config.timeouts, total: resolveTimeouts({ total: options.timeout }, config.timeouts, 'timeout').total }
      : resolveTimeouts(options.timeout, config.timeouts, 'timeout');
  return {
    config,
    outgoing: { method, url, headers, body, headersTimeout: timeouts.headers, bodyTimeout: timeouts.body },
    as: choiceOption(
      options as unknown as Record<string, unknown>,
      'as',
      ['stream', 'text', 'json', 'bytes'],
      'stream',
    ),
    timeouts,
  };
}

/**
 * Sends a request when subscribed and emits the response once its headers arrive; non-2xx
 * statuses are responses, not errors. Cold: nothing is sent before subscribe, and each
 * subscription sends again. Unsubscribing before the response arrives aborts the request; after
 * that the body's own subscription owns the connection (see {@link ResponseBody}).
 *
 * Errors: `TimeoutError` (with the phase), `NetworkError`, `AbortError`, and with `as`,
 * `ResponseTooLargeError` and `DecodeError`; each carries `method` and `url`.
 *
 * @param client - from {@link createClient}
 * @param options - the method, URL and everything else of the request
 * @returns a cold Observable of the response
 * @example
 * ```ts
 * import { createClient, request } from 'rxjet/client';
 * const client = createClient();
 * request(client, { method: 'POST', url: 'http://127.0.0.1:8080/items', json: { name: 'x' }, as: 'json' })
 *   .subscribe((res) => console.log(res.status, res.body));
 * ```
 */
export function request(client: Client, options: RequestOptions & { as: 'text' }): Observable<ClientResponse<string>>;
export function request(client: Client, options: RequestOptions & { as: 'json' }): Observable<ClientResponse<unknown>>;
export function request(
  client: Client,
  options: RequestOptions & { as: 'bytes' },
): Observable<ClientResponse<Uint8Array>>;
export function request(client: Client, options: RequestOptions): Observable<ClientResponse>;
export function request(client: Client, options: RequestOptions): Observable<ClientResponse<unknown>> {
  const { config, outgoing, as, timeouts } = prepare(client, options);
  const { total } = timeouts;
  const { method } = outgoing;
  const where = outgoing.url.href;
  const { signal } = options;
  const hops =
    options.followRedirects === undefined
      ? config.maxRedirects
      : redirectHops(options.followRedirects, 'followRedirects');
  const streamed = new Observable<ClientResponse>((subscriber) => {
    const controller = new AbortSwitch();
    let responded = false;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted === true) controller.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    if (total > 0) {
      timer = setTimeout(() => controller.abort(new TimeoutError(method, where, 'total', total)), total);
    }
    const fail = (error: unknown): Error => {
      const reason: unknown = controller.reason;
      if (controller.aborted && reason instanceof TimeoutError) return reason;
      if (error instanceof RxjetError) return error;
      return config.transport.failure(error, method, where, timeouts);
    };
    follow(config, { ...outgoing, signal: controller }, hops, options.digestAuth).then(
      (incoming) => {
        if (subscriber.closed) {
          incoming.body.destroy();
          stop();
          return;
        }
        responded = true;
        const stream = config.decompress
          ? decompressed(incoming.body, incoming.headers['content-encoding'])
          : incoming.body;
        const body = responseBody(stream, {
          failure: (cause) => fail(cause ?? new Error('the response ended early')),
          settled: timer !== undefined || signal !== undefined ? stop : undefined,
          counted: progressOf(options.progress, incoming.headers['content-length']),
        });
        subscriber.next({ status: incoming.status, url: incoming.url, headers: incoming.headers, body });
        subscriber.complete();
      },
      (error: unknown) => {
        stop();
        subscriber.error(fail(error));
      },
    );
    return () => {
      if (!responded) {
        stop();
        controller.abort();
      }
    };
  });
  const retries = resolveRetry(options.retry);
  const sent = retries === undefined ? streamed : withRetries(streamed, method, retries);
  if (as === 'stream') return sent;
  return new Observable<ClientResponse<unknown>>((subscriber) =>
    sent.subscribe({
      next: (response) => {
        readWhole(response, config.maxResponseSize, method, where).then(
          (bytes) => {
            let body: unknown;
            try {
              body = decode(bytes, as, response.headers['content-type'], method, where);
            } catch (error) {
              subscriber.error(error);
              return;
            }
            subscriber.next({ status: response.status, url: response.url, headers: response.headers, body });
            subscriber.complete();
          },
          (error: unknown) => subscriber.error(error),
        );
      },
      error: (error: unknown) => subscriber.error(error),
    }),
  );
}

const redirects = new Set([301, 302, 303, 307, 308]);

/** Download progress for a response, when asked for. */
function progressOf(
  target: RequestOptions['progress'],
  length: string | string[] | undefined,
): ((size: number) => void) | undefined {
  if (target === undefined) return undefined;
  const total = typeof length === 'string' ? Number(length) : undefined;
  const counter = new ProgressCounter(target, 'download', Number.isFinite(total) ? total : undefined);
  return (size) => counter.add(size);
}

function isReadable(body: unknown): body is Readable {
  return body instanceof Readable;
}

/** A body that can be sent a second time (a streamed one cannot). */
function replayable(body: Outgoing['body']): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/**
 * Sends a request and follows its redirects, at most `hops` of them, with the client's
 * cookies. A redirect to another origin drops the sensitive headers and sends no cookies; 303
 * (and 301/302 after a POST) continue with a GET and no body; 307/308 keep the method and body
 * when the body can be sent again (a streamed one cannot: that redirect is answered as is).
 */
async function follow(
  config: ClientConfig,
  first: Outgoing,
  hops: number,
  digest: readonly [string, string] | undefined,
): Promise<Incoming & { url: string }> {
  const origin = first.url.origin;
  const visited = new Set<string>();
  let outgoing = first;
  let answeredChallenge = false;
  for (let hop = 0; ; hop++) {
    const jarCookie = hop === 0 || outgoing.url.origin === origin ? config.cookies?.header(outgoing.url) : undefined;
    let sent = outgoing;
    if (jarCookie !== undefined) {
      const { cookie } = outgoing.headers;
      sent = {
        ...outgoing,
        headers: { ...outgoing.headers, cookie: cookie === undefined ? jarCookie : `${String(cookie)}; ${jarCookie}` },
      };
    }
    const incoming = await config.transport.dispatch(sent);
    config.cookies?.store(outgoing.url, incoming.headers['set-cookie']);
    if (incoming.status === 401 && digest !== undefined && !answeredChallenge && replayable(outgoing.body)) {
      const challenge = digestChallenge(incoming.headers['www-authenticate']);
      const authorization =
        challenge &&
        digestAuthorization(challenge, digest, outgoing.method, outgoing.url.pathname + outgoing.url.search);
      if (authorization !== undefined) {
        answeredChallenge = true;
        incoming.body.resume(); // the challenge's own body is not needed
        outgoing = { ...outgoing, headers: { ...outgoing.headers, authorization } };
        hop--;
        continue;
      }
    }
    const location = incoming.headers.location;
    if (hops === 0 || !redirects.has(incoming.status) || typeof location !== 'string') {
      return { ...incoming, url: outgoing.url.href };
    }
    const next = new URL(location, outgoing.url);
    const keepsBody = incoming.status === 307 || incoming.status === 308;
    if (keepsBody && !replayable(outgoing.body)) return { ...incoming, url: outgoing.url.href };
    if (hop >= hops) {
      incoming.body.destroy();
      throw new RedirectError(first.method, first.url.href, `more than ${hops} redirects`);
    }
    visited.add(`${outgoing.method} ${outgoing.url.href}`);
    const method =
      incoming.status === 303
        ? outgoing.method === 'HEAD'
          ? 'HEAD'
          : 'GET'
        : !keepsBody && outgoing.method === 'POST'
          ? 'GET'
          : outgoing.method;
    if (visited.has(`${method} ${next.href}`)) {
      incoming.body.destroy();
      throw new RedirectError(first.method, first.url.href, `redirect loop back to ${next.href}`);
    }
    incoming.body.resume(); // discard the redirect's own body; its connection goes back to the pool
    const crossing = next.origin !== outgoing.url.origin;
    const nextHeaders = Object.fromEntries(
      Object.entries(outgoing.headers).filter(([name]) => !crossing || !config.sensitiveHeaders.has(name)),
    );
    if (method !== outgoing.method && method === 'GET') {
      delete nextHeaders['content-type'];
      delete nextHeaders['content-length'];
    }
    outgoing = {
      ...outgoing,
      method,
      url: next,
      headers: nextHeaders,
      body: method === outgoing.method ? outgoing.body : undefined,
    };
  }
}

/** Reads a streamed body whole, up to `limit` bytes. */
function readWhole(response: ClientResponse, limit: number, method: string, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers['content-length']);
  return new Promise((resolve, reject) => {
    if (Number.isFinite(declared) && declared > limit) {
      response.body.subscribe().unsubscribe(); // claims the body and destroys it
      reject(new ResponseTooLargeError(method, url, limit));
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const subscription = response.body.subscribe({
      next: (chunk) => {
        size += chunk.byteLength;
        if (size > limit) {
          subscription.unsubscribe();
          reject(new ResponseTooLargeError(method, url, limit));
        } else chunks.push(chunk);
      },
      error: reject,
      complete: () => resolve(Buffer.concat(chunks, size)),
    });
  });
}

function decode(
  bytes: Uint8Array,
  as: BodyAs,
  contentType: string | string[] | undefined,
  method: string,
  url: string,
): unknown {
  if (as === 'bytes') return bytes;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(contentType ?? ''))?.[1] ?? 'utf-8';
  let text: string;
  try {
    text = new TextDecoder(charset, { fatal: as === 'json' }).decode(bytes);
  } catch (error) {
    throw new DecodeError(method, url, `${charset} text`, error);
  }
  if (as === 'text') return text;
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new DecodeError(method, url, 'JSON', error);
  }
}
