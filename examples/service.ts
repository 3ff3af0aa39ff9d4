/**
 * A small service, as a user builds one with rxjet: a JSON API of notes with validation, a live
 * feed of changes as Server-Sent Events, a WebSocket room, and a static front end, under one
 * router with the middleware every service needs (request ids, logging, problem+json errors,
 * compression, CORS for another origin's front end).
 *
 *   GET    /                 the front end (examples/service-public/), compressed
 *   GET    /api/notes        the notes, newest first (?q= filters by text)
 *   POST   /api/notes        { "text": "…" } (1 to 280 characters): 201 with the note
 *   GET    /api/notes/:id    one note, or a problem+json 404
 *   DELETE /api/notes/:id    204
 *   GET    /api/feed         every change as an SSE event (`note` or `deleted`), as it happens
 *   GET    /room             a WebSocket room: what one member sends, every member hears
 *
 * Run it with `node --import tsx examples/service.ts` and open the URL it prints. PORT (default
 * 0: any free port) and HOST (default 127.0.0.1) choose where it listens; ALLOWED_ORIGIN (default
 * none) lets a front end served from another origin call the API.
 */
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { compress, cors, problemJson, requestId, requestLog, serveStatic, validate } from 'rxjet/middleware';
import { createHub } from 'rxjet/pubsub';
import { router } from 'rxjet/router';
import { HttpError, serve, sse } from 'rxjet/server';
import type { WebSocketConnection } from 'rxjet/websocket';
import { last, merge, of, Subject, takeUntil } from 'rxjs';
import { z } from 'zod';

interface Note {
  id: string;
  text: string;
  at: string;
}

/** The notes, newest first, and every change to them as it happens. */
const notes: Note[] = [];
const changes = new Subject<{ event: 'note' | 'deleted'; data: string }>();

const newNote = z.object({
  text: z.string().trim().min(1, 'A note needs some text.').max(280, 'A note is 280 characters at most.'),
});
const search = z.object({ q: z.string().max(100).optional() });

const json = (status: number, value: unknown) => ({
  status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(value),
});

const api = router()
  .use(cors({ origin: process.env.ALLOWED_ORIGIN?.split(',') ?? [] }))
  .get(
    '/notes',
    (req) => {
      const q = req.valid.query.q?.toLowerCase();
      return json(200, q === undefined ? notes : notes.filter((note) => note.text.toLowerCase().includes(q)));
    },
    { use: [validate({ query: search })] },
  )
  .post(
    '/notes',
    (req) => {
      const note: Note = { id: randomUUID(), text: req.valid.body.text, at: new Date().toISOString() };
      notes.unshift(note);
      notes.length = Math.min(notes.length, 1000);
      changes.next({ event: 'note', data: JSON.stringify(note) });
      return json(201, note);
    },
    { use: [validate({ body: newNote })], timeout: 2_000 },
  )
  .get('/notes/:id', (req) => {
    const note = notes.find((n) => n.id === req.params.id);
    if (note === undefined) throw new HttpError(404, `There is no note ${req.params.id}.`);
    return json(200, note);
  })
  .delete('/notes/:id', (req) => {
    const at = notes.findIndex((n) => n.id === req.params.id);
    if (at === -1) throw new HttpError(404, `There is no note ${req.params.id}.`);
    notes.splice(at, 1);
    changes.next({ event: 'deleted', data: req.params.id });
    return { status: 204 };
  })
  .get('/feed', () => sse(changes, { heartbeat: 15_000 }));

/**
 * Everyone in /room hears what each member says, and who comes and goes: a topic of a hub, so
 * that one room spans every process once the hub has a cluster or Redis bus.
 */
const hub = createHub();
const room = hub.topic<string>('service:room');
/** Says something in the room; a publish the bus refuses (never, in one process) is logged. */
const say = (line: string): void => {
  room.publish(line).catch((error: unknown) => console.error(error));
};
const member = (conn: WebSocketConnection) => {
  const left = conn.ctrl$.pipe(last());
  const name = `guest-${randomUUID().slice(0, 4)}`;
  conn.in$.pipe(takeUntil(left)).subscribe({
    next: (message) => say(`${name}: ${String(message).slice(0, 500)}`),
    complete: () => say(`${name} left`),
  });
  // Delivered in this call, before the member's own subscription: it does not hear its own arrival.
  say(`${name} joined`);
  return merge(of(`welcome, ${name}`), room).pipe(takeUntil(left));
};

const logger = { info: (entry: object) => console.log(JSON.stringify(entry)) };

export const app = router({ notFound: serveStatic(fileURLToPath(new URL('./service-public/', import.meta.url))) })
  .use(requestId(), requestLog({ logger }), problemJson(), compress())
  .mount('/api', api)
  .get('/room', () => ({ websocket: member }));

const server = await serve({
  handler: app,
  port: Number(process.env.PORT ?? 0),
  host: process.env.HOST ?? '127.0.0.1',
});
console.log(`rxjet service example listening on ${server.url}`);

const stop = (): void => {
  changes.complete();
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
