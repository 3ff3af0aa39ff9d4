/**
 * The part of node's `ServerResponse` the response pipeline uses. `serve` hands it the real
 * one; `inject` hands it an in-memory one, so both run the same pipeline code.
 */
export interface ResponseTarget {
  readonly headersSent: boolean;
  readonly writableEnded: boolean;
  readonly writableFinished: boolean;
  /** Bytes accepted but not yet handed to the peer. */
  readonly writableLength: number;
  readonly destroyed: boolean;
  shouldKeepAlive: boolean;
  writeHead(status: number, headers: string[]): unknown;
  flushHeaders(): void;
  write(chunk: string | Uint8Array): boolean;
  end(chunk?: string | Uint8Array): unknown;
  destroy(): unknown;
  on(event: 'close' | 'drain', listener: () => void): unknown;
  off(event: 'close' | 'drain', listener: () => void): unknown;
}
