export { createClient, Client } from './create-client.js';
export { request } from './request.js';
export { retrying, type RetryOptions } from './retry.js';
export type { MultipartField } from './transport.js';
export type { Progress, ProgressTarget } from './progress.js';
export { get, post, put, patch, del, del as delete, head, options, type MethodHelper } from './methods.js';
export type {
  BodyAs,
  ClientOptions,
  ClientResponse,
  MethodOptions,
  RequestBody as ClientRequestBody,
  RequestOptions,
  ResponseBody as ClientResponseBody,
  Timeouts,
} from './types.js';
