import { expect } from 'chai';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { firstValueFrom, take, toArray } from 'rxjs';
import { createClient, eventSource } from '../../src/client/index.js';
import { childEnv, eventually, fetchText, until, within } from '../helpers.js';
import { startDemo, type DemoProcess } from './demo-process.js';

describe('the demo server (npm start)', function () {
  this.timeout(30_000);
  let demo: DemoProcess;
  let url: string;

  before(async () => {
    demo = await startDemo();
    url = demo.url;
  });

  after(async () => {
    await demo.stop();
  });

  it('serves a page linking the demos', async () => {
    const res = await fetchText(url);
    expect(res.headers['content-type']).to.equal('text/html; charset=utf-8');
    for (const link of ['/hello', '/async', '/stream', '/clock']) expect(res.body).to.include(`href="${link}"`);
  });

  it('answers /hello and /async', async () => {
    expect((await fetchText(`${url}/hello`)).body).to.equal('Hello World');
    expect((await fetchText(`${url}/async`)).body).to.equal('answered after a second');
  });

  it('runs a WebSocket chat on /ws that broadcasts to everyone connected', async () => {
    const { default: WebSocket } = await import('ws');
    const open = async (): Promise<{ socket: InstanceType<typeof WebSocket>; messages: string[] }> => {
      const socket = new WebSocket(url.replace('http', 'ws') + '/ws');
      const messages: string[] = [];
      socket.on('message', (m: Buffer) => messages.push(m.toString()));
      await until(() => messages.length > 0, 'the welcome');
      return { socket, messages };
    };
    const alice = await open();
    const bob = await open();
    alice.socket.send('hello bob');
    await until(() => bob.messages.includes('hello bob') && alice.messages.includes('hello bob'), 'the broadcast');
    expect(bob.messages[0]).to.equal('welcome to the rxjet chat');
    alice.socket.close();
    bob.socket.close();
  });

  it('streams /stream a line at a time', async () => {
    const lines = await new Promise<string[]>((resolve, reject) => {
      http.get(`${url}/stream`, (res) => {
        const seen: string[] = [];
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          seen.push(chunk);
          if (seen.length === 3) {
            res.destroy();
            resolve(seen);
          }
        });
        res.on('error', reject);
      });
    });
    expect(lines).to.deep.equal(['tick 0\n', 'tick 1\n', 'tick 2\n']);
  });

  it('stops when `npm start` is killed outright (SIGKILL), leaving nothing on the port', async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: childEnv({ PORT: '0' }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    npm.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await until(() => /listening on (http:\/\/\S+)/.test(out), 'npm start to print its URL', 20_000);
    const started = /listening on (http:\/\/\S+)/.exec(out)![1]!;
    expect((await fetchText(`${started}/hello`)).status).to.equal(200);
    npm.kill('SIGKILL');
    const refused = await eventually(
      () =>
        fetchText(`${started}/hello`).then(
          () => 'answering',
          (error: unknown) => (error as NodeJS.ErrnoException).code ?? String(error),
        ),
      // While it closes, a request may be reset; once it is gone, the port refuses.
      (outcome) => outcome === 'ECONNREFUSED',
      'the demo to stop after npm was killed',
      10_000,
    );
    expect(refused).to.equal('ECONNREFUSED');
  });

  it('serves a Server-Sent Events clock on /clock, one time a second', async () => {
    const client = createClient();
    try {
      const ticks = await within(
        10_000,
        firstValueFrom(eventSource(client, `${url}/clock`).pipe(take(2), toArray())),
        'two ticks of the clock',
      );
      for (const tick of ticks) {
        expect(tick.event).to.equal('message');
        expect(tick.data).to.match(/^\d\d:\d\d:\d\d UTC$/);
      }
      expect(ticks[0]!.data).not.to.equal(ticks[1]!.data);
    } finally {
      await client.close();
    }
  });
});
