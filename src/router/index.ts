/**
 * Routing and middleware composition: {@link router} matches a request's method and path to a
 * route and runs it inside its middleware, in onion order; a router is a handler, so it is
 * served, injected and mounted like any other. {@link withMiddleware} puts middleware around a
 * handler without a router.
 *
 * @module rxjet/router
 */
// The declarations name node's types (http, stream, Buffer): load them for a user whose tsconfig
// lists no `types` (TypeScript 7's default). `preserve` keeps this line in the emitted .d.ts.
/// <reference types="node" preserve="true" />
export { router } from './router.js';
export { withMiddleware } from './compose.js';
export type {
  AddedBy,
  AnyMiddleware,
  Middleware,
  Next,
  PathParams,
  RouteHandler,
  RouteMethod,
  RouteOptions,
  RoutedRequest,
  Router,
  RouterOptions,
  TrailingSlash,
} from './types.js';
