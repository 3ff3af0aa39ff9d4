// ws, undici, @fastify/busboy, mime-types, negotiator, node:cluster and the optional redis, loaded the first time
// rxjet needs them rather than when rxjet is imported (node:http2, node:https and node:tls
// likewise, where the server that speaks them is made). A server that never upgrades a
// connection or reads a multipart body, and an app that never sends a request, then carries none
// of them: `rxjet/server` went from 4.5 to 3.0 MiB of heap, `rxjet` from 10 to 5.0. The packages
// are CommonJS, so a synchronous require finds the same module instance that an `import` of the
// package would (one `FormData` class, one `WebSocket`). A bundler does not follow these calls:
// the README says to keep rxjet's dependencies external.
import type { Cluster } from 'node:cluster';
import { createRequire } from 'node:module';
import { MissingPackageError } from './errors.js';

const load = createRequire(import.meta.url);

type Ws = typeof import('ws');
type Undici = typeof import('undici');
type Busboy = typeof import('@fastify/busboy');
type MimeTypes = typeof import('mime-types');
type NegotiatorClass = typeof import('negotiator');

let ws: Ws | undefined;
let undici: Undici | undefined;
let busboy: Busboy | undefined;
let mimeTypes: MimeTypes | undefined;
let negotiator: NegotiatorClass | undefined;

/** The `ws` package. */
export function wsPackage(): Ws {
  return (ws ??= load('ws') as Ws);
}

/** The `undici` package. */
export function undiciPackage(): Undici {
  return (undici ??= load('undici') as Undici);
}

/** The `@fastify/busboy` package. */
export function busboyPackage(): Busboy {
  return (busboy ??= load('@fastify/busboy') as Busboy);
}

/** The `mime-types` package. */
export function mimeTypesPackage(): MimeTypes {
  return (mimeTypes ??= load('mime-types') as MimeTypes);
}

/** The `negotiator` package's class. */
export function negotiatorPackage(): NegotiatorClass {
  return (negotiator ??= load('negotiator') as NegotiatorClass);
}

/** node:cluster. */
export function nodeCluster(): Cluster {
  // The builtin's module object is the cluster itself (its typings describe it as ES exports).
  return process.getBuiltinModule('node:cluster') as unknown as Cluster;
}

/**
 * An optional peer package (one rxjet works without): a {@link MissingPackageError} naming it,
 * and `neededBy`, when it is not installed.
 */
export function optionalPackage(name: string, neededBy: string): unknown {
  try {
    return load(name) as unknown;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') throw new MissingPackageError(name, neededBy, error);
    throw error;
  }
}
