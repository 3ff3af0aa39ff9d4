import { pipeline, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate, type Gunzip } from 'node:zlib';

/** The most content codings undone for one response (undici's limit, after CVE-2026-22036). */
export const maxEncodings = 5;

/** What `accept-encoding` offers when decompression is on. */
export const acceptEncoding = 'gzip, deflate, br';

const decoders: Record<
  string,
  () => Gunzip | ReturnType<typeof createInflate> | ReturnType<typeof createBrotliDecompress>
> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The body with its content codings undone, last applied first, streaming and with
 * backpressure. Unknown codings leave the body as sent; more than {@link maxEncodings} is an
 * error. Limits on body size (`maxResponseSize`) then count decoded bytes.
 */
export function decompressed(body: Readable, contentEncoding: string | string[] | undefined): Readable {
  if (contentEncoding === undefined) return body;
  const codings = String(contentEncoding)
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return body;
  if (codings.length > maxEncodings) {
    body.destroy(new Error(`the response has ${codings.length} content codings; at most ${maxEncodings} are undone`));
    return body;
  }
  if (!codings.every((c) => c in decoders)) return body;
  const stages = codings.reverse().map((c) => decoders[c]!());
  return (
    pipeline as unknown as (
      ...streams: [Readable, ...NodeJS.ReadWriteStream[], (error: Error | null) => void]
    ) => Readable
  )(
    body,
    ...stages,
    () => undefined, // errors reach the last stage, which the body's reader listens to
  );
}
