import { expect } from 'chai';
import { catchError, firstValueFrom, map, mergeMap, of, tap, toArray } from 'rxjs';
import { multipart, type JetRequest, type MultipartOptions, type ServeOptions } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, eventually, fetchText, start } from '../helpers.js';
import { field, file, formBody, formType, summarise, type RawPart } from './multipart-helpers.js';

/** A limit, a form exactly at it (which passes) and one just past it (413 with `message`). */
interface LimitCase {
  limit: string;
  options?: MultipartOptions;
  server?: Partial<ServeOptions>;
  at: RawPart[];
  past: RawPart[];
  message: string;
}

const fields = (count: number): RawPart[] => Array.from({ length: count }, (_, i) => field(`f${i}`, ''));
const files = (count: number): RawPart[] => Array.from({ length: count }, (_, i) => file(`u${i}`, `${i}.txt`, ''));
const disposition = 'Content-Disposition: form-data; name="a"';
const headed = (lines: string[]): RawPart => ({ headers: [disposition, ...lines], body: 'v' });
/** A header block (the lines joined with CRLF) of exactly `size` bytes. */
const headerBlockOf = (size: number): RawPart => headed([`X-Pad: ${'p'.repeat(size - disposition.length - 2 - 7)}`]);

const cases: LimitCase[] = [
  {
    limit: 'maxFileSize',
    options: { maxFileSize: 10 },
    at: [file('f', 'f.bin', 'x'.repeat(10))],
    past: [file('f', 'f.bin', 'x'.repeat(11))],
    message: 'The file in part "f" of POST / is larger than 10 bytes.',
  },
  {
    limit: 'maxFiles',
    options: { maxFiles: 2 },
    at: [...files(2), ...fields(5)],
    past: files(3),
    message: 'The form has more than 2 files.',
  },
  {
    limit: 'maxFields (files not counted)',
    options: { maxFields: 2 },
    at: [...fields(2), ...files(3)],
    past: fields(3),
    message: 'The form has more than 2 fields.',
  },
  {
    limit: 'maxFieldSize',
    options: { maxFieldSize: 5 },
    at: [field('a', '12345')],
    past: [field('a', '123456')],
    message: 'The value of part "a" of POST / is larger than 5 bytes.',
  },
  {
    limit: 'maxParts',
    options: { maxParts: 3 },
    at: [...fields(2), ...files(1)],
    past: [...fields(2), ...files(2)],
    message: 'The form has more than 3 parts.',
  },
  {
    limit: 'maxHeaderPairs',
    options: { maxHeaderPairs: 2 },
    at: [headed(['X-One: 1'])],
    past: [headed(['X-One: 1', 'X-Two: 2'])],
    message: 'A part has more than 2 header lines.',
  },
  {
    limit: 'maxHeaderSize',
    options: { maxHeaderSize: 200 },
    at: [headerBlockOf(200)],
    past: [headerBlockOf(201)],
    message: "A part's headers are larger than 200 bytes.",
  },
  {
    limit: 'the default maxFields, 1000',
    options: { maxParts: 5000 },
    at: fields(1000),
    past: fields(1001),
    message: 'The form has more than 1000 fields.',
  },
  {
    limit: 'the default maxFiles, 100',
    at: files(100),
    past: files(101),
    message: 'The form has more than 100 files.',
  },
  {
    limit: 'the default maxParts, 1000',
    options: { maxFields: 5000 },
    at: fields(1000),
    past: fields(1001),
    message: 'The form has more than 1000 parts.',
  },
  {
    limit: 'the default maxFieldSize, 1 MiB',
    at: [field('a', 'x'.repeat(1024 * 1024))],
    past: [field('a', 'x'.repeat(1024 * 1024 + 1))],
    message: 'The value of part "a" of POST / is larger than 1048576 bytes.',
  },
  {
    limit: 'the default maxHeaderPairs, 2000',
    at: [headed(Array.from({ length: 1999 }, () => 'X:1'))],
    past: [headed(Array.from({ length: 2000 }, () => 'X:1'))],
    message: 'A part has more than 2000 header lines.',
  },
  {
    limit: 'the default maxHeaderSize, 16 KiB',
    at: [headerBlockOf(16 * 1024)],
    past: [headerBlockOf(16 * 1024 + 1)],
    message: "A part's headers are larger than 16384 bytes.",
  },
];

/** A request for `parts` as a mock, with the server's limit of the whole when given. */
const mock = (parts: RawPart[], body = formBody(parts)) =>
  mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body });

describe('multipart: limits', function () {
  this.timeout(60_000);
  afterEach(closeAll);

  for (const { limit, options, at, past, message } of cases) {
    it(`passes a form exactly at ${limit} and answers 413 one past it, served and injected`, async () => {
      const server = await start(summarise(options));
      const served = async (parts: RawPart[]) =>
        fetchText(server.url, { method: 'POST', headers: { 'content-type': formType() }, body: formBody(parts) });
      const injected = (parts: RawPart[]) => firstValueFrom(inject(summarise(options), mock(parts)));
      expect((await served(at)).status, 'served, at the limit').to.equal(200);
      expect((await injected(at)).status, 'injected, at the limit').to.equal(200);
      const over = await served(past);
      expect([over.status, over.body], 'served, past the limit').to.deep.equal([413, message]);
      const overInjected = await injected(past);
      expect([overInjected.status, overInjected.body], 'injected, past the limit').to.deep.equal([413, message]);
      await eventually(
        () => server.stats(),
        (stats) => stats.requests === 0 && stats.connections === 0,
        'every request and connection to be released',
      );
    });
  }

  /** A handler that records how each file body ended: `complete`, or the code or status it failed with. */
  function recording(outcomes: string[], options?: MultipartOptions) {
    return (req: JetRequest) =>
      multipart(req, options).pipe(
        mergeMap((part) =>
          part.kind === 'field'
            ? of(part.name)
            : part.body.pipe(
                toArray(),
                map(() => 'complete'),
                catchError((error: { code?: string; status?: number }) => of(`${error.status ?? error.code}`)),
                tap((outcome) => outcomes.push(outcome)),
              ),
        ),
        toArray(),
        map((seen) => ({ body: seen.join(',') })),
      );
  }

  it('errors the file body being read past maxFileSize, so it never ends as if whole', async () => {
    const outcomes: string[] = [];
    const server = await start(recording(outcomes, { maxFileSize: 1024 * 1024 }));
    const body = formBody([
      file('ok', 'a.bin', Buffer.alloc(1024)),
      file('big', 'b.bin', Buffer.alloc(20 * 1024 * 1024)),
    ]);
    const res = await fetchText(server.url, { method: 'POST', headers: { 'content-type': formType() }, body });
    expect([res.status, res.body]).to.deep.equal([
      413,
      'The file in part "big" of POST / is larger than 1048576 bytes.',
    ]);
    expect(outcomes).to.deep.equal(['complete', '413']);
  });

  it("answers 413 past the server's maxRequestBodySize, which bounds the whole body, and errors the file being read", async () => {
    const outcomes: string[] = [];
    const parts = [field('a', 'b'), file('f', 'f.bin', Buffer.alloc(1024 * 1024))];
    const size = formBody(parts).length;
    const server = await start(recording(outcomes), { maxRequestBodySize: size });
    const ok = await fetchText(server.url, {
      method: 'POST',
      headers: { 'content-type': formType() },
      body: formBody(parts),
    });
    expect([ok.status, ok.body]).to.deep.equal([200, 'a,complete']);
    // Sent chunked, so that the limit trips while the file is read rather than on the content-length.
    // The file is larger than a socket read, so its body has started when the limit trips.
    const tooLarge = await fetchText(server.url, {
      method: 'POST',
      headers: { 'content-type': formType(), 'transfer-encoding': 'chunked' },
      body: formBody([field('a', 'b'), file('f', 'f.bin', Buffer.alloc(1024 * 1024 + 1))]),
    });
    expect([tooLarge.status, tooLarge.body]).to.deep.equal([413, `The request body is larger than ${size} bytes.`]);
    expect(outcomes).to.deep.equal(['complete', '413']);
  });

  it('throws at call time for a bad limit, naming it', () => {
    const req = mock([]);
    expect(() => multipart(req, { maxFiles: -1 })).to.throw('Invalid option "maxFiles"');
    expect(() => multipart(req, { maxFileSize: 0 })).to.throw('Invalid option "maxFileSize"');
    expect(() => multipart(req, { maxSize: 1 } as MultipartOptions)).to.throw('Invalid option "maxSize"');
  });
});
