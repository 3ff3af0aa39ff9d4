import { expect } from 'chai';
import { HttpError, serve, type ServeOptions } from '../../src/server/index.js';
import { InvalidOptionError } from '../../src/index.js';

const handler = () => ({ body: 'ok' });

describe('serve: options', () => {
  const bad: [string, Partial<ServeOptions> & Record<string, unknown>, string][] = [
    ['a missing handler', {}, 'handler'],
    ['a handler that is not a function', { handler: 'x' as never }, 'handler'],
    ['a port out of range', { handler, port: 70000 }, 'port'],
    ['a fractional timeout', { handler, headersTimeout: 1.5 }, 'headersTimeout'],
    ['a negative idle timeout', { handler, idleTimeout: -1 }, 'idleTimeout'],
    ['an unknown overflow policy', { handler, overflow: 'buffer' as never }, 'overflow'],
    ['a zero highWaterMark', { handler, highWaterMark: 0 }, 'highWaterMark'],
    [
      'headersTimeout above requestTimeout',
      { handler, headersTimeout: 10_000, requestTimeout: 5000 },
      'headersTimeout',
    ],
    ['an empty host', { handler, host: '' }, 'host'],
    ['a misspelt option', { handler, maxBodysize: 10 }, 'maxBodysize'],
    ['an onError that is not a function', { handler, onError: 1 as never }, 'onError'],
  ];
  for (const [what, options, option] of bad) {
    it(`throws InvalidOptionError at call time for ${what}`, () => {
      expect(() => serve(options))
        .to.throw(InvalidOptionError)
        .with.property('option', option);
    });
  }

  it('names the option and what it expected in the message', () => {
    expect(() => serve({ handler, port: -1 })).to.throw(
      'Invalid option "port": expected an integer from 0 to 65535, got the number -1.',
    );
  });

  it('rejects when the port is taken', async () => {
    const first = await serve({ handler });
    try {
      const error = await serve({ handler, port: first.port }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.include({ code: 'EADDRINUSE' });
    } finally {
      await first.close();
    }
  });

  it('listens on 127.0.0.1 with a free port by default', async () => {
    const server = await serve({ handler });
    try {
      expect(server.port).to.be.greaterThan(0);
      expect(server.url).to.equal(`http://127.0.0.1:${server.port}`);
      expect(server.node.address()).to.include({ address: '127.0.0.1' });
    } finally {
      await server.close();
    }
  });

  it('refuses an HttpError status outside 400-599', () => {
    expect(() => new HttpError(200)).to.throw(InvalidOptionError);
    expect(new HttpError(404).message).to.equal('Not Found');
  });
});

describe('serve: default limits', () => {
  it('sets node’s timeouts and limits to the documented defaults', async () => {
    const server = await serve({ handler });
    try {
      const node = server.node;
      expect({
        headersTimeout: node.headersTimeout,
        requestTimeout: node.requestTimeout,
        keepAliveTimeout: node.keepAliveTimeout,
        timeout: node.timeout,
        maxHeadersCount: node.maxHeadersCount,
      }).to.deep.equal({
        headersTimeout: 30_000,
        requestTimeout: 60_000,
        keepAliveTimeout: 5_000,
        // idleTimeout (60 s) is kept by rxjet's own sweep, not by node's per-request socket timer.
        timeout: 0,
        maxHeadersCount: 2000,
      });
    } finally {
      await server.close();
    }
  });
});
