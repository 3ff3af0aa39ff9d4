/**
 * Testing handlers without a socket: {@link mockRequest} builds a request, {@link inject} runs it
 * through the same response pipeline as `serve`, in virtual time under RxJS's `TestScheduler`.
 *
 * @module rxjet/testing
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { mockRequest, type MockRequestOptions } from './mock-request.js';
export { inject } from './inject.js';
export type { InjectedResponse } from '../server/memory-response.js';
