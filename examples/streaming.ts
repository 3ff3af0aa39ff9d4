/**
 * Streaming bodies. An Observable body is a push source: each value is sent as a chunk as soon
 * as it is emitted. An async iterable, or an Observable made with `pullable()`, is a pull source:
 * the server reads the next chunk only once the client has taken the last one, so a slow client
 * slows the producer instead of filling memory.
 *
 *   GET /ticks          an Observable: a line every 100 ms, ten in all (watch with `curl -N`)
 *   GET /lines?n=1000   an async generator, pulled line by line
 *   GET /big?mb=64      64 MiB from a generator through pullable(), at the client's pace
 *   GET /progress       how far the generator of the latest /big has got, as JSON
 *
 * Run it with `node --import tsx examples/streaming.ts`, then for instance
 * `curl -N <url>/ticks`, or `curl --limit-rate 1M -o /dev/null <url>/big` and, meanwhile,
 * `curl <url>/progress` to see the generator stay just ahead of the reader. PORT (default 0: any
 * free port) and HOST (default 127.0.0.1) choose where it listens.
 */
import { router, type RoutedRequest } from 'rxjet/router';
import { HttpError, pullable, serve } from 'rxjet/server';
import { interval, map, take } from 'rxjs';

const text = { 'content-type': 'text/plain; charset=utf-8' };

/** A whole-number query parameter between 1 and `max`, or a 400. */
function count(req: RoutedRequest, name: string, fallback: number, max: number): number {
  const value = Number(req.searchParams.get(name) ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new HttpError(400, `${name} must be an integer from 1 to ${max}.`);
  }
  return value;
}

/** An async iterable body: the server asks for each line when the socket can take it. */
async function* lines(n: number): AsyncGenerator<string> {
  for (let i = 1; i <= n; i++) yield `line ${i}\n`;
}

/** Bytes handed to the server so far by the generator of the latest /big, out of `total`. */
const progress = { produced: 0, total: 0 };

/** A large body from a synchronous generator, pulled 64 KiB at a time. */
function* megabytes(mb: number): Generator<Uint8Array> {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  progress.produced = 0;
  progress.total = mb * 1024 * 1024;
  while (progress.produced < progress.total) {
    progress.produced += chunk.byteLength;
    yield chunk;
  }
}

export const handler = router()
  .get('/ticks', () => ({
    headers: text,
    body: interval(100).pipe(
      take(10),
      map((i) => `tick ${i + 1}\n`),
    ),
  }))
  .get('/lines', (req) => ({ headers: text, body: lines(count(req, 'n', 1000, 1_000_000)) }))
  .get('/big', (req) => {
    const mb = count(req, 'mb', 64, 1024);
    return {
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(mb * 1024 * 1024) },
      body: pullable(() => megabytes(mb)),
    };
  })
  .get('/progress', () => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(progress) }));

const server = await serve({ handler, port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
console.log(`rxjet streaming example listening on ${server.url}`);

const stop = (): void => {
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
