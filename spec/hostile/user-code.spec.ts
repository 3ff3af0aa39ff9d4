import { expect } from 'chai';
import { once } from 'node:events';
import { Observable } from 'rxjs';
import { WebSocket } from 'ws';
import type { ServeOptions } from '../../src/server/index.js';
import { closeAll, fetchText, start, until, within } from '../helpers.js';

/*
 * User code that throws where the server calls it outside the handler's own try: a broken
 * Promise-like, an Observable-like whose subscribe throws, a response whose getters throw, a body
 * whose iterator cannot be made, a `websocket.protocols` function fed the attacker's offer, an
 * `onError` that throws. None may take the process down (mocha fails a test on any uncaught
 * exception or unhandled rejection): each is answered as a failing handler is, reported once,
 * and the server goes on serving.
 */

/** Starts a server with `handler`, sends GET /, and checks the answer, the report and a second request. */
async function answersFailureAndServesOn(
  handler: NonNullable<ServeOptions['handler']>,
  expected: { status: number; cause: string },
): Promise<void> {
  let calls = 0;
  const server = await start((req) => (calls++ === 0 ? handler(req) : { body: 'still serving' }));
  const first = await fetchText(`${server.url}/`);
  expect(first.status).to.equal(expected.status);
  expect(first.body).to.equal('Internal Server Error');
  await until(() => server.errors.length === 1, 'the error to be reported');
  const [error] = server.errors as (Error & { code?: string; cause?: unknown })[];
  expect(error?.code).to.equal('RXJET_ERR_HANDLER');
  expect(String(error?.cause)).to.include(expected.cause);
  const second = await fetchText(`${server.url}/`);
  expect(second).to.include({ status: 200, body: 'still serving' });
}

describe('hostile: user code that throws outside the handler call', function () {
  this.timeout(10_000);
  afterEach(closeAll);

  /** What the server printed to stderr while `run` ran (an onError that throws is printed, not thrown). */
  async function stderrOf(run: () => Promise<void>): Promise<string> {
    const printed: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => printed.push(args.map(String).join(' '));
    try {
      await run();
    } finally {
      console.error = original;
    }
    return printed.join('\n');
  }

  it('answers 500 to a thenable whose then() throws, and keeps serving', async () => {
    await answersFailureAndServesOn(
      () => ({
        then() {
          throw new Error('broken then');
        },
      }),
      { status: 500, cause: 'broken then' },
    );
  });

  it('answers 500 to a Promise that resolves to a thenable whose then() throws', async () => {
    await answersFailureAndServesOn(
      () =>
        Promise.resolve({
          then() {
            throw new Error('nested broken then');
          },
        }),
      { status: 500, cause: 'nested broken then' },
    );
  });

  it('answers 500 to an Observable-like whose subscribe throws', async () => {
    // What isObservable() accepts: lift and subscribe functions; this one's subscribe throws.
    const broken = Object.assign(Object.create(Observable.prototype) as Observable<never>, {
      subscribe: (): never => {
        throw new Error('broken subscribe');
      },
    });
    await answersFailureAndServesOn(() => broken, { status: 500, cause: 'broken subscribe' });
  });

  it('answers 500 to a response whose getters throw', async () => {
    await answersFailureAndServesOn(
      () => ({
        get websocket(): never {
          throw new Error('broken getter');
        },
      }),
      { status: 500, cause: 'broken getter' },
    );
  });

  it('answers 500 to a body whose async iterator cannot be made', async () => {
    await answersFailureAndServesOn(
      () => ({
        body: {
          [Symbol.asyncIterator](): never {
            throw new Error('no iterator');
          },
        },
      }),
      { status: 500, cause: 'no iterator' },
    );
  });

  describe('websocket.protocols, called with the client offer', () => {
    const protocols = (offered: string[]): string => {
      if (!offered.includes('v2')) throw new Error('no v2');
      return 'v2';
    };

    for (const kind of ['websocketHandler', 'a handler answering { websocket }'] as const) {
      it(`refuses the handshake with 500 when it throws (${kind}), reports it, and keeps serving`, async () => {
        const echo = { websocket: (conn: { in$: Observable<unknown> }) => conn.in$ };
        const server =
          kind === 'websocketHandler'
            ? await start(() => ({ body: 'plain' }), { websocketHandler: echo.websocket, websocket: { protocols } })
            : await start(() => echo, { websocket: { protocols } });
        const refused = new WebSocket(`ws://127.0.0.1:${server.port}/`, ['chat']);
        refused.on('error', () => undefined);
        const [, response] = (await within(5000, once(refused, 'unexpected-response'), 'the refusal')) as [
          unknown,
          { statusCode: number },
        ];
        expect(response.statusCode).to.equal(500);
        refused.terminate();
        await until(() => server.errors.length === 1, 'the error to be reported');
        expect(String((server.errors[0] as Error & { cause?: unknown }).cause)).to.include('no v2');

        const accepted = new WebSocket(`ws://127.0.0.1:${server.port}/`, ['v2']);
        await within(5000, once(accepted, 'open'), 'the v2 WebSocket to open');
        expect(accepted.protocol).to.equal('v2');
        accepted.send('hi');
        const [data] = (await within(5000, once(accepted, 'message'), 'the echo')) as [Buffer];
        expect(data.toString()).to.equal('hi');
        accepted.close();
        await once(accepted, 'close');
      });
    }
  });

  it('closes with 1011 a WebSocket whose handler answers a thenable whose then() throws, and keeps serving', async () => {
    const server = await start(() => ({ body: 'plain' }), {
      websocketHandler: () => ({
        then() {
          throw new Error('broken websocket then');
        },
      }),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
    ws.on('error', () => undefined);
    const [code] = (await within(5000, once(ws, 'close'), 'the socket to close')) as [number];
    expect(code).to.equal(1011);
    await until(() => server.errors.length === 1, 'the error to be reported');
    expect(String((server.errors[0] as Error & { cause?: unknown }).cause)).to.include('broken websocket then');
    expect((await fetchText(`${server.url}/`)).body).to.equal('plain');
  });

  it('survives an onError that throws while a WebSocket reports an error', async () => {
    const thrown: Error[] = [];
    const server = await start(() => ({ body: 'plain' }), {
      websocketHandler: () => {
        throw new Error('handler failed');
      },
      onError: (error) => {
        thrown.push(error);
        throw new Error('onError failed too');
      },
    });
    const printed = await stderrOf(async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      ws.on('error', () => undefined);
      const [code] = (await within(5000, once(ws, 'close'), 'the socket to close')) as [number];
      expect(code).to.equal(1011);
    });
    expect(printed).to.include('rxjet: onError threw Error: onError failed too');
    expect(thrown.map((error) => (error as Error & { code?: string }).code)).to.deep.equal(['RXJET_ERR_HANDLER']);
    expect((await fetchText(`${server.url}/`)).body).to.equal('plain');
  });

  it('survives an onError that throws while an HTTP request reports an error', async () => {
    const server = await start(
      () => {
        throw new Error('handler failed');
      },
      {
        onError: () => {
          throw new Error('onError failed too');
        },
      },
    );
    const printed = await stderrOf(async () => {
      expect((await fetchText(`${server.url}/`)).status).to.equal(500);
      expect((await fetchText(`${server.url}/`)).status).to.equal(500);
    });
    expect(printed.match(/rxjet: onError threw Error: onError failed too/g)).to.have.length(2);
  });
});
