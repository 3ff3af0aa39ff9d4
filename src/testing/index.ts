export { mockRequest, type MockRequestOptions } from './mock-request.js';
export { inject } from './inject.js';
export type { InjectedResponse } from '../server/memory-response.js';
