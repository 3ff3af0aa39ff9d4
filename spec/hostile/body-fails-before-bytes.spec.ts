import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { connect, constants } from 'node:http2';
import { once } from 'node:events';
import { throwError } from 'rxjs';
import { HttpError } from '../../src/server/index.js';
import { closeAll, start, within } from '../helpers.js';
import { exchange, parseResponses } from './wire.js';

/*
 * A response body that fails before any of it is on the wire: `throwError(...)`, a stream that
 * cannot open, an async iterable that throws at once. Until its first byte the client has seen
 * nothing, so it gets an answer as a failing handler gets one (500 with the generic body, or an
 * HttpError's status and message), not a connection closed with no status line.
 */

const get = 'GET /item HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n';

/** Sends GET /item over HTTP/2 (cleartext, prior knowledge) and reads the status and body. */
async function h2Get(url: string): Promise<{ status: number; body: string }> {
  const session = connect(url);
  session.on('error', () => undefined);
  try {
    const stream = session.request({ [constants.HTTP2_HEADER_PATH]: '/item' });
    const [headers] = (await within(5000, once(stream, 'response'), 'the HTTP/2 response')) as [
      Record<string, unknown>,
    ];
    let body = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => (body += chunk));
    await within(5000, once(stream, 'end'), 'the HTTP/2 body');
    return { status: Number(headers[constants.HTTP2_HEADER_STATUS]), body };
  } finally {
    session.close();
  }
}

describe('hostile: a body that fails before its first byte', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  const cases = [
    {
      name: 'throwError(() => new Error("db down"))',
      body: () => throwError(() => new Error('db down')),
      status: 500,
      text: 'Internal Server Error',
      reported: 'db down',
    },
    {
      name: 'throwError(() => new HttpError(404, "no such item"))',
      body: () => throwError(() => new HttpError(404, 'no such item')),
      status: 404,
      text: 'no such item',
      reported: undefined,
    },
    {
      name: 'a file stream that cannot open (ENOENT)',
      body: () => createReadStream('/nonexistent/rxjet-spec-file'),
      status: 500,
      text: 'Internal Server Error',
      reported: 'ENOENT',
    },
    {
      name: 'an async iterable that throws on its first next()',
      body: () =>
        // eslint-disable-next-line require-yield -- it fails before yielding, which is the point
        (async function* () {
          throw new Error('first next failed');
        })(),
      status: 500,
      text: 'Internal Server Error',
      reported: 'first next failed',
    },
  ];

  for (const c of cases) {
    it(`answers ${c.status} over HTTP/1.1 for ${c.name}`, async () => {
      const server = await start(() => ({ body: c.body() }));
      const { received, closed } = await exchange(server.port, get);
      const { responses, trailing } = parseResponses(received);
      expect(responses.map((r) => [r.status, r.body])).to.deep.equal([[c.status, c.text]]);
      expect(trailing).to.equal('');
      expect(closed).to.equal(true);
      expect(server.errors.map((e) => String((e as Error & { cause?: unknown }).cause))).to.satisfy(
        (causes: string[]) =>
          c.reported === undefined ? causes.length === 0 : causes.length === 1 && causes[0]!.includes(c.reported),
      );
    });

    it(`answers ${c.status} over HTTP/2 for ${c.name}`, async () => {
      const server = await start(() => ({ body: c.body() }), { http2: true });
      expect(await h2Get(server.url)).to.deep.equal({ status: c.status, body: c.text });
    });
  }
});
