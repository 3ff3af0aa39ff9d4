/**
 * The HTTP server: `serve` answers each request with a handler that returns a response, a
 * Promise or an Observable of one; bodies stream from Observables, async iterables and streams;
 * `sse` answers with Server-Sent Events; `text`, `json` and `form` read request bodies, and `multipart` streams uploads;
 * `cluster` runs one server per core.
 *
 * @module rxjet/server
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { serve, Server, type CloseOptions, type ServerStats } from './serve.js';
export { deriveRequest, type RequestChanges } from './derive-request.js';
export { toResponse, errorResponse } from './to-response.js';
export type { ServeOptions, TlsOptions } from './options.js';
export type { ResponseOptions, OverflowPolicy, Logger } from './pipeline-config.js';
export { HttpError, type HttpErrorOptions } from '../internal/errors.js';
export { text } from './text.js';
export { json } from './json.js';
export { form, type FormFields, type FormOptions } from './form.js';
export { multipart } from './multipart.js';
export { collectFields, type CollectedFields } from './multipart-fields.js';
export type { MultipartFieldPart, MultipartFilePart, MultipartOptions, MultipartPart } from './multipart-types.js';
export { PartAbortedError, PartSkippedError } from '../internal/errors.js';
export { pullable } from './pullable.js';
export type { Pullable } from '../internal/pull.js';
export { sse, lastEventId, type SseEvent, type SseMessage, type SseOptions } from './sse.js';
export type { BodyReadOptions } from './read-body.js';
export type {
  BodyChunk,
  Handler,
  HandlerResult,
  JetRequest,
  JetResponse,
  RequestBody,
  ResponseBody,
  WebSocketResponse,
} from './types.js';
export { cluster } from './cluster.js';
export { ClusterPrimary } from './cluster-primary.js';
export {
  clusterCloseMargin,
  type ClusterOptions,
  type ClusterEvent,
  type ClusterWorkerEvent,
  type ClusterExitEvent,
  type ClusterRestartEvent,
  type ClusterStateEvent,
} from './cluster-options.js';
