import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { promisify } from 'node:util';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';
import { createClient, get } from '../src/client/index.js';
import { diagnosticsChannels } from '../src/internal/diagnostics.js';
import { InvalidOptionError } from '../src/internal/errors.js';
import { serve } from '../src/server/index.js';
import { connect } from '../src/websocket/index.js';
import { childEnv, closeAll, eventually, rawExchange, start } from './helpers.js';

/** What a test saw on the channels: `[channel without 'rxjet:', message]`. */
type Seen = [string, Record<string, unknown>][];

/** Subscribes to every rxjet channel for the test; `stop()` unsubscribes. */
function record(): { seen: Seen; stop: () => void } {
  const seen: Seen = [];
  const listeners = Object.values(diagnosticsChannels).map((name) => {
    const listener = (message: unknown): void => {
      seen.push([name.slice('rxjet:'.length), message as Record<string, unknown>]);
    };
    subscribe(name, listener);
    return () => unsubscribe(name, listener);
  });
  return { seen, stop: () => listeners.forEach((stop) => stop()) };
}

/** The events of one area (`'server:'`...) about requests to `path` (other specs' stragglers left out). */
const about = (seen: Seen, prefix: string, path: string): Seen =>
  seen.filter(
    ([name, message]) =>
      name.startsWith(prefix) && new URL((message.request as { url: string }).url, 'http://x').pathname === path,
  );
const names = (seen: Seen, prefix: string, path: string): string[] => about(seen, prefix, path).map(([name]) => name);

describe('tracing', function () {
  this.timeout(20_000);
  let recording: ReturnType<typeof record>;
  beforeEach(() => (recording = record()));
  afterEach(async () => {
    recording.stop();
    await closeAll();
  });

  describe('diagnostics_channel: server', () => {
    it('publishes start, head and end with the request and status for each request', async () => {
      const server = await start((req) => ({ status: req.path === '/made' ? 201 : 200, body: 'ok' }));
      await rawExchange(server.port, 'GET /made HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      const server$ = about(recording.seen, 'server:', '/made');
      expect(server$.map(([name]) => name)).to.deep.equal([
        'server:request:start',
        'server:response:head',
        'server:request:end',
      ]);
      const [, first] = server$[0]!;
      expect(first.request).to.include({ method: 'GET', path: '/made' });
      expect(server$[1]![1]).to.include({ status: 201 });
      expect(server$[2]![1]).to.include({ status: 201 });
      expect(server$[2]![1].request).to.equal(first.request);
    });

    it('publishes the error of a failing handler, then its 500', async () => {
      const server = await start(() => {
        throw new Error('broken');
      });
      await rawExchange(server.port, 'GET /broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect(names(recording.seen, 'server:', '/broken')).to.deep.equal([
        'server:request:start',
        'server:request:error',
        'server:response:head',
        'server:request:end',
      ]);
      const error = recording.seen.find(([name]) => name === 'server:request:error')![1].error as Error;
      expect(error).to.include({ code: 'RXJET_ERR_HANDLER' });
      expect(recording.seen.find(([name]) => name === 'server:request:end')![1]).to.include({ status: 500 });
    });

    it('publishes a ClientAbortedError when the client leaves a stream, and no end', async () => {
      const server = await start(() => ({ body: new Observable<string>((s) => s.next('first')) }));
      await rawExchange(server.port, 'GET /leaves HTTP/1.1\r\nHost: x\r\n\r\n', {
        until: (received) => received.includes('first'),
      });
      await eventually(
        () => Promise.resolve(names(recording.seen, 'server:', '/leaves')),
        (seen) => seen.includes('server:request:error'),
        'the error event',
      );
      expect(names(recording.seen, 'server:', '/leaves')).to.deep.equal([
        'server:request:start',
        'server:response:head',
        'server:request:error',
      ]);
      const error = recording.seen.find(([name]) => name === 'server:request:error')![1].error as Error;
      expect(error).to.include({ code: 'RXJET_ERR_CLIENT_ABORTED' });
    });
  });

  describe('diagnostics_channel: WebSocket', () => {
    it('publishes open and close, with the code, for the server side and the client side', async () => {
      const server = await start(undefined, { websocketHandler: (conn) => conn.in$ });
      await connect(`ws://127.0.0.1:${server.port}/room`, (conn) => conn.out$.complete());
      const opens = about(recording.seen, 'websocket:open', '/room');
      const ours = new Set(opens.map(([, m]) => m.connection));
      const closes = (): unknown[] =>
        recording.seen
          .filter(([name, m]) => name === 'websocket:close' && ours.has(m.connection))
          .map(([, m]) => m.code);
      await eventually(
        () => Promise.resolve(closes()),
        (codes) => codes.length === 2,
        'both close events',
      );
      expect(opens).to.have.length(2);
      expect(closes()).to.deep.equal([1000, 1000]);
    });
  });

  describe('diagnostics_channel: client', () => {
    it('publishes start, headers and end for a body read whole and for a streamed one', async () => {
      const server = await start(() => ({ body: 'hello' }));
      const client = createClient();
      try {
        await firstValueFrom(get(client, `${server.url}/whole`, { as: 'text' }));
        const res = await firstValueFrom(get(client, `${server.url}/streamed`));
        await lastValueFrom(res.body.pipe(toArray()));
        await eventually(
          () => Promise.resolve(recording.seen.filter(([name]) => name === 'client:request:end').length),
          (ends) => ends >= 2,
          'two client ends',
        );
      } finally {
        await client.close();
      }
      const client$ = recording.seen.filter(
        ([name, m]) => name.startsWith('client:') && (m.request as { url: string }).url.startsWith(server.url),
      );
      expect(
        client$.map(([name, m]) => `${name} ${(m.request as { url: string }).url.split('/').pop()}`),
      ).to.deep.equal([
        'client:request:start whole',
        'client:request:headers whole',
        'client:request:end whole',
        'client:request:start streamed',
        'client:request:headers streamed',
        'client:request:end streamed',
      ]);
      expect(client$[1]![1]).to.include({ status: 200 });
    });

    it('publishes the typed error of a failed request', async () => {
      const server = await serve({ handler: () => null, port: 0 });
      const url = server.url;
      await server.close();
      const client = createClient();
      try {
        const failed = await firstValueFrom(get(client, `${url}/gone`)).catch((e: unknown) => e);
        expect(failed).to.include({ code: 'RXJET_ERR_NETWORK' });
      } finally {
        await client.close();
      }
      expect(names(recording.seen, 'client:', '/gone')).to.deep.equal(['client:request:start', 'client:request:error']);
      expect(recording.seen.find(([name]) => name === 'client:request:error')![1].error).to.include({
        code: 'RXJET_ERR_NETWORK',
      });
    });
  });

  describe('NODE_DEBUG=rxjet', () => {
    it('logs each traced event on stderr, and nothing without it', async () => {
      const script = `
        import { serve, createClient, get } from './dist/index.js';
        import { firstValueFrom } from 'rxjs';
        const server = await serve({ handler: () => ({ body: 'ok' }) });
        const client = createClient();
        await firstValueFrom(get(client, server.url + '/traced', { as: 'text' }));
        await client.close();
        await server.close();
      `;
      const run = (env: Record<string, string>) =>
        promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { env: childEnv(env) });
      const traced = await run({ NODE_DEBUG: 'rxjet' });
      const lines = traced.stderr.split('\n').filter((line) => line.startsWith('RXJET'));
      expect(lines.map((line) => line.replace(/^RXJET \d+: /, '').replace(/http:\/\/[^/]+/, 'URL'))).to.deep.equal([
        'client:request:start GET URL/traced',
        'server:request:start GET /traced',
        'server:response:head GET /traced 200',
        'server:request:end GET /traced 200',
        'client:request:headers GET URL/traced 200',
        'client:request:end GET URL/traced',
      ]);
      const quiet = await run({});
      expect(quiet.stderr).to.equal('');
    });
  });

  describe('logger', () => {
    it('sends unexpected errors to a pino-style logger as error({ err, req }, message)', async () => {
      const logged: [Record<string, unknown>, string | undefined][] = [];
      const logger = { error: (object: Record<string, unknown>, message?: string) => logged.push([object, message]) };
      const server = await serve({
        port: 0,
        logger,
        handler: () => {
          throw new Error('broken');
        },
      });
      try {
        await rawExchange(server.port, 'GET /fails HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      } finally {
        await server.close();
      }
      expect(logged).to.have.length(1);
      const [[object, message]] = logged as [[Record<string, unknown>, string]];
      expect(object.err).to.include({ code: 'RXJET_ERR_HANDLER' });
      expect(object.req).to.deep.equal({ method: 'GET', url: '/fails', remoteAddress: '127.0.0.1' });
      expect(message).to.equal('rxjet: GET /fails failed');
    });

    it('gives way to onError, and refuses something that is not a logger', async () => {
      const logged: unknown[] = [];
      const reported: unknown[] = [];
      const server = await serve({
        port: 0,
        logger: { error: (object: Record<string, unknown>) => logged.push(object) },
        onError: (error) => reported.push(error),
        handler: () => {
          throw new Error('broken');
        },
      });
      try {
        await rawExchange(server.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      } finally {
        await server.close();
      }
      expect([logged.length, reported.length]).to.deep.equal([0, 1]);
      expect(() => serve({ handler: () => null, logger: console.log as never })).to.throw(InvalidOptionError, /logger/);
    });
  });
});
