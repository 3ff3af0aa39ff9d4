export { mockRequest, type MockRequestOptions } from './mock-request.js';
export { inject } from './inject.js';
export type { InjectedResponse } from './memory-response.js';
