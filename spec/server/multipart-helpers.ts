// Shared by the multipart specs: bodies written byte by byte, and a handler that reports what it read.
import { createHash } from 'node:crypto';
import { defer, map, mergeMap, type Observable, of, reduce, toArray } from 'rxjs';
import { multipart, type JetRequest, type JetResponse, type MultipartOptions } from '../../src/server/index.js';

export const boundary = 'rxjet-spec-boundary';

/** A part as it goes on the wire: its header lines and its bytes. */
export interface RawPart {
  headers: string[];
  body: string | Buffer;
}

/** A text field. */
export function field(name: string, value: string): RawPart {
  return { headers: [`Content-Disposition: form-data; name="${name}"`], body: value };
}

/** A file part. */
export function file(
  name: string,
  filename: string,
  body: string | Buffer,
  type = 'application/octet-stream',
): RawPart {
  return {
    headers: [`Content-Disposition: form-data; name="${name}"; filename="${filename}"`, `Content-Type: ${type}`],
    body,
  };
}

/** A multipart/form-data body: each part after a delimiter line, then the closing delimiter. */
export function formBody(parts: RawPart[], options: { boundary?: string; close?: boolean } = {}): Buffer {
  const b = options.boundary ?? boundary;
  const chunks: Buffer[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${b}\r\n${part.headers.map((h) => `${h}\r\n`).join('')}\r\n`, 'latin1'));
    chunks.push(Buffer.isBuffer(part.body) ? part.body : Buffer.from(part.body));
    chunks.push(Buffer.from('\r\n'));
  }
  if (options.close ?? true) chunks.push(Buffer.from(`--${b}--\r\n`));
  return Buffer.concat(chunks);
}

/** The content-type naming `boundary`. */
export const formType = (b = boundary): string => `multipart/form-data; boundary=${b}`;

/** What the summary handler reports of a part. */
export type PartSummary =
  | { kind: 'field'; name: string; value: string }
  | { kind: 'file'; name: string; filename: string; contentType: string; bytes: number; sha256: string };

/** The size and SHA-256 of a body, read by subscription. */
export function digest(body: Observable<Uint8Array>): Observable<{ bytes: number; sha256: string }> {
  return defer(() => {
    const hash = createHash('sha256');
    return body.pipe(
      reduce((bytes, chunk) => {
        hash.update(chunk);
        return bytes + chunk.byteLength;
      }, 0),
      map((bytes) => ({ bytes, sha256: hash.digest('hex') })),
    );
  });
}

/** A handler that answers with a JSON summary of every part it read. */
export function summarise(options?: MultipartOptions) {
  return (req: JetRequest): Observable<JetResponse> =>
    multipart(req, options).pipe(
      mergeMap((part): Observable<PartSummary> =>
        part.kind === 'field'
          ? of({ kind: 'field', name: part.name, value: part.value })
          : digest(part.body).pipe(
              map(({ bytes, sha256 }) => ({
                kind: 'file',
                name: part.name,
                filename: part.filename,
                contentType: part.contentType,
                bytes,
                sha256,
              })),
            ),
      ),
      toArray(),
      map((parts) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(parts) })),
    );
}

/** The SHA-256 of some bytes, as the summary reports it. */
export const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
