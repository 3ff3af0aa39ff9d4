/**
 * A WebSocket chat room: everyone connected to /chat hears everyone else. A connection is three
 * streams: `in$` (what the peer says), `out$` (what we send) and `ctrl$` (open, close, errors).
 * The handler forwards `in$` into the room and returns the room as an Observable, which rxjet
 * sends on `out$` until the socket closes.
 *
 * Run it with `node --import tsx examples/websocket-chat.ts` and join from two terminals, e.g.
 * `npx wscat -c '<ws-url>/chat?name=ann'` (any WebSocket client will do). PORT (default 0: any free
 * port) and HOST (default 127.0.0.1) choose where it listens.
 */
import { serve, type Handler } from 'rxjet/server';
import type { Message, WebSocketHandler } from 'rxjet/websocket';
import { defer, EMPTY, merge, Subject } from 'rxjs';

/** Every line said in the room, as everyone should see it. */
const room = new Subject<string>();
let guests = 0;

const textOf = (message: Message): string =>
  (typeof message === 'string' ? message : Buffer.from(message).toString('utf8')).slice(0, 500);

/** One member of the room, from joining to leaving. */
const member =
  (name: string): WebSocketHandler =>
  (conn) => {
    conn.in$.subscribe({
      next: (message) => room.next(`${name}: ${textOf(message)}`),
      // in$ completes when the socket closes, however it closes.
      complete: () => room.next(`${name} left`),
    });
    // Listen to the room first, then announce the newcomer (who hears it too).
    return merge(
      room,
      defer(() => {
        room.next(`${name} joined`);
        return EMPTY;
      }),
    );
  };

export const handler: Handler = (req) => {
  if (req.path !== '/chat') return { status: 404, body: 'The chat room is on /chat.\n' };
  const given = new URLSearchParams(req.query).get('name')?.trim().slice(0, 32);
  return { websocket: member(given !== undefined && given !== '' ? given : `guest${++guests}`) };
};

const server = await serve({ handler, port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' });
console.log(
  `rxjet websocket-chat example listening on ${server.url} (the room is ${server.url.replace('http', 'ws')}/chat)`,
);

const stop = (): void => {
  void server.close({ timeout: 2000 }).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
