/**
 * The middleware services need, for routers (`router().use(...)`, a route's `use`) and for
 * `withMiddleware`: each a function of the request and of `next`, so responses and their bodies
 * stay Observables all the way down.
 *
 * @module rxjet/middleware
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { cookies, setCookie, clearCookie, signedCookies } from './cookies.js';
export type { CookieOptions, ClearCookieOptions, CookieSecret, CookieResponse } from './cookies.js';
export { validate } from './validate.js';
export type { ValidationSchemas, Validated, ValidationIssue } from './validate.js';
export { serveStatic, type ServeStaticOptions, type DotfilesPolicy } from './serve-static.js';
export { cors, type CorsOptions, type CorsOrigin } from './cors.js';
export { requestId, type RequestIdFields, type RequestIdOptions } from './request-id.js';
export { requestLog, type RequestLogOptions, type RequestLogger, type RequestLogEntry } from './request-log.js';
export { problemJson, type ProblemJsonOptions, type ProblemDetails } from './problem-json.js';
export { compress, compressible, type CompressOptions, type CompressEncoding } from './compress.js';
