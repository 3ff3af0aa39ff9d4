/**
 * Testing handlers without a socket: {@link mockRequest} builds a request, {@link inject} runs it
 * through the same response pipeline as `serve`, in virtual time under RxJS's `TestScheduler`.
 *
 * @module rxjet/testing
 */
export { mockRequest, type MockRequestOptions } from './mock-request.js';
export { inject } from './inject.js';
export type { InjectedResponse } from '../server/memory-response.js';
