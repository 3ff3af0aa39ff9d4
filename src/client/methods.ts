import type { Observable } from 'rxjs';
import type { Client } from './create-client.js';
import { prepare } from './prepare.js';
import { send } from './request.js';
import type { ClientResponse, MethodOptions } from './types.js';

/** The shape of every method helper: `(client, url, options?)`, typed by `as`. */
export interface MethodHelper {
  (client: Client, url: string | URL, options: MethodOptions & { as: 'text' }): Observable<ClientResponse<string>>;
  (client: Client, url: string | URL, options: MethodOptions & { as: 'json' }): Observable<ClientResponse<unknown>>;
  (client: Client, url: string | URL, options: MethodOptions & { as: 'bytes' }): Observable<ClientResponse<Uint8Array>>;
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
 * @example
 * ```ts
 * get(client, 'http://127.0.0.1:8080/items', { as: 'json' }).subscribe((res) => console.log(res.body));
 * ```
 */
export const get = helper('GET');
/** `POST url`, e.g. `post(client, url, { formParams: { foo: 'bar' } })`. */
export const post = helper('POST');
/** `PUT url`. */
export const put = helper('PUT');
/** `PATCH url`. */
export const patch = helper('PATCH');
/** `DELETE url` (also exported as `delete`). */
export const del = helper('DELETE');
/** `HEAD url`: the response body is empty. */
export const head = helper('HEAD');
/** `OPTIONS url`. */
export const options = helper('OPTIONS');
