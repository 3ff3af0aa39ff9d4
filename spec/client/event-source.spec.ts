import { expect } from 'chai';
import { once } from 'node:events';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, type Observable, take, toArray } from 'rxjs';
import { createClient, eventSource, type Client, type ServerSentEvent } from '../../src/client/index.js';
import { EventSourceResponseError, EventTooLargeError, NetworkError } from '../../src/internal/errors.js';
import { until, within } from '../helpers.js';

/** Answers the n-th request (from 0). */
type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A plain node:http server on 127.0.0.1, port 0, keeping each request's headers and time. */
async function plainServer(handler: Handler) {
  const requests: { url: string; headers: IncomingHttpHeaders; at: number; closed: boolean }[] = [];
  const server = http.createServer((req, res) => {
    const seen = { url: req.url!, headers: req.headers, at: Date.now(), closed: false };
    requests.push(seen);
    res.on('close', () => (seen.closed = true));
    handler(req, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`, server, requests };
}

/** Starts an event stream response. */
function open(res: ServerResponse, type = 'text/event-stream'): void {
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.flushHeaders();
}

/** The first `count` events, or fails naming what it waited for. */
function first(events$: Observable<ServerSentEvent>, count: number): Promise<ServerSentEvent[]> {
  return within(10_000, firstValueFrom(events$.pipe(take(count), toArray())), `${count} events`);
}

describe('eventSource', function () {
  this.timeout(30_000);
  let client: Client;
  const servers: http.Server[] = [];
  const serve = async (handler: Handler) => {
    const s = await plainServer(handler);
    servers.push(s.server);
    return s;
  };

  beforeEach(() => {
    client = createClient();
  });
  afterEach(async () => {
    await client.close();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      server.close();
    }
  });

  it('sends a GET that asks for an event stream, and emits the events of the stream as they come', async () => {
    const { url, requests } = await serve((_req, res) => {
      open(res);
      res.write(Buffer.from([0xef, 0xbb]));
      res.write(Buffer.from([0xbf]));
      res.write(': welcome\r\n');
      res.write('event: add\r\ndata: 1\r');
      setImmediate(() => res.write('\ndata: 2\r\n\r\nid: 7\ndata:plain\n\nretry: 10\ndata: é'));
      setImmediate(() => res.write('\n\n'));
    });
    const events = await first(eventSource(client, url, { headers: { 'x-app': 'demo' } }), 3);
    expect(events).to.deep.equal([
      { event: 'add', data: '1\n2', id: '' },
      { event: 'message', data: 'plain', id: '7' },
      { event: 'message', data: 'é', id: '7' },
    ]);
    expect(requests[0]!.headers).to.include({
      accept: 'text/event-stream',
      'cache-control': 'no-cache',
      'x-app': 'demo',
    });
    expect(requests[0]!.headers).not.to.have.property('last-event-id');
  });

  it('reconnects when the server ends the stream, with Last-Event-ID set to the last id', async () => {
    const { url, requests } = await serve((_req, res, n) => {
      open(res);
      if (n === 0) res.end('retry: 10\nid: a1\ndata: x\n\nid: a2\n\ndata: unfinished\nid: a3\n');
      else res.write('data: y\n\n');
    });
    const events = await first(eventSource(client, url), 2);
    expect(events).to.deep.equal([
      { event: 'message', data: 'x', id: 'a1' },
      { event: 'message', data: 'y', id: 'a2' },
    ]);
    expect(requests.map((r) => r.headers['last-event-id'])).to.deep.equal([undefined, 'a2']);
    expect(requests[1]!.headers).to.include({ accept: 'text/event-stream', 'cache-control': 'no-cache' });
  });

  it('waits as long as the retry field says before reconnecting', async () => {
    let ended = 0;
    const { url, requests } = await serve((_req, res, n) => {
      open(res);
      if (n === 0) {
        res.write('retry: 300\ndata: x\n\n');
        setImmediate(() => {
          ended = Date.now();
          res.end();
        });
      } else res.write('data: y\n\n');
    });
    await first(eventSource(client, url, { retry: 5 }), 2);
    expect(requests).to.have.length(2);
    expect(requests[1]!.at - ended).to.be.at.least(290);
  });

  it('reconnects after the connection breaks mid-event, dropping the unfinished event', async () => {
    const { url, requests } = await serve((_req, res, n) => {
      open(res);
      if (n === 0) {
        res.write('retry: 10\nid: 1\ndata: a\n\ndata: part');
        setImmediate(() => res.socket!.destroy());
      } else res.write('data: b\n\n');
    });
    const events = await first(eventSource(client, url), 2);
    expect(events).to.deep.equal([
      { event: 'message', data: 'a', id: '1' },
      { event: 'message', data: 'b', id: '1' },
    ]);
    expect(requests[1]!.headers['last-event-id']).to.equal('1');
  });

  it('sends lastEventId on the first request, and the client’s headers and cookies on every one', async () => {
    const { url, requests } = await serve((_req, res, n) => {
      res.setHeader('set-cookie', `visit=${n}`);
      open(res);
      res.end(`retry: 10\ndata: ${n}\n\n`);
    });
    const own = createClient({ headers: { 'x-client': 'yes' } });
    try {
      await first(eventSource(own, url, { lastEventId: '99' }), 2);
    } finally {
      await own.close();
    }
    expect(requests[0]!.headers).to.include({ 'last-event-id': '99', 'x-client': 'yes' });
    expect(requests[0]!.headers).not.to.have.property('cookie');
    expect(requests[1]!.headers).to.include({ 'last-event-id': '99', 'x-client': 'yes', cookie: 'visit=0' });
  });

  it('gives up with NetworkError after maxReconnects when it cannot connect', async () => {
    const { url, server } = await serve(() => undefined);
    server.close();
    await once(server, 'close');
    const failure = await within(
      10_000,
      lastValueFrom(eventSource(client, url, { retry: 10, maxReconnects: 2 })).then(
        () => undefined,
        (error: unknown) => error,
      ),
      'the error',
    );
    expect(failure).to.be.instanceOf(NetworkError);
    expect(failure).to.include({ code: 'RXJET_ERR_NETWORK', method: 'GET', url });
  });

  it('errors with EventSourceResponseError, and does not reconnect, on a status other than 200', async () => {
    const { url, requests } = await serve((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/event-stream', 'retry-after': '1' });
      res.end('data: no\n\n');
    });
    const failure = await within(
      10_000,
      firstValueFrom(eventSource(client, url, { retry: 10 })).catch((error: unknown) => error),
      'the error',
    );
    expect(failure).to.be.instanceOf(EventSourceResponseError);
    expect(failure).to.include({ code: 'RXJET_ERR_SSE_RESPONSE', status: 503, method: 'GET', url });
    expect((failure as Error).message).to.equal(`GET ${url} answered 503, not an event stream.`);
    expect(requests).to.have.length(1);
  });

  it('errors with EventSourceResponseError, and does not reconnect, on a content type other than text/event-stream', async () => {
    const { url, requests } = await serve((_req, res) => {
      open(res, 'text/plain');
      res.end('data: no\n\n');
    });
    const failure = await within(
      10_000,
      firstValueFrom(eventSource(client, url, { retry: 10 })).catch((error: unknown) => error),
      'the error',
    );
    expect(failure).to.be.instanceOf(EventSourceResponseError);
    expect(failure).to.include({ status: 200, contentType: 'text/plain' });
    expect((failure as Error).message).to.equal(
      `GET ${url} answered with content-type "text/plain", not text/event-stream.`,
    );
    expect(requests).to.have.length(1);
  });

  it('completes without reconnecting when the server answers 204', async () => {
    const { url, requests } = await serve((_req, res, n) => {
      if (n === 0) {
        open(res);
        res.end('retry: 10\ndata: last\n\n');
      } else {
        res.writeHead(204);
        res.end();
      }
    });
    const events = await within(10_000, lastValueFrom(eventSource(client, url).pipe(toArray())), 'the completion');
    expect(events).to.deep.equal([{ event: 'message', data: 'last', id: '' }]);
    expect(requests).to.have.length(2);
  });

  it('follows a redirect, and reconnects to the URL it was given', async () => {
    const { url, requests } = await serve((req, res) => {
      if (req.url === '/events') {
        res.writeHead(307, { location: '/moved' });
        res.end();
        return;
      }
      open(res);
      res.end('retry: 10\ndata: here\n\n');
    });
    expect(await first(eventSource(client, url), 2)).to.deep.equal([
      { event: 'message', data: 'here', id: '' },
      { event: 'message', data: 'here', id: '' },
    ]);
    expect(requests.map((r) => r.url)).to.deep.equal(['/events', '/moved', '/events', '/moved']);
  });

  it('closes the connection when unsubscribed, before the response or during the stream', async () => {
    const waiting = await serve(() => undefined);
    const early = eventSource(client, waiting.url).subscribe();
    await until(() => waiting.requests.length === 1, 'the request');
    early.unsubscribe();
    await until(() => waiting.requests[0]!.closed, 'the server to see the request aborted');

    const streaming = await serve((_req, res) => {
      open(res);
      res.write('data: one\n\n');
    });
    const seen: ServerSentEvent[] = [];
    const late = eventSource(client, streaming.url).subscribe((event) => seen.push(event));
    await until(() => seen.length === 1, 'the first event');
    late.unsubscribe();
    await until(() => streaming.requests[0]!.closed, 'the server to see the stream closed');
    expect(streaming.requests).to.have.length(1);
  });

  it('does not reconnect once the client is closed, and the close then finishes', async () => {
    let end: (() => void) | undefined;
    const { url, requests } = await serve((_req, res) => {
      open(res);
      res.write('retry: 10\ndata: one\n\n');
      end = () => res.end();
    });
    const own = createClient();
    const seen: string[] = [];
    let completed = false;
    eventSource(own, url).subscribe({ next: (e) => seen.push(e.data), complete: () => (completed = true) });
    await until(() => seen.length === 1, 'the first event');
    const closing = own.close();
    end!();
    await within(5000, closing, 'the client to close');
    await until(() => completed, 'the completion');
    expect(requests).to.have.length(1);
  });

  it('errors with EventTooLargeError, without reconnecting, when an event passes maxEventSize', async () => {
    const { url, requests } = await serve((_req, res) => {
      open(res);
      res.write(`data: ${'x'.repeat(100)}`);
    });
    const failure = await within(
      10_000,
      firstValueFrom(eventSource(client, url, { maxEventSize: 64 })).catch((error: unknown) => error),
      'the error',
    );
    expect(failure).to.be.instanceOf(EventTooLargeError);
    expect((failure as Error).message).to.equal(`An event of the event stream of ${url} is larger than 64 characters.`);
    await until(() => requests[0]!.closed, 'the stream to be closed');
    expect(requests).to.have.length(1);
  });
});
