// `request`: a cold Observable of one request, one ClientExchange per subscription, retried if asked.
import { Observable, type Subscriber } from 'rxjs';
import type { Client } from './create-client.js';
import { ClientExchange } from './exchange.js';
import { type PreparedRequest, prepare } from './prepare.js';
import { kMethod, resolveRetry, retries, withRetries } from './retry.js';
import type { ClientResponse, RequestOptions } from './types.js';
import { readWhole } from './whole-body.js';

/**
 * Sends a request when subscribed and emits the response once its headers arrive; non-2xx
 * statuses are responses, not errors. Cold: nothing is sent before subscribe, and each
 * subscription sends again. Unsubscribing before the response arrives aborts the request; after
 * that the body's own subscription owns the connection (see {@link ClientResponse}'s `body`).
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
  return send(prepare(client, options), options.retry);
}

/** The request Observable of a prepared request: one exchange per subscription, and retries if asked for. */
export function send(prepared: PreparedRequest, retry: RequestOptions['retry']): Observable<ClientResponse<unknown>> {
  const { method } = prepared.outgoing;
  const again = resolveRetry(retry);
  let sent: Observable<ClientResponse<unknown>> & { [kMethod]?: string };
  if (!retries(method, again)) sent = new Observable((subscriber) => new ClientExchange(prepared, subscriber).start());
  else {
    // Retries pick the response by its status before its body is read, so `as` reads it after them.
    const { as } = prepared;
    const streamed: PreparedRequest = { ...prepared, as: 'stream' };
    const retried = withRetries(
      new Observable<ClientResponse>((subscriber) =>
        new ClientExchange(streamed, subscriber as Subscriber<ClientResponse<unknown>>).start(),
      ),
      method,
      again,
    );
    sent =
      as === 'stream' ? retried : retried.pipe(readWhole(as, prepared.config.maxResponseSize, method, prepared.where));
  }
  sent[kMethod] = method;
  return sent;
}
