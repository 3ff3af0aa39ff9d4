/**
 * File uploads, streamed to disk: a page with an upload form, and a route that writes each file
 * of a multipart/form-data upload to a folder as it arrives, reporting progress as Server-Sent
 * Events. Nothing is held in memory: each file is read only as fast as the disk takes it, so a
 * slow disk slows the upload rather than filling the server.
 *
 *   GET  /                      the upload form
 *   GET  /uploads/:id/events    progress of upload :id as SSE: `progress`, `stored`, then `done` or `failed`
 *   POST /uploads/:id           the form (a `title` and up to 10 files of at most 50 MiB): 201 with what was stored
 *
 * Files are stored under names of our own (random UUIDs): the client's filename is only data,
 * never part of a path, so `../../etc/passwd` is just a string in the answer.
 *
 * Run it with `node --import tsx examples/uploads.ts` and open the URL it prints. PORT (default
 * 0: any free port) and HOST (default 127.0.0.1) choose where it listens; UPLOAD_DIR (default: a
 * new temporary folder, removed on exit) where files go. Try it from a shell with
 * `curl -F title=notes -F file=@README.md <url>/uploads/mine`.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { router } from 'rxjet/router';
import {
  collectFields,
  HttpError,
  multipart,
  serve,
  sse,
  type JetRequest,
  type JetResponse,
  type MultipartFilePart,
  type SseEvent,
} from 'rxjet/server';
import {
  catchError,
  defer,
  from,
  ignoreElements,
  map,
  mergeMap,
  type Observable,
  of,
  ReplaySubject,
  tap,
  throwError,
} from 'rxjs';
import { z } from 'zod';

const MiB = 1024 * 1024;
const ownFolder = process.env.UPLOAD_DIR === undefined;
const folder = process.env.UPLOAD_DIR ?? (await mkdtemp(path.join(tmpdir(), 'rxjet-uploads-')));

/** What the form must say besides its files, checked with zod through `collectFields`. */
const Upload = z.object({
  title: z.string({ error: 'Give the upload a title.' }).trim().min(1, 'Give the upload a title.').max(100),
});

interface StoredFile {
  field: string;
  /** The name the client sent: shown, never used as a path. */
  filename: string;
  storedAs: string;
  bytes: number;
}

/** Progress of each upload by its id, replayed to a feed that connects late. */
const feeds = new Map<string, ReplaySubject<SseEvent>>();
function feed(id: string): ReplaySubject<SseEvent> {
  let subject = feeds.get(id);
  if (subject === undefined) {
    subject = new ReplaySubject<SseEvent>(200);
    feeds.set(id, subject);
    // Forgotten a minute after it was opened, whether or not anyone came.
    setTimeout(() => feeds.delete(id), 60_000).unref();
  }
  return subject;
}

/**
 * Writes a file part to `folder` under a random name, counting bytes as they pass. The body is
 * pulled by `pipeline`, so it is read only as fast as the file is written. `pipeline` starts
 * reading in the call that delivered the part, as `multipart` needs (a body left unread then is
 * skipped). A write that fails or is aborted removes its file; `writes` gets each write's
 * promise, settled once its file is complete or gone.
 */
function store(
  part: MultipartFilePart,
  progress: ReplaySubject<SseEvent>,
  signal: AbortSignal,
  writes: Promise<StoredFile>[],
): Observable<StoredFile> {
  return defer(() => {
    const storedAs = randomUUID();
    let bytes = 0;
    let reported = 0;
    const count = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        if (bytes - reported >= MiB) {
          reported = bytes;
          progress.next({ event: 'progress', data: { filename: part.filename, bytes } });
        }
        done(null, chunk);
      },
    });
    const target = path.join(folder, storedAs);
    const write = pipeline(part.body, count, createWriteStream(target), { signal }).then(
      () => ({ field: part.name, filename: part.filename, storedAs, bytes }),
      async (error: unknown) => {
        await unlink(target).catch(() => undefined);
        throw error;
      },
    );
    writes.push(write);
    return write;
  }).pipe(tap((file) => progress.next({ event: 'stored', data: file })));
}

/** The upload id of a route, checked: it names a feed, so it is kept short and plain. */
function uploadId(req: { params: { id: string } }): string {
  const { id } = req.params;
  if (!/^[\w-]{1,64}$/.test(id)) throw new HttpError(400, 'An upload id is 1 to 64 letters, digits, _ or -.');
  return id;
}

/**
 * Reads an upload: files to disk as they come, then the fields, checked. A refused upload keeps
 * none of its files: writes still going are aborted, and every file is gone before the answer
 * is sent, so a client that reads the 400 and then looks finds nothing left over.
 */
function upload(req: JetRequest & { params: { id: string } }): Observable<JetResponse> {
  const progress = feed(uploadId(req));
  const stored: StoredFile[] = [];
  const writes: Promise<StoredFile>[] = [];
  const abort = new AbortController();
  return multipart(req, { maxFileSize: 50 * MiB, maxFiles: 10 }).pipe(
    // mergeMap, so each body is read in the call that delivered its part.
    mergeMap((part) =>
      part.kind === 'file'
        ? store(part, progress, abort.signal, writes).pipe(
            tap((file) => stored.push(file)),
            ignoreElements(),
          )
        : of(part),
    ),
    collectFields(Upload),
    map(({ title }) => {
      const answer = { title, files: stored };
      progress.next({ event: 'done', data: answer });
      progress.complete();
      return { status: 201, headers: { 'content-type': 'application/json' }, body: JSON.stringify(answer) };
    }),
    catchError((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'The upload failed.';
      progress.next({ event: 'failed', data: { status, message } });
      progress.complete();
      abort.abort();
      // A failed write has removed its own file; the rest go here.
      const removed = Promise.allSettled(writes).then((results) =>
        Promise.all(
          results
            .filter((result) => result.status === 'fulfilled')
            .map((result) => unlink(path.join(folder, result.value.storedAs)).catch(() => undefined)),
        ),
      );
      return from(removed).pipe(mergeMap(() => throwError(() => error)));
    }),
  );
}

const page = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>rxjet uploads</title>
<h1>Upload files</h1>
<form id="form">
  <label>Title <input name="title" required></label>
  <input type="file" name="files" multiple>
  <button>Upload</button>
</form>
<ol id="log"></ol>
<script type="module">
  const form = document.getElementById('form');
  const log = document.getElementById('log');
  const say = (text) => log.appendChild(document.createElement('li')).textContent = text;
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const id = crypto.randomUUID();
    const events = new EventSource('/uploads/' + id + '/events');
    events.addEventListener('progress', (e) => { const p = JSON.parse(e.data); say(p.filename + ': ' + p.bytes + ' bytes'); });
    events.addEventListener('stored', (e) => { const f = JSON.parse(e.data); say('stored ' + f.filename + ' (' + f.bytes + ' bytes)'); });
    events.addEventListener('done', (e) => { say('done: ' + JSON.parse(e.data).title); events.close(); });
    events.addEventListener('failed', (e) => { say('failed: ' + JSON.parse(e.data).message); events.close(); });
    events.addEventListener('open', () => fetch('/uploads/' + id, { method: 'POST', body: new FormData(form) }), { once: true });
  });
</script>
`;

const app = router()
  .get('/', () => ({ headers: { 'content-type': 'text/html; charset=utf-8' }, body: page }))
  .get('/uploads/:id/events', (req) => sse(feed(uploadId(req)), { heartbeat: 10_000 }))
  .post('/uploads/:id', upload);

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({ handler: app, port, host });
console.log(`rxjet uploads example storing files in ${folder}`);
console.log(`rxjet uploads example listening on ${server.url}`);

const stop = (): void => {
  void server
    .close({ timeout: 2000 })
    .then(() => (ownFolder ? rm(folder, { recursive: true, force: true }) : undefined))
    .then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
