// Encoding a response body with a content coding: whole, as a push Observable, or as a pull source.
import { Readable, type Transform } from 'node:stream';
import { constants, createBrotliCompress, createDeflate, createGzip } from 'node:zlib';
import { Observable } from 'rxjs';
import { InvalidChunkError, ResponseStreamError } from '../internal/errors.js';
import { type Pullable } from '../internal/pull.js';
import { iterateReadable } from '../internal/readable-iterator.js';
import { subscriberOf } from '../internal/subscriber-of.js';
import { kEndsOnClose } from '../server/pipeline-config.js';
import { pullable } from '../server/pullable.js';
import type { BodyChunk } from '../server/types.js';

/** A content coding `compress` can apply. */
export type CompressEncoding = 'br' | 'gzip' | 'deflate';

/** Hands an encoder's output (all of it since the last call) back, or its failure. */
export type Encoded = (error: Error | null, output: Uint8Array) => void;

/**
 * One body's encoder: the I/O edge of compression, zlib's streams by default, given as a value
 * so that the body logic runs in virtual time in marble specs. Calls back in order.
 */
export interface Encoder {
  /** Encodes `chunk` and flushes, so that what came so far can be decoded at once. */
  write(chunk: Uint8Array, done: Encoded): void;
  /** Encodes `chunk` (if any) as the last input and ends the coding. */
  end(chunk: Uint8Array | undefined, done: Encoded): void;
  /** Stops at once; callbacks still pending get no output. */
  destroy(): void;
}

/** Makes an encoder: `flush` for streaming bodies (each write flushed), `size` of a whole body when known. */
export type Codec = (encoding: CompressEncoding, mode: { flush: boolean; size?: number }) => Encoder;

/**
 * zlib's encoders, run off the main thread (the async API, never the sync one): gzip and
 * deflate at `level`, brotli at `quality`.
 */
export function zlibCodec(level: number, quality: number): Codec {
  return (encoding, { flush, size }) => {
    if (encoding === 'br') {
      const params: Record<number, number> = { [constants.BROTLI_PARAM_QUALITY]: quality };
      if (size !== undefined) params[constants.BROTLI_PARAM_SIZE_HINT] = size;
      return new ZlibEncoder(
        createBrotliCompress({
          params,
          flush: flush ? constants.BROTLI_OPERATION_FLUSH : constants.BROTLI_OPERATION_PROCESS,
        }),
      );
    }
    const options = { level, flush: flush ? constants.Z_SYNC_FLUSH : constants.Z_NO_FLUSH };
    return new ZlibEncoder(encoding === 'gzip' ? createGzip(options) : createDeflate(options));
  };
}

/** A whole body, encoded: emits the encoded bytes once, then completes; unsubscribing stops the encoder. */
export function encodeWhole(body: string | Uint8Array, open: (size: number) => Encoder): Observable<Uint8Array> {
  return new Observable<Uint8Array>((subscriber) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const encoder = open(bytes.byteLength);
    encoder.end(bytes, (error, output) => {
      if (error !== null) {
        subscriber.error(error);
        return;
      }
      subscriber.next(output);
      subscriber.complete();
    });
    return () => encoder.destroy();
  });
}

/**
 * A push body, encoded chunk by chunk: each chunk's output is emitted (flushed) as soon as it
 * is encoded, so a stream of events reaches the client event by event. Cold; unsubscribing
 * unsubscribes the source and stops the encoder. The source's error passes on as it came.
 */
export function encodePush(source: Observable<BodyChunk>, open: () => Encoder, where: string): Observable<Uint8Array> {
  const encoded = new Observable<Uint8Array>((subscriber) => {
    const encoder = open();
    subscriber.add(() => encoder.destroy());
    const emit: Encoded = (error, output) => {
      if (error !== null) subscriber.error(error);
      else if (output.byteLength > 0) subscriber.next(output);
    };
    // Made first and held by `subscriber`, so that a synchronous source stops once it fails.
    const inner = subscriberOf<BodyChunk>({
      next: (chunk) => {
        const bytes = bytesOf(chunk);
        if (bytes === undefined) subscriber.error(new InvalidChunkError(where, chunk));
        else if (bytes.byteLength > 0) encoder.write(bytes, emit);
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () =>
        encoder.end(undefined, (error, output) => {
          emit(error, output);
          subscriber.complete();
        }),
    });
    subscriber.add(inner);
    source.subscribe(inner);
  });
  // An sse() stream ends cleanly when the server closes; so does its encoded form.
  return (source as { [kEndsOnClose]?: true })[kEndsOnClose] === true
    ? Object.assign(encoded, { [kEndsOnClose]: true as const })
    : encoded;
}

/**
 * A pull body (an async iterable, a Readable, a `pullable()`), encoded as a pull body: the
 * server pulls one encoded chunk when the socket has drained, and only then is the source
 * pulled for the next one, so a slow reader holds back the source as it did unencoded.
 * Stopping it early (the client gone) stops the encoder and returns (or destroys) the source.
 */
export function encodePull(
  source: AsyncIterable<BodyChunk> | Readable,
  open: () => Encoder,
  where: string,
): Pullable<Uint8Array> {
  return pullable<Uint8Array>(() => ({
    [Symbol.asyncIterator]: () => new EncodingIterator(source, open, where),
  }));
}

/** One chunk's bytes, or undefined for something that is not a chunk. */
function bytesOf(chunk: unknown): Uint8Array | undefined {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return chunk instanceof Uint8Array ? chunk : undefined;
}

const noBytes = new Uint8Array(0);

/** Pulls the source one chunk per encoded chunk asked for. */
class EncodingIterator implements AsyncIterator<Uint8Array> {
  private source: AsyncIterator<unknown> | undefined;
  private encoder: Encoder | undefined;
  private state: 'open' | 'ended' | 'closed' = 'open';

  constructor(
    private readonly body: AsyncIterable<BodyChunk> | Readable,
    private readonly open: () => Encoder,
    private readonly where: string,
  ) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    try {
      while (this.state === 'open') {
        this.source ??= this.iterate();
        const encoder = (this.encoder ??= this.open());
        const step = await this.source.next();
        if (this.state !== 'open') break;
        if (step.done === true) {
          this.state = 'ended';
          const tail = await encodeStep((done) => encoder.end(undefined, done));
          if (tail.byteLength > 0) return { value: tail, done: false };
          break;
        }
        const bytes = bytesOf(step.value);
        if (bytes === undefined) throw new InvalidChunkError(this.where, step.value);
        if (bytes.byteLength === 0) continue;
        const output = await encodeStep((done) => encoder.write(bytes, done));
        if (this.state === 'open' && output.byteLength > 0) return { value: output, done: false };
      }
    } catch (error) {
      await this.return();
      throw error;
    }
    return { value: undefined, done: true };
  }

  /** Stops the encoder and the source at once, even while a `next()` waits; never rejects. */
  async return(): Promise<IteratorResult<Uint8Array>> {
    if (this.state !== 'closed') {
      this.state = 'closed';
      this.encoder?.destroy();
      try {
        await this.source?.return?.();
      } catch {
        // the source failed while stopping; the body is over either way
      }
    }
    return { value: undefined, done: true };
  }

  private iterate(): AsyncIterator<unknown> {
    const { body } = this;
    return body instanceof Readable
      ? iterateReadable(body, {
          destroyOnReturn: true,
          failure: (cause) => new ResponseStreamError(this.where, cause ?? new Error('the stream closed early')),
        })
      : body[Symbol.asyncIterator]();
  }
}

/** An encoder call as a Promise of its output. */
function encodeStep(call: (done: Encoded) => void): Promise<Uint8Array> {
  return new Promise((resolve, reject) => call((error, output) => (error === null ? resolve(output) : reject(error))));
}

/**
 * A zlib stream as an {@link Encoder}: its output read as it comes (flowing, so zlib never waits
 * for a reader) and handed to the write's callback, which zlib calls once that write's output is out.
 */
class ZlibEncoder implements Encoder {
  private output: Buffer[] = [];
  private readonly pending = new Set<Encoded>();
  private ending: Encoded | undefined;

  constructor(private readonly stream: Transform) {
    stream.on('data', (chunk: Buffer) => this.output.push(chunk));
    stream.on('error', (error: Error) => this.fail(error));
    stream.on('end', () => {
      const done = this.ending;
      this.ending = undefined;
      if (done !== undefined) this.settle(done, null);
    });
  }

  write(chunk: Uint8Array, done: Encoded): void {
    this.pending.add(done);
    this.stream.write(chunk, (error) => this.settle(done, error ?? null));
  }

  end(chunk: Uint8Array | undefined, done: Encoded): void {
    this.ending = done;
    this.pending.add(done);
    if (chunk === undefined) this.stream.end();
    else this.stream.end(chunk);
  }

  destroy(): void {
    const waiting = [...this.pending];
    this.pending.clear();
    this.ending = undefined;
    this.output = [];
    this.stream.destroy();
    for (const done of waiting) done(null, noBytes);
  }

  /** Calls `done` once, with what was encoded since the last call. */
  private settle(done: Encoded, error: Error | null): void {
    if (!this.pending.delete(done)) return;
    if (error !== null) {
      done(error, noBytes);
      return;
    }
    // Output pushed while the stream was not flowing yet waits in its buffer: read() emits it as 'data'.
    while (this.stream.readableLength > 0 && this.stream.read() !== null);
    const output = this.output.length === 1 ? this.output[0]! : Buffer.concat(this.output);
    this.output = [];
    done(null, output);
  }

  private fail(error: Error): void {
    const waiting = [...this.pending];
    this.pending.clear();
    this.ending = undefined;
    for (const done of waiting) done(error, noBytes);
  }
}
