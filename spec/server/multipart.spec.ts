import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { concatMap, delay, firstValueFrom, from, map, mergeMap, type Observable, of, toArray } from 'rxjs';
import { FormData as UndiciFormData, fetch as undiciFetch } from 'undici';
import { z } from 'zod';
import { createClient, post } from '../../src/client/index.js';
import { collectFields, multipart, type JetRequest, type MultipartFilePart } from '../../src/server/index.js';
import { inject, mockRequest } from '../../src/testing/index.js';
import { closeAll, fetchText, start, within } from '../helpers.js';
import { digest, field, file, formBody, formType, sha256, summarise } from './multipart-helpers.js';

const run = promisify(execFile);

describe('multipart', function () {
  this.timeout(60_000);
  afterEach(closeAll);

  describe('peers', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'rxjet-multipart-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('reads fields and files sent by curl -F, in the order sent', async () => {
      const server = await start(summarise());
      const notes = 'line one\nline two\n';
      const binary = randomBytes(300_000);
      await writeFile(path.join(dir, 'notes.txt'), notes);
      await writeFile(path.join(dir, 'photo.bin'), binary);
      const { stdout } = await run('curl', [
        ...['-sS', '--fail-with-body', server.url],
        ...['-F', 'title=Holiday snaps'],
        ...['-F', `notes=@${path.join(dir, 'notes.txt')};type=text/plain`],
        ...['-F', 'tag=sea'],
        ...['-F', `photo=@${path.join(dir, 'photo.bin')};filename=été.bin`],
        ...['-F', 'tag=sun'],
      ]);
      expect(JSON.parse(stdout)).to.deep.equal([
        { kind: 'field', name: 'title', value: 'Holiday snaps' },
        {
          kind: 'file',
          name: 'notes',
          filename: 'notes.txt',
          contentType: 'text/plain',
          bytes: 18,
          sha256: sha256(notes),
        },
        { kind: 'field', name: 'tag', value: 'sea' },
        {
          kind: 'file',
          name: 'photo',
          filename: 'été.bin',
          contentType: 'application/octet-stream',
          bytes: binary.length,
          sha256: sha256(binary),
        },
        { kind: 'field', name: 'tag', value: 'sun' },
      ]);
    });

    it("reads undici's FormData", async () => {
      const server = await start(summarise());
      const form = new UndiciFormData();
      const data = randomBytes(2 * 1024 * 1024);
      form.append('name', 'Ada');
      form.append('upload', new Blob([data], { type: 'image/png' }), 'a.png');
      const res = await undiciFetch(server.url, { method: 'POST', body: form });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal([
        { kind: 'field', name: 'name', value: 'Ada' },
        {
          kind: 'file',
          name: 'upload',
          filename: 'a.png',
          contentType: 'image/png',
          bytes: data.length,
          sha256: sha256(data),
        },
      ]);
    });

    it("reads rxjet's own client's multipart option", async () => {
      const server = await start(summarise());
      const client = createClient();
      const res = await firstValueFrom(
        post(client, server.url, {
          multipart: {
            note: 'hi',
            files: [
              { value: 'first', filename: 'one.txt', contentType: 'text/plain' },
              { value: Buffer.from('second'), filename: 'two.txt' },
            ],
          },
          as: 'json',
        }),
      );
      await client.close();
      expect(res.body).to.deep.equal([
        { kind: 'field', name: 'note', value: 'hi' },
        {
          kind: 'file',
          name: 'files',
          filename: 'one.txt',
          contentType: 'text/plain',
          bytes: 5,
          sha256: sha256('first'),
        },
        {
          kind: 'file',
          name: 'files',
          filename: 'two.txt',
          contentType: 'application/octet-stream',
          bytes: 6,
          sha256: sha256('second'),
        },
      ]);
    });

    it('reads a body over HTTP/2 exactly as over HTTP/1.1', async () => {
      const body = formBody([field('a', '1'), file('f', 'f.bin', randomBytes(200_000)), field('b', '2')]);
      const http1 = await start(summarise());
      const overHttp1 = await fetchText(http1.url, { method: 'POST', headers: { 'content-type': formType() }, body });
      const server = await start(summarise(), { http2: true });
      const session = http2.connect(server.url);
      try {
        const stream = session.request({ ':method': 'POST', ':path': '/', 'content-type': formType() });
        stream.end(body);
        let text = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => (text += chunk));
        const headers = await within(
          10_000,
          new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('response', resolve)),
          'the HTTP/2 response',
        );
        await within(10_000, new Promise((resolve) => stream.once('end', resolve)), 'the HTTP/2 body');
        expect(headers[':status']).to.equal(200);
        expect(text).to.equal(overHttp1.body);
      } finally {
        session.close();
      }
    });
  });

  describe('inject with mockRequest', () => {
    const parts = [field('title', 'x'), file('doc', 'doc.txt', 'document', 'text/plain'), field('n', '2')];

    it('agrees with a served request, for a whole body and for one sent a byte at a time', async () => {
      const body = formBody(parts);
      const server = await start(summarise());
      const served = await fetchText(server.url, { method: 'POST', headers: { 'content-type': formType() }, body });
      const whole = await firstValueFrom(
        inject(summarise(), mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body })),
      );
      const bytes = [...body].map((byte) => Buffer.from([byte]));
      const trickled = await firstValueFrom(
        inject(
          summarise(),
          mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body: from(bytes) }),
        ),
      );
      expect(served.status).to.equal(200);
      expect([whole.status, whole.body]).to.deep.equal([200, served.body]);
      expect([trickled.status, trickled.body]).to.deep.equal([200, served.body]);
    });

    it('lets a slow reader pull a whole body that a mock hands over at once', async () => {
      const data = randomBytes(5 * 1024 * 1024);
      const handler = async (req: JetRequest) => {
        let bytes = 0;
        for await (const part of multipart(req)) {
          if (part.kind !== 'file') continue;
          for await (const chunk of part.body) {
            bytes += chunk.byteLength;
            await new Promise((resolve) => setImmediate(resolve));
          }
        }
        return { body: String(bytes) };
      };
      const body = formBody([file('f', 'f.bin', data), field('after', 'x')]);
      const chunks = Array.from({ length: Math.ceil(body.length / 65536) }, (_, i) =>
        body.subarray(i * 65536, (i + 1) * 65536),
      );
      const res = await firstValueFrom(
        inject(handler, mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body: from(chunks) })),
      );
      expect([res.status, res.body]).to.deep.equal([200, String(data.length)]);
    });

    it("applies the server's maxRequestBodySize when injected into a server", async () => {
      const server = await start(summarise(), { maxRequestBodySize: 100 });
      const body = formBody([file('f', 'f.bin', Buffer.alloc(200))]);
      const res = await firstValueFrom(
        inject(server, mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body })),
      );
      expect([res.status, res.body]).to.deep.equal([413, 'The request body is larger than 100 bytes.']);
    });
  });

  describe('parts and their bodies', () => {
    const post = (parts: Parameters<typeof formBody>[0]) =>
      mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body: formBody(parts) });

    it('gives filenames as sent, paths and all, and filename* decoded from UTF-8', async () => {
      const req = mockRequest({
        method: 'POST',
        headers: { 'content-type': formType() },
        body: formBody([
          file('a', '../../etc/passwd', 'x'),
          file('b', 'C:\\Users\\me\\notes.txt', 'y'),
          {
            headers: [
              `Content-Disposition: form-data; name="c"; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`,
            ],
            body: 'z',
          },
        ]),
      });
      const names = await firstValueFrom(
        multipart(req).pipe(
          map((part) => (part.kind === 'file' ? part.filename : '')),
          toArray(),
        ),
      );
      expect(names).to.deep.equal(['../../etc/passwd', 'C:\\Users\\me\\notes.txt', '€ rates.txt']);
    });

    it("gives a file part's own headers with lower-case names", async () => {
      const req = post([
        {
          headers: [
            'Content-Disposition: form-data; name="f"; filename="a.txt"',
            'Content-Type: text/plain',
            'X-Checksum: abc',
          ],
          body: 'hello',
        },
      ]);
      const parts = await firstValueFrom(multipart(req).pipe(toArray()));
      expect({ ...(parts[0] as MultipartFilePart).headers }).to.deep.equal({
        'content-disposition': 'form-data; name="f"; filename="a.txt"',
        'content-type': 'text/plain',
        'x-checksum': 'abc',
      });
    });

    it('skips a file body not subscribed during the next call that delivered it, and errors a later read', async () => {
      const req = post([
        file('skipped', 's.bin', 'dropped bytes'),
        file('read', 'r.bin', 'kept bytes'),
        field('after', 'yes'),
      ]);
      const skipped: MultipartFilePart[] = [];
      const seen = await firstValueFrom(
        multipart(req).pipe(
          mergeMap((part): Observable<string> => {
            if (part.kind === 'field') return of(`${part.name}=${part.value}`);
            if (part.name === 'skipped') {
              skipped.push(part);
              return of('skipped');
            }
            return digest(part.body).pipe(map(({ bytes }) => `read ${bytes}`));
          }),
          toArray(),
        ),
      );
      expect(seen).to.deep.equal(['skipped', 'read 10', 'after=yes']);
      const error = await firstValueFrom(skipped[0]!.body).catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_PART_SKIPPED' });
      expect((error as Error).message).to.equal(
        'The body of part "skipped" of POST / was skipped: it was not subscribed during the next call that delivered its part.',
      );
    });

    it('skips a body that concatMap held back, as the docs warn', async () => {
      const req = post([file('one', '1.bin', 'a'), file('two', '2.bin', 'b')]);
      const outcomes = await firstValueFrom(
        multipart(req).pipe(
          concatMap((part) =>
            (part as MultipartFilePart).body.pipe(
              toArray(),
              delay(1),
              map(() => `${part.name} read`),
            ),
          ),
          toArray(),
        ),
      ).catch((error: unknown) => (error as { code: string }).code);
      expect(outcomes).to.equal('RXJET_ERR_PART_SKIPPED');
    });

    it('is read once, as req.body is', async () => {
      const req = post([file('f', 'f.txt', 'once')]);
      const parts = multipart(req);
      const file$ = parts.pipe(
        mergeMap((part) => (part as MultipartFilePart).body.pipe(map((chunk) => Buffer.from(chunk).toString()))),
      );
      expect(await firstValueFrom(file$)).to.equal('once');
      const again = await firstValueFrom(parts).catch((error: unknown) => error);
      expect(again).to.include({ code: 'RXJET_ERR_BODY_CONSUMED' });
    });

    it('can be read with for await: a body stays readable until the loop asks for the next part', async () => {
      const req = post([
        file('first', '1.txt', 'one'),
        file('ignored', '2.txt', 'two'),
        file('third', '3.txt', 'three'),
      ]);
      const read: string[] = [];
      let ignored: MultipartFilePart | undefined;
      for await (const part of multipart(req)) {
        if (part.kind !== 'file') continue;
        if (part.name === 'ignored') {
          ignored = part;
          continue;
        }
        await new Promise((resolve) => setImmediate(resolve)); // still readable after a turn
        let text = '';
        for await (const chunk of part.body) text += Buffer.from(chunk).toString();
        read.push(`${part.name}=${text}`);
      }
      expect(read).to.deep.equal(['first=one', 'third=three']);
      const error = await (async () => {
        for await (const chunk of ignored!.body) expect.fail(`read ${chunk.byteLength} bytes of a skipped body`);
      })().catch((e: unknown) => e);
      expect(error).to.include({ code: 'RXJET_ERR_PART_SKIPPED' });
    });
  });

  describe('fields checked with a Standard Schema (zod)', () => {
    const Signup = z.object({ name: z.string().min(2), age: z.coerce.number().int(), tags: z.array(z.string()) });
    const handler = (req: JetRequest) =>
      multipart(req).pipe(
        collectFields(Signup),
        map((fields) => ({ status: 201, body: JSON.stringify(fields) })),
      );
    const send = (parts: Parameters<typeof formBody>[0]) =>
      firstValueFrom(
        inject(
          handler,
          mockRequest({ method: 'POST', headers: { 'content-type': formType() }, body: formBody(parts) }),
        ),
      );

    it("emits the schema's output; files are dropped", async () => {
      const res = await send([
        field('name', 'Ada'),
        file('avatar', 'a.png', 'png'),
        field('age', '36'),
        field('tags', 'a'),
        field('tags', 'b'),
      ]);
      expect([res.status, JSON.parse(res.body)]).to.deep.equal([201, { name: 'Ada', age: 36, tags: ['a', 'b'] }]);
    });

    it('answers 400 naming each issue when the schema fails', async () => {
      const res = await send([field('name', 'A'), field('age', 'old'), field('tags', 'only'), field('tags', 'two')]);
      expect(res.status).to.equal(400);
      expect(res.body).to.match(/^Invalid form fields: name: .+; age: .+$/);
    });

    it('answers 400 for a __proto__ field, over a real socket too', async () => {
      const server = await start(handler);
      const res = await fetchText(server.url, {
        method: 'POST',
        headers: { 'content-type': formType() },
        body: formBody([field('__proto__', 'x')]),
      });
      expect([res.status, res.body]).to.deep.equal([400, 'The form has a forbidden field: __proto__.']);
    });

    it('throws at call time for something that is not a Standard Schema', () => {
      expect(() => collectFields({} as never)).to.throw(/Invalid option "schema"/);
    });
  });
});
