// The layering of src/, checked by `npm run deps` (part of `npm run check` and CI):
//   src/types.ts and src/internal/   the bottom: import no area of the package
//   server/, websocket/, client/     beside each other above them; websocket/ never imports
//                                    server/ (the HTTP side of an upgrade lives in server/),
//                                    client/ imports neither
//   router/                          above server/ (handlers, toResponse, deriveRequest)
//   middleware/                      above router/ (its Middleware type, routed requests)
//   pubsub/                          above server/ (beside router/ and middleware/); only the
//                                    package's index imports it
//   testing/                         on top; nothing outside testing/ imports it
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'An import cycle: the arrows between modules must point one way.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'bottom-imports-no-area',
      comment: 'src/types.ts and src/internal/ are the bottom layer: they import no area.',
      severity: 'error',
      from: { path: '^src/(types\\.ts|internal/)' },
      to: { path: '^src/(server|websocket|client|testing|router|middleware|pubsub)/' },
    },
    {
      name: 'websocket-not-server',
      comment: 'websocket/ sits beside server/ and client/, never above them.',
      severity: 'error',
      from: { path: '^src/websocket/' },
      to: { path: '^src/(server|client|router|middleware|pubsub)/' },
    },
    {
      name: 'client-alone',
      comment: 'client/ sits beside server/ and websocket/.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { path: '^src/(server|websocket|router|middleware|pubsub)/' },
    },
    {
      name: 'server-below-composition',
      comment: 'server/ is below router/, middleware/ and pubsub/.',
      severity: 'error',
      from: { path: '^src/server/' },
      to: { path: '^src/(router|middleware|pubsub)/' },
    },
    {
      name: 'router-below-middleware',
      comment: 'router/ is below middleware/: a router composes middleware it is given, never a particular one.',
      severity: 'error',
      from: { path: '^src/router/' },
      to: { path: '^src/(middleware|pubsub)/' },
    },
    {
      name: 'pubsub-on-its-own',
      comment: 'pubsub/ sits above server/; only src/index.ts re-exports it, no other area imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(pubsub/|index\\.ts$)' },
      to: { path: '^src/pubsub/' },
    },
    {
      name: 'pubsub-below-composition',
      comment: 'pubsub/ composes with routers and middleware through plain Observables, never by importing them.',
      severity: 'error',
      from: { path: '^src/pubsub/' },
      to: { path: '^src/(router|middleware|testing|client)/' },
    },
    {
      name: 'testing-on-top',
      comment: 'Only testing/ imports testing/: the package never depends on its testing kit.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(testing/|index\\.ts$)' },
      to: { path: '^src/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
