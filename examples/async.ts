/**
 * Handlers that answer after async work, with a Promise or with an Observable. Both stop working
 * when the client goes away: the Promise's work through `req.signal`, the Observable by being
 * unsubscribed.
 *
 *   GET /promise?ms=300   an async function: waits `ms` (a stand-in for a database call), then answers
 *   GET /observable       two lookups at once with forkJoin, answered as JSON when both are in
 *
 * Run it with `node --import tsx examples/async.ts`, then `curl <url>/promise?ms=1000`. PORT
 * (default 0: any free port) and HOST (default 127.0.0.1) choose where it listens.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { router, type RoutedRequest } from 'rxjet/router';
import { HttpError, serve, type JetResponse } from 'rxjet/server';
import { forkJoin, map, timer, type Observable } from 'rxjs';

/** A Promise handler: an async function whose work is cancelled with the request's signal. */
async function promised(req: RoutedRequest): Promise<JetResponse> {
  const ms = Number(req.searchParams.get('ms') ?? 300);
  if (!Number.isInteger(ms) || ms < 0 || ms > 60_000)
    throw new HttpError(400, 'ms must be an integer from 0 to 60000.');
  console.log(`/promise: working for ${ms} ms`);
  try {
    await sleep(ms, undefined, { signal: req.signal });
  } catch (error) {
    // req.signal aborted: the client went away, so the work stopped and nobody waits for an answer.
    if (req.signal.aborted) console.log('/promise: the client went away, so the work stopped');
    throw error;
  }
  return { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: `answered after ${ms} ms\n` };
}

/** A stand-in for a call to another service (an rxjet client request is cancelled on unsubscribe too). */
const lookUp = <T>(value: T, ms: number): Observable<T> => timer(ms).pipe(map(() => value));

/** An Observable handler: its first value is the response; unsubscribing cancels both lookups. */
function observed(): Observable<JetResponse> {
  return forkJoin({ weather: lookUp('sunny', 200), temperature: lookUp(21, 100) }).pipe(
    map((report) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(report) })),
  );
}

export const handler = router()
  .get('/promise', (req) => promised(req))
  .get('/observable', () => observed());

const server = await serve({ handler, port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
console.log(`rxjet async example listening on ${server.url}`);

const stop = (): void => {
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
