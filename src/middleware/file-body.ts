// A file's bytes as a response body: opened when first pulled, read one chunk per pull, closed when done or dropped.
import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';
import { pullable } from '../server/pullable.js';
import type { Pullable } from '../internal/pull.js';

/**
 * The bytes `start` to `end` (both included) of `file`, as a pullable Observable: the server
 * pulls a chunk each time the socket drains, so a slow client never makes it read ahead, and a
 * middleware may still pipe it as an Observable. Cold: nothing is opened before the first pull,
 * so a body that is never sent (a HEAD, a response a middleware replaced) holds no file handle;
 * the handle is closed when the last byte is read, on an error, and when the reader stops early
 * (the client went away).
 *
 * `seen` is the file as its headers describe it: if it changed before it was opened (a deploy
 * replacing it), the body fails before its first byte rather than send other bytes than the
 * headers promised.
 */
export function fileBody(file: string, start: number, end: number, seen: Stats): Pullable<Uint8Array> {
  return pullable(() => readChunks(file, start, end, seen));
}

/** As much as node's own file streams read at a time. */
const chunkSize = 64 * 1024;

/** Refuses a symbolic link swapped in after the path was resolved. */
const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0);

async function* readChunks(file: string, start: number, end: number, seen: Stats): AsyncGenerator<Uint8Array> {
  const handle = await open(file, flags);
  try {
    const now = await handle.stat();
    if (now.size !== seen.size || now.mtimeMs !== seen.mtimeMs || now.ino !== seen.ino) {
      throw new Error(`${file} changed between its headers and its body`);
    }
    let position = start;
    while (position <= end) {
      const length = Math.min(chunkSize, end - position + 1);
      // A fresh buffer per chunk: the socket may still hold the previous one.
      const buffer = Buffer.allocUnsafeSlow(length);
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      if (bytesRead === 0) throw new Error(`${file} got shorter while it was being sent`);
      position += bytesRead;
      yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
