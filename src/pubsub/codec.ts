// Values as bytes on a bus: a tag byte (string, bytes or JSON), then the payload.
import { Buffer } from 'node:buffer';
import { UnencodableMessageError } from '../internal/errors.js';

const STRING = 0x73; // 's'
const BYTES = 0x62; // 'b'
const JSON_VALUE = 0x6a; // 'j'

/**
 * Encodes a value for a bus, or throws an {@link UnencodableMessageError}: strings (well-formed
 * UTF-16) and bytes as they are, anything else as strict JSON, so that what arrives equals what
 * was published on every bus (JSON itself would drop a function or turn NaN into null silently).
 */
export function encode(topic: string, value: unknown): Buffer {
  if (typeof value === 'string') {
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) {
      throw new UnencodableMessageError(topic, 'a lone surrogate');
    }
    return tagged(STRING, value);
  }
  if (value instanceof Uint8Array) {
    const frame = Buffer.allocUnsafe(value.byteLength + 1);
    frame[0] = BYTES;
    frame.set(value, 1);
    return frame;
  }
  if (value === undefined) throw new UnencodableMessageError(topic, 'undefined');
  let text: string;
  try {
    text = JSON.stringify(value, strict);
  } catch (error) {
    if (error instanceof Unencodable) throw new UnencodableMessageError(topic, error.reason);
    if (error instanceof TypeError && /circular/i.test(error.message)) {
      throw new UnencodableMessageError(topic, 'a cycle', error);
    }
    throw new UnencodableMessageError(topic, 'a value whose toJSON() threw', error);
  }
  return tagged(JSON_VALUE, text);
}

/** Decodes what {@link encode} made; throws on anything else (a message some other program put on the bus). */
export function decode(frame: Uint8Array): unknown {
  const tag = frame[0];
  if (tag === BYTES) return new Uint8Array(frame.buffer, frame.byteOffset + 1, frame.byteLength - 1);
  const text = Buffer.from(frame.buffer, frame.byteOffset + 1, frame.byteLength - 1).toString('utf8');
  if (tag === STRING) return text;
  if (tag === JSON_VALUE) return JSON.parse(text);
  throw new Error('not a message of an rxjet hub');
}

function tagged(tag: number, text: string): Buffer {
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(length + 1);
  frame[0] = tag;
  frame.write(text, 1, length, 'utf8');
  return frame;
}

/** Thrown by {@link strict} to stop JSON.stringify at the first value it would change. */
class Unencodable extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** The JSON.stringify replacer: refuses what JSON would drop or change silently. */
function strict(this: unknown, key: string, value: unknown): unknown {
  switch (typeof value) {
    case 'bigint':
      throw new Unencodable('a BigInt');
    case 'function':
      throw new Unencodable('a function');
    case 'symbol':
      throw new Unencodable('a symbol');
    case 'number':
      if (!Number.isFinite(value)) throw new Unencodable(`the number ${value}`);
      return value;
    case 'undefined':
      // A property set to undefined is left out, as absent; in an array it would become null.
      if (Array.isArray(this)) throw new Unencodable('undefined in an array');
      return value;
    case 'object': {
      // The holder's own value, before toJSON: a Buffer's toJSON hides that it is bytes.
      const raw = key === '' ? value : (this as Record<string, unknown>)[key];
      if (ArrayBuffer.isView(raw) || raw instanceof ArrayBuffer) throw new Unencodable('bytes inside an object');
      if (raw instanceof Map) throw new Unencodable('a Map');
      if (raw instanceof Set) throw new Unencodable('a Set');
      return value;
    }
    default:
      return value;
  }
}
