/**
 * The demo server behind `npm start`: a page linking the demos, a plain answer, an async
 * answer, a chunked stream a browser or `curl -N` watches grow, a WebSocket chat on /ws, and a
 * Server-Sent Events clock on /clock.
 *
 * PORT (default 8080) and HOST (default 127.0.0.1) choose where it listens.
 */
import { readFileSync } from 'node:fs';
import { createHub, router, serve, sse, type WebSocketConnection } from 'rxjet';
import { delay, interval, map, merge, of, take, takeUntil, last, timer } from 'rxjs';

/**
 * Every chat message, shared by everyone connected to /ws: a topic of a hub, so that the same
 * chat spans processes once the hub has a cluster or Redis bus (see "Scaling out" in the README).
 */
const hub = createHub();
const room = hub.topic<string>('demo:chat');

/** A chat member: what it says goes to the room, and the room's messages come back to it. */
const chat = (conn: WebSocketConnection) => {
  const left = conn.ctrl$.pipe(last());
  conn.in$.pipe(takeUntil(left)).subscribe((message) => {
    room.publish(String(message).slice(0, 500)).catch((error: unknown) => console.error(error));
  });
  return merge(of('welcome to the rxjet chat'), room).pipe(takeUntil(left));
};

const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>rxjet demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:1rem;min-height:3rem}</style>
</head>
<body>
<h1>rxjet demo</h1>
<p>Every answer here comes from a handler that returns an Observable, a Promise or a plain object.</p>
<ul>
  <li><a href="/hello">/hello</a>: a plain response object</li>
  <li><a href="/async">/async</a>: an Observable that answers after a second</li>
  <li><a href="/stream">/stream</a>: a chunked body, one line every 200 ms (try <code>curl -N</code>)</li>
  <li><code>/ws</code>: a WebSocket chat, below</li>
  <li><a href="/clock">/clock</a>: Server-Sent Events, the server's time every second (an <code>EventSource</code> below)</li>
</ul>
<h2>The stream, as it arrives</h2>
<button id="start">Start</button>
<pre id="out"></pre>
<h2>WebSocket chat</h2>
<form id="chat"><input id="say" autocomplete="off" placeholder="say something"> <button>Send</button></form>
<pre id="log"></pre>
<h2>Server-Sent Events clock</h2>
<pre id="clock">connecting…</pre>
<script>
const clock = new EventSource('/clock');
clock.onmessage = (event) => { document.getElementById('clock').textContent = event.data; };
const socket = new WebSocket(location.origin.replace('http', 'ws') + '/ws');
const log = document.getElementById('log');
socket.onmessage = (event) => { log.textContent += event.data + '\\n'; };
document.getElementById('chat').onsubmit = (event) => {
  event.preventDefault();
  const say = document.getElementById('say');
  if (say.value) socket.send(say.value);
  say.value = '';
};
document.getElementById('start').onclick = async () => {
  const out = document.getElementById('out');
  out.textContent = '';
  const res = await fetch('/stream');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    out.textContent += value;
  }
  out.textContent += '(done)';
};
</script>
</body>
</html>
`;

/** The demo's routes: a router is a handler, so `serve` and `inject` take it as it is. */
export const handler = router()
  .get('/', () => ({ headers: { 'content-type': 'text/html; charset=utf-8' }, body: page }))
  .get('/hello', () => ({ headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'Hello World' }))
  .get('/async', () =>
    of({ headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'answered after a second' }).pipe(delay(1000)),
  )
  .get('/ws', () => ({ websocket: chat }))
  .get('/clock', () => sse(timer(0, 1000).pipe(map(() => `${new Date().toISOString().slice(11, 19)} UTC`))))
  .get('/stream', () => ({
    headers: { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' },
    body: interval(200).pipe(
      take(50),
      map((i) => `tick ${i}\n`),
    ),
  }));

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const server = await serve({ handler, port, host });
console.log(`rxjet demo listening on ${server.url}`);
const stop = (): void => {
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
// Under `npm start`, npm runs the demo through a shell. If npm itself is killed outright, no
// signal reaches the demo, which would be left holding the port: it watches its parent and, where
// /proc tells it, its parent's parent (npm), and stops when either is gone.
const watched = [process.ppid];
try {
  const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
  const grandparent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  if (grandparent > 1) watched.push(grandparent);
} catch {
  // no /proc here: the parent alone is watched
}
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
setInterval(() => {
  if (!watched.every(alive)) stop();
}, 500).unref();
