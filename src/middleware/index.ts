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
export { compress, compressible, type CompressOptions, type CompressEncoding } from './compress.js';
