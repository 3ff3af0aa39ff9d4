import { expect } from 'chai';
import { firstValueFrom } from 'rxjs';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, eventually, fetchText, start } from '../helpers.js';
import { boundary, field, file, formBody, formType, summarise, type PartSummary } from './multipart-helpers.js';

/** A body and what it is answered with: a status and message, or (200) the parts read. */
interface Shape {
  what: string;
  headers?: Record<string, string>;
  body: string | Buffer;
  status: number;
  answer: string | PartSummary[];
}

const b = boundary;
const open = `--${b}\r\n`;
const close = `--${b}--\r\n`;
const disposition = 'Content-Disposition: form-data; name="a"';
const long = 'x'.repeat(71);
const seventy = 'y'.repeat(70);

const refused = (
  what: string,
  body: string | Buffer,
  status: number,
  answer: string,
  headers?: Record<string, string>,
): Shape => ({
  what,
  body,
  status,
  answer,
  ...(headers === undefined ? {} : { headers }),
});

const shapes: Shape[] = [
  refused(
    'another content type',
    'a=1',
    415,
    'Unsupported content type: application/x-www-form-urlencoded; send multipart/form-data.',
    {
      'content-type': 'application/x-www-form-urlencoded',
    },
  ),
  refused('no content type', 'x', 415, 'Unsupported content type: none given; send multipart/form-data.', {
    'content-type': '',
  }),
  refused('a content-encoding', formBody([field('a', '1')]), 415, 'Unsupported content encoding: gzip.', {
    'content-type': formType(),
    'content-encoding': 'gzip',
  }),
  refused('no boundary', close, 400, 'The multipart/form-data content type has no boundary.', {
    'content-type': 'multipart/form-data',
  }),
  refused('an empty boundary', close, 400, 'The multipart/form-data content type has no boundary.', {
    'content-type': 'multipart/form-data; boundary=""',
  }),
  refused(
    'a boundary longer than 70 characters',
    `--${long}--\r\n`,
    400,
    'The multipart boundary is longer than 70 characters.',
    {
      'content-type': `multipart/form-data; boundary=${long}`,
    },
  ),
  refused(
    'a boundary with characters RFC 2046 does not allow',
    '--a{b}--\r\n',
    400,
    'The multipart boundary has characters RFC 2046 does not allow.',
    {
      'content-type': 'multipart/form-data; boundary=a{b}',
    },
  ),
  refused('a malformed content type', close, 400, 'The multipart/form-data content type is malformed.', {
    'content-type': `multipart/form-data; boundary="${b}`,
  }),
  refused(
    'a boundary that never appears',
    'just some bytes\r\n',
    400,
    'The multipart boundary never appears in the body.',
  ),
  refused(
    'LF line endings (so no part is ever closed)',
    formBody([field('a', '1')])
      .toString()
      .replaceAll('\r\n', '\n'),
    400,
    'The multipart body ends before its closing boundary.',
  ),
  refused(
    'a body cut short before its closing delimiter',
    formBody([field('a', '1')], { close: false }),
    400,
    'The multipart body ends before its closing boundary.',
  ),
  refused(
    'a body cut short inside a file',
    formBody([file('f', 'f.bin', 'abc')]).subarray(0, 120),
    400,
    'The multipart body ends before its closing boundary.',
  ),
  refused(
    'a part without Content-Disposition',
    `${open}Content-Type: text/plain\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has no Content-Disposition.',
  ),
  refused(
    'a part with no headers at all',
    `${open}\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has no headers.',
  ),
  refused(
    'thousands of empty parts',
    `${open}\r\n\r\n`.repeat(5000) + close,
    400,
    'A part of the multipart body has no headers.',
  ),
  refused(
    'thousands of empty fields',
    `${open}${disposition}\r\n\r\n\r\n`.repeat(5000) + close,
    413,
    'The form has more than 1000 parts.',
  ),
  refused(
    'a Content-Disposition other than form-data',
    `${open}Content-Disposition: attachment; name="a"\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a Content-Disposition other than form-data with a name.',
  ),
  refused(
    'a Content-Disposition without a name',
    `${open}Content-Disposition: form-data; filename="a.txt"\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a Content-Disposition other than form-data with a name.',
  ),
  refused(
    'a Content-Disposition with an unclosed quote',
    `${open}Content-Disposition: form-data; name="a\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a Content-Disposition other than form-data with a name.',
  ),
  refused(
    'a name given twice',
    `${open}Content-Disposition: form-data; name="a"; name="b"\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a Content-Disposition other than form-data with a name.',
  ),
  refused(
    'two Content-Disposition headers',
    `${open}${disposition}\r\nContent-Disposition: form-data; name="b"\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has two Content-Disposition headers.',
  ),
  refused(
    'a header line without a colon',
    `${open}${disposition}\r\nnot a header\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a bad header line.',
  ),
  refused(
    'a folded header line',
    `${open}${disposition}\r\nX-A: one\r\n two\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a bad header line.',
  ),
  refused(
    'a bare LF inside a header line',
    `${open}${disposition}\r\nX-A: one\ntwo\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a bad header line.',
  ),
  refused(
    'a NUL in a header value',
    `${open}${disposition}\r\nX-A: a\0b\r\n\r\nv\r\n${close}`,
    400,
    'A part of the multipart body has a bad header line.',
  ),
  refused(
    'headers that never end before the next delimiter',
    `${open}${disposition}\r\n--${b}--\r\n`,
    400,
    'A part of the multipart body has no blank line after its headers.',
  ),
  refused(
    'a delimiter line with more than the boundary',
    `--${b}XYZ\r\n${disposition}\r\n\r\nv\r\n${close}`,
    400,
    'A multipart delimiter line has more than the boundary.',
  ),
  refused(
    'a nested multipart part',
    `${open}${disposition}\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\n\r\nx\r\n--inner--\r\n\r\n${close}`,
    400,
    'A part of the multipart body is itself multipart, which multipart/form-data does not allow.',
  ),
  refused(
    'a line inside a value that starts with the delimiter',
    `${open}${disposition}\r\n\r\nline\r\n--${b}x is not a delimiter\r\n${close}`,
    400,
    // The parser reads it as a delimiter whose part never finishes its headers.
    'A part of the multipart body has no blank line after its headers.',
  ),
  refused(
    'huge part headers (100 KiB)',
    `${open}${disposition}\r\nX-Big: ${'h'.repeat(100 * 1024)}\r\n\r\nv\r\n${close}`,
    413,
    "A part's headers are larger than 16384 bytes.",
  ),
  refused(
    'huge transport padding after a delimiter',
    `--${b}${' '.repeat(20 * 1024)}\r\n${disposition}\r\n\r\nv\r\n${close}`,
    413,
    "A part's headers are larger than 16384 bytes.",
  ),
  {
    what: 'a preamble, transport padding, a boundary-like line inside a value, and an epilogue',
    body: `preamble text\r\n--${b}  \r\n${disposition}\r\n\r\nline\r\n-- ${b}\r\nx--${b}\r\n--${b}\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n\r\nx--${b}--\r\n${close}epilogue\r\n`,
    status: 200,
    answer: [
      { kind: 'field', name: 'a', value: `line\r\n-- ${b}\r\nx--${b}` },
      {
        kind: 'file',
        name: 'f',
        filename: 'f.txt',
        contentType: 'text/plain',
        bytes: `x--${b}--`.length,
        sha256: '',
      },
    ],
  },
  {
    what: 'a quoted boundary with spaces',
    headers: { 'content-type': 'multipart/form-data; boundary="with spaces inside"' },
    body: formBody([field('a', '1')], { boundary: 'with spaces inside' }),
    status: 200,
    answer: [{ kind: 'field', name: 'a', value: '1' }],
  },
  {
    what: 'a boundary of exactly 70 characters',
    headers: { 'content-type': `multipart/form-data; boundary=${seventy}` },
    body: formBody([field('a', '1')], { boundary: seventy }),
    status: 200,
    answer: [{ kind: 'field', name: 'a', value: '1' }],
  },
  { what: 'an empty form', body: close, status: 200, answer: [] },
];

/** The answer as the spec compares it: text, or the parts with file hashes left out. */
function answerOf(status: number, body: string): string | PartSummary[] {
  if (status !== 200) return body;
  return (JSON.parse(body) as PartSummary[]).map((part) => (part.kind === 'file' ? { ...part, sha256: '' } : part));
}

describe('multipart: malformed bodies and boundary tricks', function () {
  this.timeout(60_000);
  afterEach(closeAll);

  it('answers every shape with its status, served and injected alike, and leaks nothing', async () => {
    const server = await start(summarise());
    for (const shape of shapes) {
      const headers = shape.headers ?? { 'content-type': formType() };
      const served = await fetchText(server.url, { method: 'POST', headers, body: shape.body });
      expect([served.status, answerOf(served.status, served.body)], `served: ${shape.what}`).to.deep.equal([
        shape.status,
        shape.answer,
      ]);
      const injected = await firstValueFrom(
        inject(summarise(), mockRequest({ method: 'POST', headers, body: shape.body })),
      );
      expect([injected.status, answerOf(injected.status, injected.body)], `injected: ${shape.what}`).to.deep.equal([
        shape.status,
        shape.answer,
      ]);
    }
    const stats = await eventually(
      () => server.stats(),
      (now) => now.requests === 0 && now.connections === 0,
      'every request and connection to be released',
    );
    expect(stats).to.deep.equal({ connections: 0, requests: 0, websockets: 0 });
    expect(server.errors, 'errors reported').to.deep.equal([]);
  });
});
