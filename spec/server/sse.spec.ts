import { expect } from 'chai';
import { once } from 'node:events';
import http, { type IncomingMessage } from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { expectTypeOf } from 'expect-type';
import type { Browser, Page } from 'playwright-core';
import { finalize, interval, map, NEVER, Observable, of, Subject, take, toArray, firstValueFrom } from 'rxjs';
import { createClient, eventSource, type ServerSentEvent } from '../../src/client/index.js';
import { InvalidEventError, ResponseStreamError } from '../../src/internal/errors.js';
import { lastEventId, sse, type JetResponse, type SseEvent } from '../../src/server/index.js';
import { launchChromium } from '../examples/chromium.js';
import { closeAll, eventually, fetchText, selfSignedCertificate, start, until, within } from '../helpers.js';

/** A streaming response read with node:http: its chunks as they come, and how it ended. */
interface Stream {
  res: IncomingMessage;
  chunks: string[];
  text: () => string;
  /** Resolves with true when the response ended complete, false when it broke. */
  ended: Promise<boolean>;
  close: () => void;
}

async function openStream(url: string, headers: Record<string, string> = {}): Promise<Stream> {
  const req = http.get(url, { agent: false, headers });
  req.on('error', () => undefined);
  const [res] = (await within(5000, once(req, 'response'), 'the response head')) as [IncomingMessage];
  const chunks: string[] = [];
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => chunks.push(chunk));
  res.on('error', () => undefined);
  const ended = new Promise<boolean>((resolve) => res.once('close', () => resolve(res.complete)));
  return { res, chunks, text: () => chunks.join(''), ended, close: () => req.destroy() };
}

/** Removes HTTP/1.1 chunked framing, checking it: the chunks in order. */
function unchunk(body: string): string[] {
  const chunks: string[] = [];
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, lineEnd), 16);
    if (size === 0) {
      expect(rest.slice(lineEnd)).to.equal('\r\n\r\n');
      return chunks;
    }
    chunks.push(Buffer.from(rest.slice(lineEnd + 2, lineEnd + 2 + size), 'latin1').toString('utf8'));
    rest = rest.slice(lineEnd + 2 + size);
    expect(rest.slice(0, 2)).to.equal('\r\n');
    rest = rest.slice(2);
  }
}

describe('sse', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  it('has the types of its contract', () => {
    expectTypeOf(sse).parameter(0).toEqualTypeOf<Observable<SseEvent>>();
    expectTypeOf(sse).returns.toEqualTypeOf<JetResponse>();
    expectTypeOf<{ data: { n: number }; id: number }>().toExtend<SseEvent>();
    expectTypeOf(lastEventId).returns.toEqualTypeOf<string | undefined>();
    expectTypeOf(eventSource).returns.toEqualTypeOf<Observable<ServerSentEvent>>();
    expectTypeOf<ServerSentEvent>().toEqualTypeOf<{ data: string; event: string; id: string }>();
  });

  describe('on the wire', () => {
    it('sends the head and then each event as one chunk, byte for byte', async () => {
      const server = await start(() =>
        sse(of('hello', { id: 1, event: 'multi', data: 'a\r\nb\rc\nd' }, { data: { n: 'é' } }), {
          retry: 1500,
          heartbeat: 0,
        }),
      );
      const { received } = await rawGet(server.port, '/');
      const head = received.slice(0, received.indexOf('\r\n\r\n'));
      const lines = head.split('\r\n');
      expect(lines[0]).to.equal('HTTP/1.1 200 OK');
      expect(lines).to.include.members([
        'content-type: text/event-stream; charset=utf-8',
        'cache-control: no-cache',
        'x-accel-buffering: no',
        'Transfer-Encoding: chunked',
      ]);
      expect(unchunk(received.slice(head.length + 4))).to.deep.equal([
        'retry: 1500\n\n',
        'data: hello\n\n',
        'id: 1\nevent: multi\ndata: a\ndata: b\ndata: c\ndata: d\n\n',
        'data: {"n":"é"}\n\n',
      ]);
    });

    it('flushes each event the moment it is emitted', async () => {
      const events = new Subject<string>();
      const server = await start(() => sse(events));
      const stream = await openStream(server.url);
      for (const word of ['one', 'two', 'three']) {
        const before = stream.chunks.length;
        events.next(word);
        await until(() => stream.chunks.length > before, `the event ${word}`);
        expect(stream.chunks.at(-1)).to.equal(`data: ${word}\n\n`);
      }
      events.complete();
      expect(await within(5000, stream.ended, 'the end')).to.equal(true);
    });

    it('sends heartbeat comments while no event comes', async () => {
      const server = await start(() => sse(NEVER, { heartbeat: 30 }));
      const stream = await openStream(server.url);
      await until(() => stream.chunks.length >= 2, 'two heartbeats');
      expect(stream.chunks.slice(0, 2)).to.deep.equal([':\n\n', ':\n\n']);
      stream.close();
    });

    it('unsubscribes events$ and stops the heartbeat when the client disconnects', async () => {
      let subscribed = 0;
      let tornDown = 0;
      const events$ = new Observable<string>((subscriber) => {
        subscribed++;
        subscriber.next('first');
        return () => tornDown++;
      });
      const server = await start(() => sse(events$, { heartbeat: 20 }));
      const stream = await openStream(server.url);
      await until(() => stream.text().includes(':\n\n'), 'a heartbeat');
      expect(await server.stats()).to.include({ requests: 1 });
      stream.close();
      await until(() => tornDown === 1, 'the teardown of events$');
      await eventually(
        () => server.stats(),
        (now) => now.requests === 0 && now.connections === 0,
        'the exchange and connection to be released',
      );
      expect(subscribed).to.equal(1);
      expect(server.errors).to.deep.equal([]);
    });

    it('gives the handler the Last-Event-ID of a reconnecting client', async () => {
      const seen: (string | undefined)[] = [];
      const server = await start((req) => {
        const last = lastEventId(req);
        seen.push(last);
        return sse(of({ id: Number(last ?? 0) + 1, data: 'next' }));
      });
      expect((await fetchText(server.url, { headers: { 'Last-Event-ID': '41' } })).body).to.equal(
        'id: 42\ndata: next\n\n',
      );
      expect((await fetchText(server.url)).body).to.equal('id: 1\ndata: next\n\n');
      expect(seen).to.deep.equal(['41', undefined]);
    });

    it('breaks the connection, reporting an InvalidEventError, when an event cannot be written', async () => {
      const events = new Subject<SseEvent>();
      const server = await start(() => sse(events));
      const stream = await openStream(server.url);
      events.next('ok');
      await until(() => stream.text() === 'data: ok\n\n', 'the first event');
      events.next({ event: 'a\nb', data: 'x' });
      expect(await within(5000, stream.ended, 'the break')).to.equal(false);
      expect(stream.text()).to.equal('data: ok\n\n');
      expect(events.observed).to.equal(false);
      expect(server.errors).to.have.length(1);
      expect(server.errors[0]).to.be.instanceOf(ResponseStreamError);
      expect(server.errors[0]!.cause).to.be.instanceOf(InvalidEventError);
    });

    it('answers HEAD with the head alone, never subscribing to events$', async () => {
      let subscribed = 0;
      const events$ = new Observable<string>(() => {
        subscribed++;
      });
      const server = await start(() => sse(events$));
      const res = await fetchText(server.url, { method: 'HEAD' });
      expect(res.status).to.equal(200);
      expect(res.headers['content-type']).to.equal('text/event-stream; charset=utf-8');
      expect(res.body).to.equal('');
      expect(subscribed).to.equal(0);
    });

    it('streams over HTTP/2, where a connection header is not allowed, and tears down on a stream reset', async () => {
      const { key, cert } = await selfSignedCertificate();
      let tornDown = false;
      const server = await start(
        () =>
          sse(
            interval(10).pipe(
              map((i) => ({ id: i, data: `tick ${i}` })),
              finalize(() => (tornDown = true)),
            ),
          ),
        { http2: true, tls: { key, cert } },
      );
      const session = http2.connect(server.url, { ca: cert });
      session.on('error', () => undefined);
      try {
        const stream = session.request({ ':path': '/' });
        stream.on('error', () => undefined);
        const [headers] = (await within(5000, once(stream, 'response'), 'the HTTP/2 response')) as [
          http2.IncomingHttpHeaders,
        ];
        expect(headers[':status']).to.equal(200);
        expect(headers['content-type']).to.equal('text/event-stream; charset=utf-8');
        expect(headers).not.to.have.property('connection');
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        await until(() => text.includes('data: tick 1\n\n'), 'two events over HTTP/2');
        expect(text.startsWith('id: 0\ndata: tick 0\n\nid: 1\ndata: tick 1\n\n')).to.equal(true, text);
        stream.close(http2.constants.NGHTTP2_CANCEL);
        await until(() => tornDown, 'the teardown of events$');
      } finally {
        session.destroy();
      }
    });
  });

  describe('when the server closes', () => {
    for (const http2Too of [false, true]) {
      it(`ends every stream at once and cleanly, so close() does not wait out its timeout${http2Too ? ' (HTTP/2)' : ''}`, async () => {
        let active = 0;
        const server = await start(
          () =>
            sse(
              interval(50).pipe(
                map((i) => {
                  if (i === 0) active++;
                  return `tick ${i}`;
                }),
                finalize(() => active--),
              ),
            ),
          { http2: http2Too },
        );
        const ended: string[] = [];
        const texts: Record<string, string> = {};
        const read = (res: NodeJS.ReadableStream, tag: string): Promise<void> =>
          new Promise((resolve) => {
            texts[tag] = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (texts[tag] = (texts[tag] ?? '') + chunk));
            res.on('end', () => {
              ended.push(`${tag}: ${texts[tag]!.includes('data: tick 0') ? 'events, then a clean end' : texts[tag]}`);
              resolve();
            });
          });
        const req = http.get(`${server.url}/events`, { agent: false });
        const [res] = (await within(5000, once(req, 'response'), 'the stream to start')) as [IncomingMessage];
        const httpEnd = read(res, 'http/1.1');
        let h2End: Promise<void> = Promise.resolve();
        let session: http2.ClientHttp2Session | undefined;
        if (http2Too) {
          session = http2.connect(server.url);
          session.on('error', () => undefined);
          const stream = session.request({ ':path': '/events' });
          h2End = read(stream, 'h2');
        }
        await until(
          () => Object.values(texts).every((text) => text.includes('data: tick 0')),
          'the first event on every stream',
        );
        // The default close timeout is 10 s: resolving well within it means nothing waited for it.
        await within(5000, server.close(), 'close() to resolve');
        await within(5000, Promise.all([httpEnd, h2End]), 'the clients to see their streams end');
        expect(ended.sort()).to.deep.equal(
          http2Too
            ? ['h2: events, then a clean end', 'http/1.1: events, then a clean end']
            : ['http/1.1: events, then a clean end'],
        );
        expect(active).to.equal(0);
        session?.destroy();
      });
    }
  });

  describe('read by the rxjet client', () => {
    it('is parsed by eventSource, which resumes with Last-Event-ID each time the server ends the stream', async () => {
      const seen: (string | undefined)[] = [];
      const server = await start((req) => {
        const last = lastEventId(req);
        seen.push(last);
        const from = Number(last ?? 0);
        return sse(
          of(
            { event: 'note', data: 'no id' },
            ...[1, 2].map((n) => ({ id: from + n, data: `line 1\nline ${from + n}` })),
          ),
          { retry: 20 },
        );
      });
      const client = createClient();
      try {
        const events = await within(
          10_000,
          firstValueFrom(eventSource(client, server.url, { retry: 5000 }).pipe(take(7), toArray())),
          'seven events',
        );
        expect(events).to.deep.equal([
          { event: 'note', data: 'no id', id: '' },
          { event: 'message', data: 'line 1\nline 1', id: '1' },
          { event: 'message', data: 'line 1\nline 2', id: '2' },
          { event: 'note', data: 'no id', id: '2' },
          { event: 'message', data: 'line 1\nline 3', id: '3' },
          { event: 'message', data: 'line 1\nline 4', id: '4' },
          { event: 'note', data: 'no id', id: '4' },
        ]);
        expect(seen).to.deep.equal([undefined, '2', '4']);
      } finally {
        await client.close();
      }
    });

    it('sends back a non-ASCII id as Last-Event-ID in UTF-8, which lastEventId decodes', async () => {
      const seen: (string | undefined)[] = [];
      const server = await start((req) => {
        seen.push(lastEventId(req));
        return sse(of({ id: 'é🚀 1', data: 'x' }), { retry: 10 });
      });
      const client = createClient();
      try {
        await within(10_000, firstValueFrom(eventSource(client, server.url).pipe(take(2), toArray())), 'two events');
        expect(seen).to.deep.equal([undefined, 'é🚀 1']);
      } finally {
        await client.close();
      }
    });
  });

  describe("read by Chromium's EventSource", function () {
    this.timeout(60_000);
    let browser: Browser | undefined;
    let page: Page;

    const html = (script: string): JetResponse => ({
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: `<!doctype html><html><head><meta charset="utf-8"><title>sse</title></head><body><script>${script}</script></body></html>`,
    });

    /** Records every event the page's EventSource gets, of the types given, in `window.got`. */
    const listen = (path: string, types: string[]) => `
      window.got = [];
      window.source = new EventSource(${JSON.stringify(path)});
      for (const type of ${JSON.stringify(types)}) {
        window.source.addEventListener(type, (e) => window.got.push({ event: e.type, data: e.data, id: e.lastEventId }));
      }`;

    before(async () => {
      browser = await launchChromium();
    });

    beforeEach(async () => {
      page = await browser!.newPage();
      page.setDefaultTimeout(10_000);
    });

    afterEach(async () => {
      await page.close();
    });

    after(async () => {
      await browser?.close();
    });

    it('gets event types, ids and multi-line data, and reconnects with Last-Event-ID after the retry delay', async () => {
      const seen: (string | undefined)[] = [];
      const server = await start((req) => {
        if (req.path === '/') return html(listen('/events', ['message', 'note']));
        if (req.path !== '/events') return null;
        const last = lastEventId(req);
        seen.push(last);
        const from = Number(last ?? 0);
        return sse(
          of(
            { event: 'note', data: 'no id' },
            ...[1, 2].map((n) => ({ id: from + n, data: `line 1\r\nline ${from + n} é🚀` })),
          ),
          { retry: 50 },
        );
      });
      await page.goto(server.url);
      await page.waitForFunction('window.got.length >= 6');
      await page.evaluate('window.source.close()');
      expect(await page.evaluate<unknown[]>('window.got')).to.deep.include.ordered.members([
        { event: 'note', data: 'no id', id: '' },
        { event: 'message', data: 'line 1\nline 1 é🚀', id: '1' },
        { event: 'message', data: 'line 1\nline 2 é🚀', id: '2' },
        { event: 'note', data: 'no id', id: '2' },
        { event: 'message', data: 'line 1\nline 3 é🚀', id: '3' },
        { event: 'message', data: 'line 1\nline 4 é🚀', id: '4' },
      ]);
      expect(seen.slice(0, 2)).to.deep.equal([undefined, '2']);
    });

    it('ignores the heartbeat comments between events, and its close unsubscribes events$ on the server', async () => {
      let tornDown = false;
      const server = await start((req) => {
        if (req.path === '/') return html(listen('/forever', ['message']));
        if (req.path !== '/forever') return null;
        return sse(
          interval(200).pipe(
            map((n) => String(n)),
            finalize(() => (tornDown = true)),
          ),
          { heartbeat: 20 },
        );
      });
      await page.goto(server.url);
      await page.waitForFunction('window.got.length >= 2');
      expect(await page.evaluate('window.got.slice(0, 2).map((e) => e.data)')).to.deep.equal(['0', '1']);
      expect(tornDown).to.equal(false);
      await page.evaluate('window.source.close()');
      await until(() => tornDown, 'the teardown of events$');
      await eventually(
        () => server.stats(),
        (now) => now.requests === 0,
        'the exchange to end',
      );
    });

    it('sends back a non-ASCII id as Last-Event-ID in UTF-8, which lastEventId decodes', async () => {
      const seen: (string | undefined)[] = [];
      const server = await start((req) => {
        if (req.path === '/') return html(listen('/utf8', ['message']));
        if (req.path !== '/utf8') return null;
        seen.push(lastEventId(req));
        return sse(of({ id: 'é🚀 1', data: 'x' }), { retry: 20 });
      });
      await page.goto(server.url);
      await page.waitForFunction('window.got.length >= 2');
      await page.evaluate('window.source.close()');
      expect(await page.evaluate('window.got[1]')).to.deep.equal({ event: 'message', data: 'x', id: 'é🚀 1' });
      expect(seen.slice(0, 2)).to.deep.equal([undefined, 'é🚀 1']);
    });

    it('stops reconnecting when the server answers 204', async () => {
      let requests = 0;
      const server = await start((req) => {
        if (req.path === '/') return html(listen('/once', ['message']));
        if (req.path !== '/once') return null;
        requests++;
        return requests === 1 ? sse(of('only'), { retry: 20 }) : { status: 204 };
      });
      await page.goto(server.url);
      await page.waitForFunction('window.source.readyState === EventSource.CLOSED');
      expect(await page.evaluate('window.got')).to.deep.equal([{ event: 'message', data: 'only', id: '' }]);
      expect(requests).to.equal(2);
    });
  });
});

/** Sends a GET over raw TCP and reads until the chunked body ends. */
async function rawGet(port: number, path: string): Promise<{ received: string }> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  await until(() => received.endsWith('\r\n0\r\n\r\n'), 'the end of the chunked body');
  socket.destroy();
  return { received };
}
