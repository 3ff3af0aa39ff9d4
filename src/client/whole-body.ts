// The whole-body reader: a response body gathered up to a size limit, then decoded as text, JSON or bytes.
import { Buffer } from 'node:buffer';
import { TextDecoder } from 'node:util';
import { Observable, type OperatorFunction, Subscription } from 'rxjs';
import { DecodeError, ResponseTooLargeError } from '../internal/errors.js';
import { hasNoContent } from './chunk-source.js';
import type { BodyAs, ClientResponse } from './types.js';

/**
 * A body read whole, up to `limit` bytes (`as: 'text' | 'json' | 'bytes'`), then decoded.
 * `add` refuses a chunk past the limit; `decode` throws a `DecodeError` for bad text or JSON.
 */
export class WholeBody {
  private readonly chunks: Uint8Array[] = [];
  private size = 0;

  constructor(
    private readonly as: Exclude<BodyAs, 'stream'>,
    private readonly limit: number,
    private readonly method: string,
    private readonly url: string,
  ) {}

  /** The error to raise at once when the declared length is already over the limit. */
  declared(length: string | string[] | undefined): ResponseTooLargeError | undefined {
    const declared = Number(length);
    return Number.isFinite(declared) && declared > this.limit ? this.tooLarge() : undefined;
  }

  /** Keeps a chunk; the error to raise if the body has grown past the limit. */
  add(chunk: Uint8Array): ResponseTooLargeError | undefined {
    this.size += chunk.byteLength;
    if (this.size > this.limit) return this.tooLarge();
    this.chunks.push(chunk);
    return undefined;
  }

  /** The body as asked for. */
  decode(contentType: string | string[] | undefined): unknown {
    const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    if (this.as === 'bytes') return bytes;
    const charset = charsetOf(contentType);
    let text: string;
    if (charset === 'utf-8' && this.as === 'text')
      text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString();
    else {
      try {
        text = new TextDecoder(charset, { fatal: this.as === 'json' }).decode(bytes);
      } catch (error) {
        throw new DecodeError(this.method, this.url, `${charset} text`, error);
      }
    }
    if (this.as === 'text') return text;
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (error) {
      throw new DecodeError(this.method, this.url, 'JSON', error);
    }
  }

  private tooLarge(): ResponseTooLargeError {
    return new ResponseTooLargeError(this.method, this.url, this.limit);
  }
}

function charsetOf(contentType: string | string[] | undefined): string {
  if (contentType === undefined) return 'utf-8';
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(contentType))?.[1]?.toLowerCase();
  return charset === undefined || charset === 'utf8' ? 'utf-8' : charset;
}

/** Reads each streamed response's body whole and decodes it (used after retries have picked the response). */
export function readWhole(
  as: Exclude<BodyAs, 'stream'>,
  limit: number,
  method: string,
  url: string,
): OperatorFunction<ClientResponse, ClientResponse<unknown>> {
  return (source: Observable<ClientResponse>) =>
    new Observable<ClientResponse<unknown>>((subscriber) =>
      source.subscribe({
        next: (response) => {
          const whole = new WholeBody(as, limit, method, url);
          const early = hasNoContent(method, response.status)
            ? undefined
            : whole.declared(response.headers['content-length']);
          if (early !== undefined) {
            response.body.subscribe().unsubscribe(); // claims the body and aborts it
            subscriber.error(early);
            return;
          }
          const reading = new Subscription();
          subscriber.add(reading);
          reading.add(
            response.body.subscribe({
              next: (chunk) => {
                if (reading.closed) return;
                const tooLarge = whole.add(chunk);
                if (tooLarge === undefined) return;
                reading.unsubscribe();
                subscriber.error(tooLarge);
              },
              error: (error: unknown) => subscriber.error(error),
              complete: () => {
                let body: unknown;
                try {
                  body = whole.decode(response.headers['content-type']);
                } catch (error) {
                  subscriber.error(error);
                  return;
                }
                subscriber.next({ ...response, body });
                subscriber.complete();
              },
            }),
          );
        },
        error: (error: unknown) => subscriber.error(error),
      }),
    );
}
