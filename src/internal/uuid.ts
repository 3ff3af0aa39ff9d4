// Random (version 4) UUIDs as flat strings, for ids that are written to the wire.
import { randomFillSync } from 'node:crypto';

/**
 * Entropy for 256 UUIDs, refilled from the operating system's CSPRNG when used up: the same
 * source and the same kind of cache as `crypto.randomUUID()` (which keeps 128).
 */
const pool = Buffer.allocUnsafe(16 * 256);
let taken = pool.length;
/** The UUID being written, as ASCII; its dashes never change. */
const text = Buffer.alloc(36, 45 /* - */);
const hexDigits = Buffer.from('0123456789abcdef', 'latin1');
/** Where each of the 16 bytes' two hex digits go in `text`. */
const offsets = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

/**
 * A random UUID (RFC 9562 version 4), such as `crypto.randomUUID()` gives, but as one flat
 * string. `crypto.randomUUID()` joins 21 pieces into a rope that V8 must flatten the first
 * time the string is read as a whole (a header check, a write to a socket): about 150 ns on
 * Node 20 and 24, more than making the UUID. This one is written as bytes and read once.
 */
export function randomUuid(): string {
  if (taken === pool.length) {
    randomFillSync(pool);
    taken = 0;
  }
  const at = taken;
  taken += 16;
  pool[at + 6] = (pool[at + 6]! & 0x0f) | 0x40; // version 4
  pool[at + 8] = (pool[at + 8]! & 0x3f) | 0x80; // variant 10
  for (let i = 0; i < 16; i++) {
    const byte = pool[at + i]!;
    const offset = offsets[i]!;
    text[offset] = hexDigits[byte >> 4]!;
    text[offset + 1] = hexDigits[byte & 15]!;
  }
  return text.toString('latin1', 0, 36);
}
