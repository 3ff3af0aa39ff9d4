/**
 * Server-Sent Events, both sides. The server answers /events with a feed of numbered ticks that
 * a reconnecting client resumes after the last one it saw (`Last-Event-ID`); the rxjet client in
 * the same process reads the first three ticks with `eventSource` and prints them.
 *
 * PORT (default 0: any free port) and HOST (default 127.0.0.1) choose where it listens. Watch the
 * feed with `curl -N <url>/events`, or `curl -N -H 'Last-Event-ID: 41' <url>/events` to resume.
 */
import { createClient, eventSource } from 'rxjet/client';
import { lastEventId, serve, sse, type Handler } from 'rxjet/server';
import { interval, map, take } from 'rxjs';

export const handler: Handler = (req) => {
  if (req.path !== '/events') return null;
  const after = Number(lastEventId(req) ?? 0) || 0;
  const ticks$ = interval(500).pipe(
    map((i) => ({ id: after + i + 1, event: 'tick', data: { n: after + i + 1, at: new Date().toISOString() } })),
  );
  return sse(ticks$, { retry: 1000, heartbeat: 10_000 });
};

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({ handler, port, host });
console.log(`rxjet sse example listening on ${server.url}`);

const client = createClient();
eventSource(client, `${server.url}/events`)
  .pipe(take(3))
  .subscribe({
    next: (event) => console.log(`client got ${event.event} #${event.id}: ${event.data}`),
    error: (error: unknown) => console.error('client failed', error),
    complete: () => void client.close(),
  });

const stop = (): void => {
  void Promise.all([client.close(), server.close({ timeout: 2000 })]).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
