// The `deflate` decoder: zlib-wrapped or raw DEFLATE, as servers really send it.
import { Transform, type TransformCallback } from 'node:stream';
import { createInflate, createInflateRaw, type Inflate, type InflateRaw } from 'node:zlib';

/**
 * `Content-Encoding: deflate` as servers really send it. RFC 9110 means zlib-wrapped DEFLATE, but
 * some servers send raw DEFLATE, which fetch and browsers inflate too. The first two bytes decide:
 * a zlib header is inflated as zlib, anything else as raw DEFLATE. An empty body stays empty.
 * Backpressure holds through it: the inflater is paused while this stream's reader is full, and
 * the next chunk is taken only once the inflater has taken the last one.
 */
export class DeflateDecoder extends Transform {
  private inflater: Inflate | InflateRaw | undefined;
  /** A first chunk of a single byte, kept until the second byte tells the form. */
  private held: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let bytes = chunk;
    if (this.inflater === undefined) {
      if (this.held !== undefined) bytes = Buffer.concat([this.held, chunk]);
      if (bytes.length < 2) {
        this.held = bytes;
        callback();
        return;
      }
      this.held = undefined;
      this.start(zlibHeader(bytes[0]!, bytes[1]!));
    }
    this.inflater!.write(bytes, () => callback());
  }

  override _flush(callback: TransformCallback): void {
    if (this.inflater === undefined) {
      if (this.held === undefined) {
        callback(); // no body at all
        return;
      }
      this.start(false); // a lone byte: raw DEFLATE, which then fails as truncated
      this.inflater!.write(this.held);
    }
    this.inflater!.once('end', () => callback());
    this.inflater!.end();
  }

  override _read(size: number): void {
    super._read(size);
    this.inflater?.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inflater?.destroy();
    callback(error);
  }

  private start(zlib: boolean): void {
    const inflater = zlib ? createInflate() : createInflateRaw();
    this.inflater = inflater;
    inflater.on('data', (data: Buffer) => {
      if (!this.push(data)) inflater.pause();
    });
    inflater.on('error', (error) => this.destroy(error));
  }
}

/** True when two bytes open a zlib stream (RFC 1950): method 8, a window of at most 32 KiB, a valid check. */
function zlibHeader(first: number, second: number): boolean {
  return (first & 0x0f) === 8 && first >> 4 <= 7 && ((first << 8) | second) % 31 === 0;
}
