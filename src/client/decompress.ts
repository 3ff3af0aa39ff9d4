// Response decompression: a chunk source wrapped in the decoders its Content-Encoding names.
import { createBrotliDecompress, createGunzip } from 'node:zlib';
import type { Transform } from 'node:stream';
import { DeflateDecoder } from './deflate-decoder.js';
import type { ChunkSink, ChunkSource } from './chunk-source.js';

/**
 * The body with its content codings undone, last applied first, streaming and with
 * backpressure. No coding, or one this client does not know, leaves the body as sent; more than
 * {@link maxEncodings} is an error; a body of no bytes stays empty. Limits on body size
 * (`maxResponseSize`) then count decoded bytes.
 */
export function decompressed(body: ChunkSource, contentEncoding: string | string[] | undefined): ChunkSource {
  if (contentEncoding === undefined) return body;
  const codings = String(contentEncoding)
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return body;
  if (codings.length > maxEncodings) {
    return new Refused(
      body,
      new Error(`the response has ${codings.length} content codings; at most ${maxEncodings} are undone`),
    );
  }
  if (!codings.every((c) => decoders.has(c))) return body;
  return new Decoded(
    body,
    codings.reverse().map((c) => decoders.get(c)!()),
  );
}

/** The most content codings undone for one response (undici's limit, after CVE-2026-22036). */
export const maxEncodings = 5;

/** What `accept-encoding` offers when decompression is on. */
export const acceptEncoding = 'gzip, deflate, br';

/** The codings undone, by name: a Map, so a coding named like an Object member (`constructor`) is just unknown. */
const decoders = new Map<string, () => Transform>([
  ['gzip', createGunzip],
  ['x-gzip', createGunzip],
  ['deflate', () => new DeflateDecoder()],
  ['br', createBrotliDecompress],
]);

/** A body that is not read at all: the connection is closed and its reader hears why. */
class Refused implements ChunkSource {
  constructor(
    private readonly body: ChunkSource,
    private readonly reason: Error,
  ) {}
  claim(sink: ChunkSink): void {
    this.body.abort(this.reason);
    sink.error(this.reason);
  }
  resume(): void {
    // nothing flows
  }
  abort(): void {
    this.body.abort(this.reason);
  }
  discard(): void {
    this.body.abort(this.reason);
  }
}

/** A body run through zlib's decoders, each stage piped (with backpressure) into the next. */
class Decoded implements ChunkSource {
  private done = false;

  constructor(
    private readonly body: ChunkSource,
    private readonly stages: Transform[],
  ) {
    for (let i = 1; i < stages.length; i++) stages[i - 1]!.pipe(stages[i]!);
  }

  claim(sink: ChunkSink): void {
    const first = this.stages[0]!;
    const last = this.stages.at(-1)!;
    const fail = (cause: unknown): void => {
      if (this.done) return;
      this.abort();
      sink.error(cause);
    };
    for (const stage of this.stages) stage.on('error', fail);
    first.on('drain', () => this.body.resume());
    last.on('data', (chunk: Uint8Array) => {
      if (!this.done && !sink.data(chunk)) last.pause();
    });
    last.on('end', () => {
      if (this.done) return;
      this.done = true;
      sink.end();
    });
    let empty = true;
    this.body.claim({
      data: (chunk) => {
        empty = false;
        return first.write(chunk);
      },
      end: () => {
        if (!empty) {
          first.end();
          return;
        }
        // No bytes at all: nothing was encoded, so there is nothing to undo (fetch agrees).
        this.done = true;
        for (const stage of this.stages) stage.destroy();
        sink.end();
      },
      error: fail,
    });
  }

  resume(): void {
    this.stages.at(-1)!.resume();
  }

  abort(reason?: Error): void {
    if (this.done) return;
    this.done = true;
    this.body.abort(reason);
    for (const stage of this.stages) stage.destroy();
  }

  discard(): void {
    this.done = true;
    for (const stage of this.stages) stage.destroy();
    this.body.discard();
  }
}
