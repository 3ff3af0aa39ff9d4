// Upload and download progress: the public Progress types and the counter that reports them.
import type { Observer } from 'rxjs';

/** How far a request's body has gone up, or its response's body come down. */
export interface Progress {
  /** `'upload'` for the request body, `'download'` for the response body. */
  direction: 'upload' | 'download';
  /** Bytes so far. */
  bytes: number;
  /** All the bytes there will be, when known (a content-length). */
  total: number | undefined;
}

/** Where progress goes: an Observer (a Subject, say) or a function. */
export type ProgressTarget = Partial<Observer<Progress>> | ((progress: Progress) => void);

/** Counts bytes in one direction and reports each step. */
export class ProgressCounter {
  private bytes = 0;

  constructor(
    private readonly target: ProgressTarget,
    private readonly direction: Progress['direction'],
    private readonly total: number | undefined,
  ) {}

  add(size: number): void {
    this.bytes += size;
    const progress: Progress = { direction: this.direction, bytes: this.bytes, total: this.total };
    if (typeof this.target === 'function') this.target(progress);
    else this.target.next?.(progress);
  }
}

/**
 * An upload that reports its progress: a whole body goes in 64 KiB slices (its content-length
 * stays known), a streamed one chunk by chunk as undici pulls it.
 */
export async function* countedUpload(
  body: string | Uint8Array | AsyncIterable<string | Uint8Array>,
  counter: ProgressCounter,
): AsyncGenerator<Uint8Array> {
  if (typeof body === 'string' || body instanceof Uint8Array) {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    for (let at = 0; at < bytes.byteLength; at += 64 * 1024) {
      const slice = bytes.subarray(at, at + 64 * 1024);
      yield slice;
      counter.add(slice.byteLength);
    }
    return;
  }
  for await (const chunk of body) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    yield bytes;
    counter.add(bytes.byteLength);
  }
}
