/**
 * Hello world: a handler is a function from a request map to a response map. Every path is
 * greeted, `/` as the world; a POST is refused with 405 by throwing an `HttpError`.
 *
 * Run it with `node --import tsx examples/hello.ts`, then `curl <url>/you`. PORT (default 0: any
 * free port) and HOST (default 127.0.0.1) choose where it listens.
 */
import { HttpError, serve, type Handler } from 'rxjet/server';

export const handler: Handler = (req) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new HttpError(405, 'Only GET here.', { headers: { allow: 'GET, HEAD' } });
  }
  const name = req.path === '/' ? 'World' : req.path.slice(1);
  return { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `Hello ${name}\n` };
};

const server = await serve({ handler, port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
console.log(`rxjet hello example listening on ${server.url}`);

const stop = (): void => {
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
