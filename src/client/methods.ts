// The method helpers (`get`, `post`, …): `request` with the method and URL as arguments.
import type { Observable } from 'rxjs';
import type { Client } from './create-client.js';
import { prepare } from './prepare.js';
import { send } from './request.js';
import type { ClientResponse, MethodOptions } from './types.js';

/**
 * The shape of every method helper: `(client, url, options?)`, typed by `as`.
 *
 * @example
 * ```ts
 * import { createClient, get, post, type MethodHelper } from 'rxjet/client';
 *
 * const client = createClient();
 * const textOf = (helper: MethodHelper, url: string) => helper(client, url, { as: 'text' });
 * textOf(get, 'http://127.0.0.1:8080/items').subscribe((res) => console.log(res.body));
 * textOf(post, 'http://127.0.0.1:8080/items').subscribe((res) => console.log(res.status));
 * ```
 */
export interface MethodHelper {
  /**
   * Sends a request with the helper's method when subscribed, and reads the body whole as text.
   *
   * @param client - from {@link createClient}
   * @param url - absolute, or relative to the client's `baseUrl`
   * @param options - everything else of the request, with `as: 'text'`
   * @returns a cold Observable of the response, its body decoded as text
   */
  (client: Client, url: string | URL, options: MethodOptions & { as: 'text' }): Observable<ClientResponse<string>>;
  /**
   * Sends a request with the helper's method when subscribed, and reads the body whole as JSON.
   *
   * @param client - from {@link createClient}
   * @param url - absolute, or relative to the client's `baseUrl`
   * @param options - everything else of the request, with `as: 'json'`
   * @returns a cold Observable of the response, its body parsed as JSON
   */
  (client: Client, url: string | URL, options: MethodOptions & { as: 'json' }): Observable<ClientResponse<unknown>>;
  /**
   * Sends a request with the helper's method when subscribed, and reads the body whole as bytes.
   *
   * @param client - from {@link createClient}
   * @param url - absolute, or relative to the client's `baseUrl`
   * @param options - everything else of the request, with `as: 'bytes'`
   * @returns a cold Observable of the response, its body as one `Uint8Array`
   */
  (client: Client, url: string | URL, options: MethodOptions & { as: 'bytes' }): Observable<ClientResponse<Uint8Array>>;
  /**
   * Sends a request with the helper's method when subscribed; the body streams.
   *
   * @param client - from {@link createClient}
   * @param url - absolute, or relative to the client's `baseUrl`
   * @param options - everything else of the request
   * @returns a cold Observable of the response, its body an Observable of chunks as they arrive
   */
  (client: Client, url: string | URL, options?: MethodOptions): Observable<ClientResponse>;
}

/** One helper per method, all over {@link request}. */
function helper(method: string): MethodHelper {
  // Not request(client, { ...options, method, url }): spreading the options costs more than the rest of preparing.
  return ((client: Client, url: string | URL, options: MethodOptions = noOptions) =>
    send(prepare(client, options, method, url), options.retry)) as MethodHelper;
}

const noOptions: MethodOptions = Object.freeze({});

/**
 * `GET url`: `request(client, { ...options, method: 'GET', url })`.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, get } from 'rxjet/client';
 * const client = createClient();
 * get(client, 'http://127.0.0.1:8080/items', { as: 'json' }).subscribe((res) => console.log(res.body));
 * ```
 */
export const get = helper('GET');
/**
 * `POST url`: `request(client, { ...options, method: 'POST', url })`. Never retried.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, post } from 'rxjet/client';
 * const client = createClient();
 * post(client, 'http://127.0.0.1:8080/login', { formParams: { user: 'ann' }, as: 'text' }).subscribe((res) =>
 *   console.log(res.status, res.body),
 * );
 * ```
 */
export const post = helper('POST');
/**
 * `PUT url`: `request(client, { ...options, method: 'PUT', url })`.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, put } from 'rxjet/client';
 * const client = createClient();
 * put(client, 'http://127.0.0.1:8080/items/1', { json: { name: 'renamed' }, as: 'json' }).subscribe((res) =>
 *   console.log(res.status, res.body),
 * );
 * ```
 */
export const put = helper('PUT');
/**
 * `PATCH url`: `request(client, { ...options, method: 'PATCH', url })`. Never retried.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, patch } from 'rxjet/client';
 * const client = createClient();
 * patch(client, 'http://127.0.0.1:8080/items/1', { json: { done: true } }).subscribe((res) => console.log(res.status));
 * ```
 */
export const patch = helper('PATCH');
/**
 * `DELETE url`: `request(client, { ...options, method: 'DELETE', url })`. Also exported as
 * `delete` from `rxjet/client`.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, del } from 'rxjet/client';
 * const client = createClient();
 * del(client, 'http://127.0.0.1:8080/items/1', { bearer: 'token' }).subscribe((res) => console.log(res.status));
 * ```
 */
export const del = helper('DELETE');
/**
 * `HEAD url`: `request(client, { ...options, method: 'HEAD', url })`; the response body is empty.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, head } from 'rxjet/client';
 * const client = createClient();
 * head(client, 'http://127.0.0.1:8080/file.bin').subscribe((res) => console.log(res.headers['content-length']));
 * ```
 */
export const head = helper('HEAD');
/**
 * `OPTIONS url`: `request(client, { ...options, method: 'OPTIONS', url })`.
 *
 * @function
 * @example
 * ```ts
 * import { createClient, options } from 'rxjet/client';
 * const client = createClient();
 * options(client, 'http://127.0.0.1:8080/items').subscribe((res) => console.log(res.headers.allow));
 * ```
 */
export const options = helper('OPTIONS');
