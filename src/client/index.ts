// The public entry point of rxjet/client: what a user may import from the client.
/**
 * The streaming HTTP client: `createClient` makes a pool, and `request`, `get`, `post` and the
 * other helpers return cold Observables of responses whose bodies are Observables too.
 *
 * @module rxjet/client
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { createClient, Client } from './create-client.js';
export { request } from './request.js';
export { retrying } from './retry.js';
export type { MultipartField } from './transport.js';
export type { Progress, ProgressTarget } from './progress.js';
export { eventSource, type EventSourceOptions } from './event-source.js';
export { parseEventStream, type ParseEventStreamOptions, type ServerSentEvent } from './parse-event-stream.js';
export { get, post, put, patch, del, del as delete, head, options, type MethodHelper } from './methods.js';
export type {
  BodyAs,
  ClientOptions,
  ClientRequestBody,
  ClientResponse,
  ClientResponseBody,
  MethodOptions,
  RequestOptions,
  RetryOptions,
  Timeouts,
} from './types.js';
