/**
 * A handler built to be tested in virtual time: it takes its I/O edge (a feed of prices) as an
 * argument, so its test (`marble-tested-handler.test.ts`) hands it a marble Observable and runs it
 * with `inject` under RxJS's `TestScheduler`, no socket and no real clock.
 *
 *   GET /quote        the next price; 504 when none comes within `wait` ms, 503 if the feed has ended
 *   GET /quotes?n=3   the next n prices, streamed one line each as they come
 *
 * Run the test with
 * `npx mocha --no-config --node-option import=tsx examples/marble-tested-handler.test.ts`, or the
 * server, on a random-walk feed, with `node --import tsx examples/marble-tested-handler.ts`. PORT
 * (default 0: any free port) and HOST (default 127.0.0.1) choose where it listens.
 */
import { pathToFileURL } from 'node:url';
import { router, type Router } from 'rxjet/router';
import { HttpError, serve } from 'rxjet/server';
import { defaultIfEmpty, interval, map, of, scan, share, take, timeout, type Observable } from 'rxjs';

const text = { 'content-type': 'text/plain; charset=utf-8' };

/** The quote routes over a feed of prices; `wait` is how long /quote waits for one, in ms. */
export function quotes(prices$: Observable<number>, wait = 1000): Router {
  return router()
    .get('/quote', () =>
      prices$.pipe(
        take(1),
        map((price) => ({ headers: text, body: `${price.toFixed(2)}\n` })),
        timeout({ first: wait, with: () => of({ status: 504, headers: text, body: 'No quote in time.\n' }) }),
        defaultIfEmpty({ status: 503, headers: text, body: 'The feed has ended.\n' }),
      ),
    )
    .get('/quotes', (req) => {
      const n = Number(req.searchParams.get('n') ?? 3);
      if (!Number.isInteger(n) || n < 1 || n > 100) throw new HttpError(400, 'n must be an integer from 1 to 100.');
      return {
        headers: text,
        body: prices$.pipe(
          take(n),
          map((price) => `${price.toFixed(2)}\n`),
        ),
      };
    });
}

// Run as a program (not imported by the test): serve the handler over a made-up feed.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const randomWalk$ = interval(250).pipe(
    scan((price) => Math.max(1, price + (Math.random() - 0.5) * 2), 100),
    share(),
  );
  const server = await serve({
    handler: quotes(randomWalk$),
    port: Number(process.env.PORT ?? 0),
    host: process.env.HOST ?? '127.0.0.1',
  });
  console.log(`rxjet marble-tested-handler example listening on ${server.url}`);
  const stop = (): void => {
    void server.close({ timeout: 2000 }).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
