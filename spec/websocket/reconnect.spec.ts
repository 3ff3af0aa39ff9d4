import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { retry, switchMap, type Subscription } from 'rxjs';
import { WebSocketClosedError } from '../../src/internal/errors.js';
import { backoff, websocket } from '../../src/websocket/index.js';
import { childEnv, until, within } from '../helpers.js';

/*
 * The README's reconnect recipe against a real server that is killed (SIGKILL: no close frame,
 * 1006) or restarted (SIGTERM: close() sends 1001), then started again on the same port: the cold
 * `websocket()` errors on an abnormal end, so `retry()` reconnects. A normal close (1000) or one
 * this side asks for completes, and nothing reconnects; any other code (an application's) errors.
 */

const fixture = fileURLToPath(new URL('./fixtures/ticker-server.ts', import.meta.url));

/** Starts the ticker server in a child process (on `port`, 0 for any) and resolves once it listens. */
async function startTicker(port = 0): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
    env: childEnv({ PORT: String(port) }),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  await until(() => /listening on \d+/.test(out), 'the ticker server to listen', 20_000);
  return { child, port: Number(/listening on (\d+)/.exec(out)![1]) };
}

describe('websocket(): reconnecting with retry() when the server goes away', function () {
  this.timeout(60_000);
  const children = new Set<ChildProcess>();
  let subscription: Subscription | undefined;

  afterEach(() => {
    subscription?.unsubscribe();
    for (const child of children) child.kill('SIGKILL');
    children.clear();
  });

  for (const signal of ['SIGKILL', 'SIGTERM'] as const) {
    it(`reconnects, with the README's recipe, to a server ${signal === 'SIGKILL' ? 'killed (1006)' : 'restarted (1001)'} and started again`, async () => {
      const first = await startTicker();
      children.add(first.child);
      const messages: string[] = [];
      let completed = false;
      let failed: unknown;
      // The recipe as the README gives it.
      subscription = websocket(`ws://127.0.0.1:${first.port}/feed`)
        .pipe(
          switchMap((c) => c.in$),
          retry({ delay: backoff({ initial: 100, max: 30_000 }) }),
        )
        .subscribe({
          next: (message) => messages.push(String(message)),
          error: (error: unknown) => (failed = error),
          complete: () => (completed = true),
        });
      await until(() => messages.includes(`hello from ${first.child.pid}`), 'the first server to answer', 10_000);
      first.child.kill(signal);
      await within(10_000, once(first.child, 'exit'), 'the first server to exit');
      children.delete(first.child);
      const second = await startTicker(first.port);
      children.add(second.child);
      await until(() => messages.includes(`hello from ${second.child.pid}`), 'the client to reconnect', 20_000);
      expect(completed, 'completed').to.equal(false);
      expect(failed, 'failed').to.equal(undefined);
    });
  }

  it('errors with WebSocketClosedError, carrying the code, when the server is killed', async () => {
    const server = await startTicker();
    children.add(server.child);
    let error: unknown;
    let opened = false;
    subscription = websocket(`ws://127.0.0.1:${server.port}/feed`)
      .pipe(switchMap((c) => ((opened = true), c.in$)))
      .subscribe({ error: (e: unknown) => (error = e) });
    await until(() => opened, 'the connection');
    server.child.kill('SIGKILL');
    await until(() => error !== undefined, 'the error');
    expect(error).to.be.instanceOf(WebSocketClosedError);
    expect(error).to.include({ code: 'RXJET_ERR_WS_CLOSED', closeCode: 1006, reason: '' });
  });

  it('errors on an application close code (4000) too, carrying it', async () => {
    const server = await startTicker();
    children.add(server.child);
    let error: unknown;
    subscription = websocket(`ws://127.0.0.1:${server.port}/app-close`)
      .pipe(switchMap((c) => c.in$))
      .subscribe({ error: (e: unknown) => (error = e) });
    await until(() => error !== undefined, 'the error');
    expect(error).to.be.instanceOf(WebSocketClosedError);
    expect(error).to.include({ code: 'RXJET_ERR_WS_CLOSED', closeCode: 4000, reason: 'app says bye' });
  });

  it('completes, and does not reconnect, when the server closes normally (1000)', async () => {
    const server = await startTicker();
    children.add(server.child);
    const messages: string[] = [];
    let completed = false;
    subscription = websocket(`ws://127.0.0.1:${server.port}/bye`)
      .pipe(
        switchMap((c) => c.in$),
        retry({ delay: backoff({ initial: 10, max: 100 }) }),
      )
      .subscribe({ next: (m) => messages.push(String(m)), complete: () => (completed = true) });
    await until(() => completed, 'the stream to complete');
    expect(messages).to.deep.equal([`hello from ${server.child.pid}`]);
  });

  it('completes when this side closes, whatever the code', async () => {
    const server = await startTicker();
    children.add(server.child);
    let completed = false;
    let error: unknown;
    subscription = websocket(`ws://127.0.0.1:${server.port}/feed`).subscribe({
      next: (conn) => conn.out$.error(new Error('done here')), // closes with 1011, asked for here
      error: (e: unknown) => (error = e),
      complete: () => (completed = true),
    });
    await until(() => completed || error !== undefined, 'the end');
    expect(error).to.equal(undefined);
    expect(completed).to.equal(true);
  });
});
