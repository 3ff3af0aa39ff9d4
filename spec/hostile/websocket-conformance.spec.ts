/**
 * WebSocket conformance in the spirit of the Autobahn testsuite (sections 1-7, 9 and 10), with a
 * raw RFC 6455 frame builder and parser over `net`.
 *
 * One table of cases runs twice: against the rxjet server (an echo, `conn.in$` sent back), where
 * a raw client sends masked frames, and against the rxjet client (`connect()`, echoing too),
 * where a raw `net` server accepts the handshake by hand and sends unmasked frames. Each case
 * checks every frame the rxjet side sent back (echoes, pongs, then exactly one close frame with
 * an allowed code and a valid reason, then a FIN: never a reset, never a frame after the close),
 * that the rxjet side released the connection, and that it reported exactly the protocol errors
 * it should have. A tally per side is printed at the end: cases run, failed, wrong close code,
 * unclean closes.
 *
 * The last test floods a slow `for await` consumer from a `ws` client in another process and
 * samples the server's heap: the inbound queue stays near `inboundHighWaterMark`.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { lastValueFrom } from 'rxjs';
import { connect, type WebSocketConnection, type WebSocketOptions } from '../../src/websocket/index.js';
import { childEnv, closeAll, eventually, start, until, within } from '../helpers.js';
import { rawWebSocket } from '../websocket/raw.js';

const CONT = 0x0;
const TEXT = 0x1;
const BINARY = 0x2;
const CLOSE = 0x8;
const PING = 0x9;
const PONG = 0xa;
const KiB = 1024;
const MiB = 1024 * 1024;
/** rxjet's default `maxPayload` and `maxFragments`, server and client alike (README). */
const MAX_PAYLOAD = MiB;
const MAX_FRAGMENTS = 16_384;
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

// ---------------------------------------------------------------------------------------------
// Frames: building what we send, parsing what the rxjet side sends back.

/** A frame to send. */
interface FrameSpec {
  op: number;
  payload: Buffer;
  /** Default true. */
  fin?: boolean;
  /** The three reserved bits: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv?: number;
  /** Masked the wrong way for its direction (an unmasked client frame, a masked server frame). */
  wrongMask?: boolean;
  /** The payload length the header announces, when it is not the length of `payload`. */
  announce?: bigint;
}

/** Waits, before sending the next frames, until this many answers have arrived. */
interface Wait {
  wait: number;
}

type Step = FrameSpec | Wait;

const opNames: Record<number, string> = {
  [CONT]: 'continuation',
  [TEXT]: 'text',
  [BINARY]: 'binary',
  [CLOSE]: 'close',
  [PING]: 'ping',
  [PONG]: 'pong',
};

/** The length encoding RFC 6455 requires for a payload of `length` bytes. */
function encodingOf(length: number): string {
  return length < 126 ? '7-bit length' : length < 65_536 ? '16-bit length' : '64-bit length';
}

/** Encodes one frame, masked with a fresh random key when `mask` (frames from a client). */
function encode(spec: FrameSpec, mask: boolean): Buffer {
  const masked = spec.wrongMask === true ? !mask : mask;
  const length = spec.announce ?? BigInt(spec.payload.length);
  const first = (spec.fin === false ? 0 : 0x80) | ((spec.rsv ?? 0) << 4) | spec.op;
  const maskBit = masked ? 0x80 : 0;
  let header: Buffer;
  if (length < 126n) header = Buffer.from([first, maskBit | Number(length)]);
  else if (length < 65_536n) {
    header = Buffer.from([first, maskBit | 126, 0, 0]);
    header.writeUInt16BE(Number(length), 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = maskBit | 127;
    header.writeBigUInt64BE(length, 2);
  }
  if (!masked) return Buffer.concat([header, spec.payload]);
  const key = randomBytes(4);
  const body = Buffer.allocUnsafe(spec.payload.length);
  for (let i = 0; i < body.length; i++) body[i] = spec.payload[i]! ^ key[i & 3]!;
  return Buffer.concat([header, key, body]);
}

/** A frame as received. */
interface Frame {
  fin: boolean;
  rsv: number;
  op: number;
  masked: boolean;
  payload: Buffer;
}

/** A message (its fragments joined) or a control frame, as received. */
interface Answer {
  op: number;
  payload: Buffer;
}

/**
 * Parses one frame at the start of `data`: the frame and its size, `undefined` when more bytes
 * are needed, or a description of what is wrong with it.
 */
function parseFrame(data: Buffer): { frame: Frame; size: number } | string | undefined {
  if (data.length < 2) return undefined;
  const first = data[0]!;
  const second = data[1]!;
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let at = 2;
  if (length === 126) {
    if (data.length < 4) return undefined;
    length = data.readUInt16BE(2);
    if (length < 126) return `a 16-bit length for ${length} bytes (not minimal)`;
    at = 4;
  } else if (length === 127) {
    if (data.length < 10) return undefined;
    const long = data.readBigUInt64BE(2);
    if (long >= 2n ** 63n) return 'a 64-bit length with its high bit set';
    if (long < 65_536n) return `a 64-bit length for ${long.toString()} bytes (not minimal)`;
    if (long > BigInt(64 * MiB)) return `an implausible length of ${long.toString()} bytes`;
    length = Number(long);
    at = 10;
  }
  const key = masked ? data.subarray(at, at + 4) : undefined;
  if (masked) at += 4;
  if (data.length < at + length) return undefined;
  const payload = Buffer.from(data.subarray(at, at + length));
  if (key !== undefined) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
  return {
    frame: { fin: (first & 0x80) !== 0, rsv: (first >> 4) & 7, op: first & 0x0f, masked, payload },
    size: at + length,
  };
}

/**
 * One end of a raw WebSocket connection: parses the frames the rxjet side sends, checks that
 * each is well formed for its direction, and joins fragments into messages.
 */
class Peer {
  readonly answers: Answer[] = [];
  /** The first thing the rxjet side got wrong in its frames, if any. */
  problem: string | undefined;
  /** Bytes received that do not (yet) make a whole frame. */
  private pending: Buffer = Buffer.alloc(0);
  private message: { op: number; parts: Buffer[] } | undefined;
  /** The rxjet side ended the TCP connection with a FIN. */
  ended = false;
  /** A socket error (a reset, say), if any. */
  reset: string | undefined;
  isClosed = false;
  private readonly watchers = new Set<() => void>();

  constructor(
    readonly socket: net.Socket,
    initial: Buffer,
    /** Frames from the rxjet side must be masked (it is a client). */
    private readonly expectMasked: boolean,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.take(chunk));
    socket.on('end', () => {
      this.ended = true;
      this.notify();
    });
    socket.on('error', (error: Error & { code?: string }) => (this.reset ??= error.code ?? error.message));
    socket.on('close', (hadError: boolean) => {
      if (hadError) this.reset ??= 'closed with an error';
      this.isClosed = true;
      this.notify();
    });
    if (initial.length > 0) this.take(initial);
  }

  /** The bytes received that are not a whole frame. */
  get leftover(): number {
    return this.pending.length;
  }

  /** The code of the rxjet side's close frame (1005 without one), if it sent one. */
  get closeCode(): number | undefined {
    const close = this.answers.find((a) => a.op === CLOSE);
    return close === undefined ? undefined : close.payload.length < 2 ? 1005 : close.payload.readUInt16BE(0);
  }

  /** The rxjet side has sent a close frame. */
  get closeSent(): boolean {
    return this.answers.some((a) => a.op === CLOSE);
  }

  /** Resolves once `check()` holds, checked on every event of the socket; rejects after `ms`. */
  waitFor(check: () => boolean, what: string, ms = 5000): Promise<void> {
    if (check()) return Promise.resolve();
    let watcher: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      watcher = () => {
        if (check()) resolve();
      };
      this.watchers.add(watcher);
    });
    return within(ms, held, what).finally(() => this.watchers.delete(watcher));
  }

  private notify(): void {
    for (const watcher of [...this.watchers]) watcher();
  }

  private take(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      const parsed = parseFrame(this.pending);
      if (parsed === undefined) break;
      if (typeof parsed === 'string') {
        this.problem ??= `sent ${parsed}`;
        break; // the rest is not parseable: left over
      }
      this.pending = this.pending.subarray(parsed.size);
      this.check(parsed.frame);
      this.assemble(parsed.frame);
    }
    this.notify();
  }

  private check(frame: Frame): void {
    const name = opNames[frame.op];
    if (frame.masked !== this.expectMasked) {
      this.problem ??= `sent a ${frame.masked ? 'masked' : 'unmasked'} ${name ?? 'frame'}`;
    }
    if (frame.rsv !== 0) this.problem ??= `set reserved bits ${frame.rsv} on a ${name ?? 'frame'}`;
    if (name === undefined) this.problem ??= `sent reserved opcode ${frame.op}`;
    if (frame.op >= 8 && (!frame.fin || frame.payload.length > 125)) {
      this.problem ??= `sent a fragmented or oversized ${name ?? 'control frame'}`;
    }
  }

  private assemble(frame: Frame): void {
    if (frame.op >= 8) {
      this.answers.push({ op: frame.op, payload: frame.payload });
      return;
    }
    if (frame.op === CONT) {
      if (this.message === undefined) {
        this.problem ??= 'sent a continuation frame with nothing to continue';
        return;
      }
      this.message.parts.push(frame.payload);
    } else {
      if (this.message !== undefined) this.problem ??= 'started a message inside a fragmented one';
      this.message = { op: frame.op, parts: [frame.payload] };
    }
    if (frame.fin) {
      this.answers.push({ op: this.message.op, payload: Buffer.concat(this.message.parts) });
      this.message = undefined;
    }
  }
}

/** The socket can still be written: the rxjet side has not ended the connection (we then end it too). */
const writable = (socket: net.Socket): boolean => !socket.writableEnded && !socket.destroyed;

/**
 * Writes `data`, in pieces of `chop` bytes (each flushed before the next) when given. Stops when
 * the rxjet side has ended the connection: once it has failed it, the rest is moot.
 */
async function write(socket: net.Socket, data: Buffer, chop: number | undefined): Promise<void> {
  if (chop === undefined) {
    if (writable(socket)) socket.write(data);
    return;
  }
  for (let at = 0; at < data.length && writable(socket); at += chop) {
    await new Promise<void>((resolve) => socket.write(data.subarray(at, at + chop), () => resolve()));
  }
}

/** Sends the steps: frames go out in one write until a step waits for answers. */
async function play(peer: Peer, steps: readonly Step[], mask: boolean, chop: number | undefined): Promise<void> {
  let batch: Buffer[] = [];
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await write(peer.socket, Buffer.concat(batch), chop);
    batch = [];
  };
  for (const step of steps) {
    if ('wait' in step) {
      await flush();
      await peer.waitFor(() => peer.answers.length >= step.wait || peer.isClosed, `${step.wait} answers`);
    } else batch.push(encode(step, mask));
  }
  await flush();
}

// ---------------------------------------------------------------------------------------------
// The case table.

type SideName = 'server' | 'client';

type Lazy<T> = T | (() => T);

/** A case with its frames made. */
type Resolved = Omit<Case, 'steps' | 'expect'> & { steps: readonly Step[]; expect: readonly Answer[] };

function resolve(c: Case): Resolved {
  return {
    ...c,
    steps: typeof c.steps === 'function' ? c.steps() : c.steps,
    expect: typeof c.expect === 'function' ? c.expect() : c.expect,
  };
}

interface Case {
  /** The Autobahn section it follows. */
  id: string;
  title: string;
  /** Large payloads are made when the case runs, so the table holds no megabytes. */
  steps: Lazy<readonly Step[]>;
  /** The messages and control frames the rxjet side must send before its close frame. */
  expect: Lazy<readonly Answer[]>;
  /**
   * The codes the rxjet side may close with (1005: a close frame without a code). Without it
   * the harness closes with 1000 once `expect` has arrived, and expects 1000 back.
   */
  close?: readonly number[];
  /** The close code of a protocol error the rxjet side must report (and send). */
  fault?: number;
  /**
   * An echo case where the rxjet side may instead stop early with a close frame with this
   * code (a policy limit), after a prefix of `expect`.
   */
  orClose?: number;
  /**
   * Pongs may be coalesced (RFC 6455 5.5.3: an endpoint may answer only the latest of several
   * pings): what arrives must be `expect` in order with some left out, but never its last one.
   */
  coalesce?: boolean;
  /** Write the frames in pieces of this many bytes. */
  chop?: number;
  /** WebSocket options for the rxjet side (server or client) of this case. */
  options?: WebSocketOptions;
}

const frame = (
  op: number,
  payload: Buffer | string = '',
  options: Omit<FrameSpec, 'op' | 'payload'> = {},
): FrameSpec => ({
  op,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
  ...options,
});
const answer = (op: number, payload: Buffer | string = ''): Answer => ({
  op,
  payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
});
const wait = (count: number): Wait => ({ wait: count });
const closeBody = (code: number, reason: Buffer | string = ''): Buffer => {
  const head = Buffer.alloc(2);
  head.writeUInt16BE(code);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason) : reason]);
};

/** `length` bytes of printable ASCII, varied. */
function textOf(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = 0x20 + ((i * 7) % 95);
  return bytes;
}

/** `length` bytes with every byte value, varied. */
function bytesOf(length: number): Buffer {
  const bytes = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

/** A message in fragments of `size` bytes (at least one fragment). */
function fragments(op: number, payload: Buffer, size: number): FrameSpec[] {
  const frames: FrameSpec[] = [];
  for (let at = 0; at < payload.length || frames.length === 0; at += size) {
    frames.push(frame(frames.length === 0 ? op : CONT, payload.subarray(at, at + size), { fin: false }));
  }
  frames.at(-1)!.fin = true;
  return frames;
}

/** A message cut at the given offsets. */
function cutAt(op: number, payload: Buffer, cuts: readonly number[]): FrameSpec[] {
  const bounds = [0, ...cuts, payload.length];
  return bounds
    .slice(1)
    .map((end, i) => frame(i === 0 ? op : CONT, payload.subarray(bounds[i], end), { fin: i === bounds.length - 2 }));
}

/** A case where everything is echoed, then the harness closes with 1000. */
function echoes(
  id: string,
  title: string,
  steps: Lazy<readonly Step[]>,
  expected: Lazy<readonly Answer[]>,
  chop?: number,
): Case {
  return { id, title: title.includes(' -> ') ? title : `${title} -> echoed`, steps, expect: expected, chop };
}

/** A case the rxjet side must fail with `code`, after sending `before`. */
function fails(
  id: string,
  title: string,
  code: number,
  steps: Lazy<readonly Step[]>,
  before: Lazy<readonly Answer[]> = [],
): Case {
  return { id, title: `${title} -> ${code}`, steps, expect: before, close: [code], fault: code };
}

/** A close frame we send: the rxjet side closes too, with one of `codes`. */
function closes(
  id: string,
  title: string,
  codes: readonly number[],
  steps: Lazy<readonly Step[]>,
  before: Lazy<readonly Answer[]> = [],
): Case {
  return { id, title: `${title} -> close ${[...new Set(codes)].join(' or ')}`, steps, expect: before, close: codes };
}

const hex = (bytes: Buffer): string => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');

const cases: Case[] = [];

// 1.x framing: text and binary of every length class, each in the length encoding it needs.
const lengths = [0, 125, 126, 127, 128, 65_535, 65_536, MAX_PAYLOAD - 1];
for (const [section, op, make] of [
  ['1.1', TEXT, textOf],
  ['1.2', BINARY, bytesOf],
] as const) {
  lengths.forEach((length, i) => {
    cases.push(
      echoes(
        `${section}.${i + 1}`,
        `${opNames[op]!}, ${length} bytes (${encodingOf(length)})`,
        () => [frame(op, make(length))],
        () => [answer(op, make(length))],
      ),
    );
  });
  cases.push(
    echoes(
      `${section}.${lengths.length + 1}`,
      `${opNames[op]!}, 65536 bytes written in 997-byte pieces`,
      () => [frame(op, make(65_536))],
      () => [answer(op, make(65_536))],
      997,
    ),
  );
}
cases.push(
  echoes(
    '1.3.1',
    'three messages in one TCP write -> echoed in order',
    [frame(TEXT, 'one'), frame(BINARY, bytesOf(300)), frame(TEXT, 'three')],
    [answer(TEXT, 'one'), answer(BINARY, bytesOf(300)), answer(TEXT, 'three')],
  ),
  echoes(
    '1.3.2',
    'text, 200 bytes written a byte at a time',
    [frame(TEXT, textOf(200))],
    [answer(TEXT, textOf(200))],
    1,
  ),
  fails('1.3.3', 'a frame masked the wrong way (unmasked from a client, masked from a server)', 1002, [
    frame(TEXT, 'hello', { wrongMask: true }),
  ]),
);

// 2.x ping and pong.
const ping125 = bytesOf(125);
cases.push(
  echoes('2.1', 'ping without payload -> pong', [frame(PING)], [answer(PONG)]),
  echoes(
    '2.2',
    'ping with a text payload -> the same pong',
    [frame(PING, 'Hello, world!')],
    [answer(PONG, 'Hello, world!')],
  ),
  echoes(
    '2.3',
    'ping with a binary payload -> the same pong',
    [frame(PING, Buffer.alloc(8, 0xfe))],
    [answer(PONG, Buffer.alloc(8, 0xfe))],
  ),
  echoes('2.4', 'ping with 125 bytes -> the same pong', [frame(PING, ping125)], [answer(PONG, ping125)]),
  fails('2.5', 'ping with 126 bytes (control frame too long)', 1002, [frame(PING, bytesOf(126))]),
  echoes(
    '2.6',
    'ping with 125 bytes written a byte at a time -> the same pong',
    [frame(PING, ping125)],
    [answer(PONG, ping125)],
    1,
  ),
  echoes(
    '2.7',
    'unsolicited pong without payload, then text -> pong ignored, text echoed',
    [frame(PONG), frame(TEXT, 'after the pong')],
    [answer(TEXT, 'after the pong')],
  ),
  echoes(
    '2.8',
    'unsolicited pong with payload, then text -> pong ignored, text echoed',
    [frame(PONG, 'unsolicited'), frame(TEXT, 'after the pong')],
    [answer(TEXT, 'after the pong')],
  ),
  echoes(
    '2.9',
    'unsolicited pong, then ping -> only the ping answered',
    [frame(PONG, 'unsolicited'), frame(PING, 'solicited')],
    [answer(PONG, 'solicited')],
  ),
  echoes(
    '2.10',
    'ten pings in one write -> ten pongs in order',
    Array.from({ length: 10 }, (_, i) => frame(PING, `ping ${i}`)),
    Array.from({ length: 10 }, (_, i) => answer(PONG, `ping ${i}`)),
  ),
  echoes(
    '2.11',
    'pings with every payload length 0..125, in bursts of 25 -> the same pongs',
    Array.from({ length: 126 }, (_, n) => [frame(PING, bytesOf(n)), ...(n % 25 === 24 ? [wait(n + 1)] : [])]).flat(),
    Array.from({ length: 126 }, (_, n) => answer(PONG, bytesOf(n))),
  ),
  {
    // ws cuts off a peer with more than maxPendingAutoPongs (default 60) pings awaiting their pong:
    // a documented limit, raised here; the spec after the table trips it.
    ...echoes(
      '2.12',
      'a burst of 100 pings in one write, maxPendingAutoPongs 200 -> 100 pongs in order',
      Array.from({ length: 100 }, (_, i) => frame(PING, `ping ${i}`)),
      Array.from({ length: 100 }, (_, i) => answer(PONG, `ping ${i}`)),
    ),
    options: { maxPendingAutoPongs: 200 },
  },
);

// 3.x reserved bits, without an extension that would define them.
const rsvName = (rsv: number): string => ['RSV1', 'RSV2', 'RSV3'].filter((_, i) => (rsv & (4 >> i)) !== 0).join('+');
cases.push(
  fails('3.1', `text with ${rsvName(4)}`, 1002, [frame(TEXT, 'Hello', { rsv: 4 })]),
  fails(
    '3.2',
    `text, then text with ${rsvName(2)}, then ping: first echoed, ping unanswered`,
    1002,
    [frame(TEXT, 'Hello'), frame(TEXT, 'Hello', { rsv: 2 }), frame(PING, 'after')],
    [answer(TEXT, 'Hello')],
  ),
  fails(
    '3.3',
    `text, then text with ${rsvName(1)} after the echo, then ping`,
    1002,
    [frame(TEXT, 'Hello'), wait(1), frame(TEXT, 'Hello', { rsv: 1 }), frame(PING, 'after')],
    [answer(TEXT, 'Hello')],
  ),
  fails(
    '3.4',
    `text, then text with ${rsvName(3)}, then ping`,
    1002,
    [frame(TEXT, 'Hello'), frame(TEXT, 'Hello', { rsv: 3 }), frame(PING, 'after')],
    [answer(TEXT, 'Hello')],
  ),
  fails('3.5', `binary with ${rsvName(5)}`, 1002, [frame(BINARY, bytesOf(8), { rsv: 5 })]),
  fails('3.6', `ping with ${rsvName(6)}`, 1002, [frame(PING, 'Hello', { rsv: 6 })]),
  fails('3.7', `close with ${rsvName(7)}`, 1002, [frame(CLOSE, closeBody(1000), { rsv: 7 })]),
  fails('3.8', `continuation with ${rsvName(4)} inside a fragmented text`, 1002, [
    frame(TEXT, 'frag', { fin: false }),
    frame(CONT, 'ment', { rsv: 4 }),
  ]),
  fails('3.9', `pong with ${rsvName(2)}`, 1002, [frame(PONG, 'Hello', { rsv: 2 })]),
);

// 4.x reserved opcodes: 3-7 (data), 11-15 (control).
for (const [section, ops] of [
  ['4.1', [3, 4, 5, 6, 7]],
  ['4.2', [11, 12, 13, 14, 15]],
] as const) {
  const kind = section === '4.1' ? 'non-control' : 'control';
  ops.forEach((op, i) => {
    cases.push(
      fails(`${section}.${2 * i + 1}`, `reserved ${kind} opcode ${op}`, 1002, [frame(op, 'reserved opcode')]),
      fails(
        `${section}.${2 * i + 2}`,
        `text, then reserved ${kind} opcode ${op} (empty), then ping: text echoed, ping unanswered`,
        1002,
        [frame(TEXT, 'before'), frame(op), frame(PING, 'after')],
        [answer(TEXT, 'before')],
      ),
    );
  });
}

// 5.x fragmentation.
const fragmented = (n: number): { steps: FrameSpec[]; payload: Buffer } => {
  const payload = textOf(n * 5);
  return { steps: fragments(TEXT, payload, 5), payload };
};
cases.push(
  fails('5.1', 'ping in 2 fragments', 1002, [frame(PING, 'frag', { fin: false }), frame(CONT, 'ment')]),
  fails('5.2', 'pong in 2 fragments', 1002, [frame(PONG, 'frag', { fin: false }), frame(CONT, 'ment')]),
  echoes('5.3', 'text in 2 fragments -> echoed whole', cutAt(TEXT, Buffer.from('fragment'), [4]), [
    answer(TEXT, 'fragment'),
  ]),
  echoes(
    '5.4',
    'text in 2 fragments written a byte at a time -> echoed whole',
    cutAt(TEXT, Buffer.from('fragment'), [4]),
    [answer(TEXT, 'fragment')],
    1,
  ),
  echoes('5.5', 'binary in 3 fragments -> echoed whole', cutAt(BINARY, bytesOf(300), [100, 200]), [
    answer(BINARY, bytesOf(300)),
  ]),
  echoes(
    '5.6',
    'text in 2 fragments, a ping between -> pong before the last fragment is sent, then echoed whole',
    [frame(TEXT, 'frag', { fin: false }), frame(PING, 'between'), wait(1), frame(CONT, 'ment')],
    [answer(PONG, 'between'), answer(TEXT, 'fragment')],
  ),
  echoes(
    '5.7',
    'text in 5 fragments, a ping after each of the first 4 -> each pong before the next fragment, then echoed whole',
    [
      frame(TEXT, 'f1-', { fin: false }),
      frame(PING, 'p1'),
      wait(1),
      frame(CONT, 'f2-', { fin: false }),
      frame(PING, 'p2'),
      wait(2),
      frame(CONT, 'f3-', { fin: false }),
      frame(PING, 'p3'),
      wait(3),
      frame(CONT, 'f4-', { fin: false }),
      frame(PING, 'p4'),
      wait(4),
      frame(CONT, 'f5'),
    ],
    [answer(PONG, 'p1'), answer(PONG, 'p2'), answer(PONG, 'p3'), answer(PONG, 'p4'), answer(TEXT, 'f1-f2-f3-f4-f5')],
  ),
  echoes(
    '5.8',
    'text in 2 fragments with a ping between, written a byte at a time -> pong, echoed whole',
    [frame(TEXT, 'frag', { fin: false }), frame(PING, 'between'), frame(CONT, 'ment')],
    [answer(PONG, 'between'), answer(TEXT, 'fragment')],
    1,
  ),
  fails('5.9', 'continuation (FIN set) without a start', 1002, [frame(CONT, 'nothing to continue')]),
  {
    ...fails('5.10', 'continuation (FIN set) without a start, a byte at a time', 1002, [
      frame(CONT, 'nothing to continue'),
    ]),
    chop: 1,
  },
  fails('5.11', 'continuation (FIN clear) without a start', 1002, [frame(CONT, 'nothing', { fin: false })]),
  fails(
    '5.12',
    'text in 2 fragments, then a continuation after its final fragment',
    1002,
    [...cutAt(TEXT, Buffer.from('fragment'), [4]), frame(CONT, 'more')],
    [answer(TEXT, 'fragment')],
  ),
  fails('5.13', 'a new text frame while a fragmented text is open', 1002, [
    frame(TEXT, 'open', { fin: false }),
    frame(TEXT, 'new'),
  ]),
  fails('5.14', 'a new binary frame while a fragmented text is open', 1002, [
    frame(TEXT, 'open', { fin: false }),
    frame(BINARY, bytesOf(4)),
  ]),
  fails('5.15', 'a new text start (FIN clear) while a fragmented binary is open', 1002, [
    frame(BINARY, bytesOf(4), { fin: false }),
    frame(TEXT, 'new', { fin: false }),
    frame(CONT, 'end'),
  ]),
  fails('5.16', 'close in 2 fragments', 1002, [
    frame(CLOSE, closeBody(1000).subarray(0, 1), { fin: false }),
    frame(CONT, closeBody(1000).subarray(1)),
  ]),
  echoes('5.17', 'text in 3 empty fragments -> echoed as an empty text', cutAt(TEXT, Buffer.alloc(0), [0, 0]), [
    answer(TEXT, ''),
  ]),
  echoes(
    '5.18',
    'text with empty first and last fragments around the data -> echoed whole',
    cutAt(TEXT, Buffer.from('data'), [0, 4]),
    [answer(TEXT, 'data')],
  ),
  echoes(
    '5.19',
    'text in 2 fragments, an unsolicited pong between -> pong ignored, echoed whole',
    [frame(TEXT, 'frag', { fin: false }), frame(PONG, 'unsolicited'), frame(CONT, 'ment')],
    [answer(TEXT, 'fragment')],
  ),
  echoes(
    '5.20',
    'a fragmented text then a fragmented binary -> both echoed whole, in order',
    [...cutAt(TEXT, Buffer.from('first'), [2]), ...cutAt(BINARY, bytesOf(10), [3, 6])],
    [answer(TEXT, 'first'), answer(BINARY, bytesOf(10))],
  ),
);
[2, 3, 16, 100, 1000].forEach((n, i) => {
  const { steps, payload } = fragmented(n);
  cases.push(echoes(`5.21.${i + 1}`, `text in ${n} fragments -> echoed whole`, steps, [answer(TEXT, payload)]));
});

// 6.x UTF-8.
const hello = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!');
const valid: [string, Buffer][] = [
  ['Hello-µ@ßöäüàá-UTF-8!!', hello],
  ['κόσμε (Greek)', Buffer.from('κόσμε')],
  ['日本語 (3-byte sequences)', Buffer.from('日本語')],
  ['emoji U+1F600 (4 bytes)', Buffer.from('😀 ok')],
  ['U+0000', Buffer.from([0x00])],
  ['U+0080, first 2-byte', Buffer.from([0xc2, 0x80])],
  ['U+0800, first 3-byte', Buffer.from([0xe0, 0xa0, 0x80])],
  ['U+10000, first 4-byte', Buffer.from([0xf0, 0x90, 0x80, 0x80])],
  ['U+007F, last 1-byte', Buffer.from([0x7f])],
  ['U+07FF, last 2-byte', Buffer.from([0xdf, 0xbf])],
  ['U+FFFF, last 3-byte', Buffer.from([0xef, 0xbf, 0xbf])],
  ['U+10FFFF, last code point', Buffer.from([0xf4, 0x8f, 0xbf, 0xbf])],
  ['U+D7FF, before the surrogates', Buffer.from([0xed, 0x9f, 0xbf])],
  ['U+E000, after the surrogates', Buffer.from([0xee, 0x80, 0x80])],
  ['U+FFFD, replacement character', Buffer.from([0xef, 0xbf, 0xbd])],
  ['U+FFFE, noncharacter', Buffer.from([0xef, 0xbf, 0xbe])],
];
const invalid: [string, Buffer][] = [
  ['overlong "/" in 2 bytes (c0 af)', Buffer.from([0xc0, 0xaf])],
  ['overlong "/" in 3 bytes (e0 80 af)', Buffer.from([0xe0, 0x80, 0xaf])],
  ['overlong "/" in 4 bytes (f0 80 80 af)', Buffer.from([0xf0, 0x80, 0x80, 0xaf])],
  ['overlong U+007F (c1 bf)', Buffer.from([0xc1, 0xbf])],
  ['overlong U+07FF (e0 9f bf)', Buffer.from([0xe0, 0x9f, 0xbf])],
  ['overlong U+FFFF (f0 8f bf bf)', Buffer.from([0xf0, 0x8f, 0xbf, 0xbf])],
  ['overlong NUL in 2 bytes (c0 80)', Buffer.from([0xc0, 0x80])],
  ['overlong NUL in 3 bytes (e0 80 80)', Buffer.from([0xe0, 0x80, 0x80])],
  ['overlong NUL in 4 bytes (f0 80 80 80)', Buffer.from([0xf0, 0x80, 0x80, 0x80])],
  ['surrogate U+D800 (ed a0 80)', Buffer.from([0xed, 0xa0, 0x80])],
  ['surrogate U+DB7F (ed ad bf)', Buffer.from([0xed, 0xad, 0xbf])],
  ['surrogate U+DBFF (ed af bf)', Buffer.from([0xed, 0xaf, 0xbf])],
  ['surrogate U+DC00 (ed b0 80)', Buffer.from([0xed, 0xb0, 0x80])],
  ['surrogate U+DFFF (ed bf bf)', Buffer.from([0xed, 0xbf, 0xbf])],
  ['surrogate pair U+D800 U+DC00 (ed a0 80 ed b0 80)', Buffer.from([0xed, 0xa0, 0x80, 0xed, 0xb0, 0x80])],
  ['surrogate pair U+DBFF U+DFFF (ed af bf ed bf bf)', Buffer.from([0xed, 0xaf, 0xbf, 0xed, 0xbf, 0xbf])],
  ['truncated 2-byte sequence at the end (c2)', Buffer.from([0x61, 0xc2])],
  ['truncated 3-byte sequence at the end (e2 82)', Buffer.from([0x61, 0xe2, 0x82])],
  ['truncated 4-byte sequence at the end (f0 9f 98)', Buffer.from([0x61, 0xf0, 0x9f, 0x98])],
  ['2-byte start followed by ASCII (c2 41)', Buffer.from([0xc2, 0x41])],
  ['3-byte start, bad second byte (e2 28 a1)', Buffer.from([0xe2, 0x28, 0xa1])],
  ['lone continuation byte (80)', Buffer.from([0x80])],
  ['lone continuation byte (bf)', Buffer.from([0xbf])],
  ['continuation bytes only (80 bf 80)', Buffer.from([0x80, 0xbf, 0x80])],
  ['lonely start byte then space (c0 20)', Buffer.from([0xc0, 0x20])],
  ['invalid byte fe', Buffer.from([0xfe])],
  ['invalid byte ff', Buffer.from([0xff])],
  ['invalid bytes fe fe ff ff', Buffer.from([0xfe, 0xfe, 0xff, 0xff])],
  ['start byte f5 (beyond U+10FFFF)', Buffer.from([0xf5, 0x80, 0x80, 0x80])],
  ['U+110000 (f4 90 80 80)', Buffer.from([0xf4, 0x90, 0x80, 0x80])],
  ['5-byte sequence (f8 88 80 80 80)', Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80])],
  ['6-byte sequence (fc 84 80 80 80 80)', Buffer.from([0xfc, 0x84, 0x80, 0x80, 0x80, 0x80])],
];
cases.push(
  echoes('6.1.1', 'empty text', [frame(TEXT)], [answer(TEXT, '')]),
  echoes(
    '6.2.1',
    `"${hello.toString()}" split in 2 fragments at every byte offset (code points cut in two)`,
    Array.from({ length: hello.length - 1 }, (_, i) => cutAt(TEXT, hello, [i + 1])).flat(),
    Array.from({ length: hello.length - 1 }, () => answer(TEXT, hello)),
  ),
  echoes(
    '6.2.2',
    `"${hello.toString()}" as one frame written a byte at a time`,
    [frame(TEXT, hello)],
    [answer(TEXT, hello)],
    1,
  ),
);
valid.forEach(([name, bytes], i) => {
  cases.push(
    echoes(`6.3.${i + 1}`, `valid UTF-8 ${name}, one frame`, [frame(TEXT, bytes)], [answer(TEXT, bytes)]),
    echoes(`6.4.${i + 1}`, `valid UTF-8 ${name}, in 1-byte fragments`, fragments(TEXT, bytes, 1), [
      answer(TEXT, bytes),
    ]),
  );
});
invalid.forEach(([name, bytes], i) => {
  const wrapped = Buffer.concat([Buffer.from('a'), bytes, Buffer.from('b')]);
  cases.push(
    fails(`6.5.${i + 1}`, `invalid UTF-8: ${name}, one frame`, 1007, [frame(TEXT, bytes)]),
    fails(`6.6.${i + 1}`, `invalid UTF-8: ${name}, split across 1-byte fragments`, 1007, fragments(TEXT, wrapped, 1)),
  );
});
const greekThenSurrogate = Buffer.concat([
  Buffer.from('κόσμε'),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from('edited'),
]);
cases.push(
  fails('6.7.1', 'valid κόσμε, then a surrogate, then "edited", one frame', 1007, [frame(TEXT, greekThenSurrogate)]),
  fails(
    '6.7.2',
    'valid κόσμε, then a surrogate, then "edited", in 3 fragments',
    1007,
    cutAt(TEXT, greekThenSurrogate, [11, 12]),
  ),
  fails('6.7.3', 'invalid UTF-8 only in the last of 3 fragments', 1007, [
    frame(TEXT, 'valid ', { fin: false }),
    frame(CONT, 'κόσμε', { fin: false }),
    frame(CONT, Buffer.from([0xff])),
  ]),
  fails(
    '6.8',
    'a valid text, then an invalid one: the first echoed',
    1007,
    [frame(TEXT, 'κόσμε'), frame(TEXT, Buffer.from([0xce, 0xba, 0xe1]))],
    [answer(TEXT, 'κόσμε')],
  ),
  echoes(
    '6.9',
    'invalid UTF-8 in a binary message -> echoed (binary is not checked)',
    [frame(BINARY, Buffer.from([0xff, 0xfe, 0xc0, 0xaf]))],
    [answer(BINARY, Buffer.from([0xff, 0xfe, 0xc0, 0xaf]))],
  ),
);

// 7.x close.
cases.push(
  closes(
    '7.1.1',
    'text, then close 1000: text echoed',
    [1000],
    [frame(TEXT, 'Hello World!'), frame(CLOSE, closeBody(1000))],
    [answer(TEXT, 'Hello World!')],
  ),
  closes(
    '7.1.2',
    'close twice: one close back',
    [1000],
    [frame(CLOSE, closeBody(1000)), frame(CLOSE, closeBody(1000))],
  ),
  closes('7.1.3', 'close, then ping: no pong', [1000], [frame(CLOSE, closeBody(1000)), frame(PING, 'after close')]),
  closes(
    '7.1.4',
    'close, then text: data after close ignored',
    [1000],
    [frame(CLOSE, closeBody(1000)), frame(TEXT, 'after close')],
  ),
  closes(
    '7.1.5',
    'first fragment, close, last fragment: nothing echoed',
    [1000],
    [frame(TEXT, 'frag', { fin: false }), frame(CLOSE, closeBody(1000)), frame(CONT, 'ment')],
  ),
  closes(
    '7.1.6',
    'text of 256 KiB, close, ping: text echoed, ping not',
    [1000],
    () => [frame(TEXT, textOf(256 * KiB)), frame(CLOSE, closeBody(1000)), frame(PING, 'after close')],
    () => [answer(TEXT, textOf(256 * KiB))],
  ),
  closes(
    '7.1.7',
    'close after the echo arrived, then text: the late text ignored',
    [1000],
    [frame(TEXT, 'echo me'), wait(1), frame(CLOSE, closeBody(1000)), frame(TEXT, 'ignored')],
    [answer(TEXT, 'echo me')],
  ),
  closes('7.3.1', 'close without payload', [1005, 1000], [frame(CLOSE)]),
  fails('7.3.2', 'close with a 1-byte payload', 1002, [frame(CLOSE, Buffer.from([0x03]))]),
  closes('7.3.3', 'close 1000 without reason', [1000], [frame(CLOSE, closeBody(1000))]),
  closes('7.3.4', 'close 1000 with a reason', [1000], [frame(CLOSE, closeBody(1000, 'Hello World!'))]),
  closes(
    '7.3.5',
    'close 1000 with a 123-byte reason (125-byte payload)',
    [1000],
    [frame(CLOSE, closeBody(1000, textOf(123)))],
  ),
  fails('7.3.6', 'close 1000 with a 124-byte reason (126-byte payload)', 1002, [
    frame(CLOSE, closeBody(1000, textOf(124))),
  ]),
  fails('7.5.1', 'close 1000 with invalid UTF-8 in the reason (ed a0 80)', 1007, [
    frame(CLOSE, closeBody(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80]))),
  ]),
  fails('7.5.2', 'close 1000 with a truncated sequence in the reason (e2 82)', 1007, [
    frame(CLOSE, closeBody(1000, Buffer.from([0x61, 0xe2, 0x82]))),
  ]),
  closes('7.5.3', 'close 1000 with a multi-byte UTF-8 reason', [1000], [frame(CLOSE, closeBody(1000, 'κόσμε 😀'))]),
);
[1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999].forEach((code, i) => {
  cases.push(
    closes(`7.7.${i + 1}`, `close with valid code ${code}`, [code, 1000], [frame(CLOSE, closeBody(code, 'bye'))]),
  );
});
[0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65_535].forEach((code, i) => {
  cases.push(fails(`7.9.${i + 1}`, `close with invalid code ${code}`, 1002, [frame(CLOSE, closeBody(code))]));
});

// 9.x large messages, around maxPayload (1 MiB).
for (const [section, op, make] of [
  ['9.1', TEXT, textOf],
  ['9.2', BINARY, bytesOf],
] as const) {
  [64 * KiB, 256 * KiB, MAX_PAYLOAD - 1, MAX_PAYLOAD].forEach((length, i) => {
    const label =
      length === MAX_PAYLOAD
        ? '1 MiB (exactly maxPayload)'
        : length === MAX_PAYLOAD - 1
          ? '1 MiB - 1'
          : `${length / KiB} KiB`;
    cases.push(
      echoes(
        `${section}.${i + 1}`,
        `${opNames[op]!} of ${label}`,
        () => [frame(op, make(length))],
        () => [answer(op, make(length))],
      ),
    );
  });
}
cases.push(
  fails('9.3.1', 'text of 1 MiB + 1 (over maxPayload)', 1009, () => [frame(TEXT, textOf(MAX_PAYLOAD + 1))]),
  fails('9.3.2', 'binary of 1 MiB + 1 (over maxPayload)', 1009, () => [frame(BINARY, bytesOf(MAX_PAYLOAD + 1))]),
  fails('9.3.3', 'a header announcing 1 MiB + 1 and no payload: refused on the header', 1009, [
    frame(BINARY, '', { announce: BigInt(MAX_PAYLOAD + 1) }),
  ]),
  fails('9.3.4', 'a 64-bit length with its high bit set (2^63)', 1009, [frame(BINARY, '', { announce: 1n << 63n })]),
  fails('9.4.1', '1 MiB + 1 of text in 1 KiB fragments (1025 fragments)', 1009, () =>
    fragments(TEXT, textOf(MAX_PAYLOAD + 1), KiB),
  ),
  fails('9.4.2', '1 MiB + 1 of binary in 64 KiB fragments', 1009, () =>
    fragments(BINARY, bytesOf(MAX_PAYLOAD + 1), 64 * KiB),
  ),
  fails('9.4.3', '1 MiB - 1 of binary, then 2 more bytes in a last fragment', 1009, () => [
    frame(BINARY, bytesOf(MAX_PAYLOAD - 1), { fin: false }),
    frame(CONT, bytesOf(2)),
  ]),
  echoes(
    '9.5.1',
    `text in ${MAX_FRAGMENTS} 1-byte fragments (exactly maxFragments)`,
    () => fragments(TEXT, textOf(MAX_FRAGMENTS), 1),
    () => [answer(TEXT, textOf(MAX_FRAGMENTS))],
  ),
  fails('9.5.2', `text in ${MAX_FRAGMENTS + 1} 1-byte fragments (over maxFragments)`, 1008, () =>
    fragments(TEXT, textOf(MAX_FRAGMENTS + 1), 1),
  ),
);

// 10.x auto-fragmentation: a 1 MiB message in fragments.
for (const [id, op, make, size] of [
  ['10.1.1', TEXT, textOf, 64 * KiB],
  ['10.1.2', BINARY, bytesOf, 64 * KiB],
  ['10.1.3', BINARY, bytesOf, KiB],
] as const) {
  cases.push(
    echoes(
      id,
      `${opNames[op]!} of 1 MiB in ${size / KiB} KiB fragments (${MiB / size}) -> echoed whole`,
      () => fragments(op, make(MiB), size),
      () => [answer(op, make(MiB))],
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Running a case and judging what came back.

type Verdict = { kind: 'pass' } | { kind: 'failed' | 'wrong close code' | 'unclean close'; detail: string };

/** Answers for a message: the first few and the last, with the count. */
function summary(answers: readonly Answer[]): string {
  if (answers.length === 0) return 'nothing';
  if (answers.length <= 6) return answers.map(show).join(', ');
  return `${answers.length} answers: ${answers.slice(0, 3).map(show).join(', ')}, …, ${show(answers.at(-1)!)}`;
}

const show = (a: Answer): string => {
  const name = opNames[a.op] ?? `opcode ${a.op}`;
  if (a.payload.length > 16) return `${name}(${a.payload.length} bytes)`;
  const printable = [...a.payload].every((b) => b >= 0x20 && b < 0x7f);
  return `${name}(${printable ? JSON.stringify(a.payload.toString()) : `<${hex(a.payload)}>`})`;
};

const sameAnswer = (a: Answer, b: Answer): boolean => a.op === b.op && a.payload.equals(b.payload);

/** `got` is `wanted` with some answers left out, in order. */
function subsequence(got: readonly Answer[], wanted: readonly Answer[]): boolean {
  let at = 0;
  for (const answer of got) {
    while (at < wanted.length && !sameAnswer(answer, wanted[at]!)) at++;
    if (at++ >= wanted.length) return false;
  }
  return true;
}

/** The case's answers have all come (its last one, when pongs may be coalesced). */
function answered(c: Resolved, answers: readonly Answer[]): boolean {
  if (c.coalesce !== true) return answers.length >= c.expect.length;
  const last = c.expect.at(-1);
  return last === undefined || answers.some((a) => sameAnswer(a, last));
}

function sameAnswers(got: readonly Answer[], wanted: readonly Answer[]): boolean {
  return (
    got.length === wanted.length && got.every((a, i) => a.op === wanted[i]!.op && a.payload.equals(wanted[i]!.payload))
  );
}

function judge(peer: Peer, c: Resolved, allowed: readonly number[], timedOut: boolean): Verdict {
  const { answers } = peer;
  const expected = c.expect;
  const closeAt = answers.findIndex((a) => a.op === CLOSE);
  if (timedOut) return { kind: 'unclean close', detail: 'the TCP connection was still open after 5 s' };
  if (peer.leftover > 0) {
    return {
      kind: 'unclean close',
      detail: `${peer.leftover} bytes at the end are not a whole frame (${peer.problem ?? ''})`,
    };
  }
  if (closeAt === -1) {
    return { kind: 'unclean close', detail: `TCP closed without a close frame, after ${summary(answers)}` };
  }
  if (peer.reset !== undefined) return { kind: 'unclean close', detail: `the connection was reset (${peer.reset})` };
  if (!peer.ended) return { kind: 'unclean close', detail: 'the TCP connection closed without a FIN' };
  if (peer.problem !== undefined) return { kind: 'failed', detail: peer.problem };
  const before = answers.slice(0, closeAt);
  const after = answers.slice(closeAt + 1);
  if (after.length > 0) return { kind: 'failed', detail: `sent ${summary(after)} after its close frame` };
  const close = answers[closeAt]!.payload;
  const code = close.length < 2 ? 1005 : close.readUInt16BE(0);
  const early = c.orClose !== undefined && code === c.orClose;
  const fits =
    c.coalesce === true
      ? subsequence(before, expected) && (early || answered(c, before))
      : sameAnswers(before, early ? expected.slice(0, before.length) : expected);
  if (!fits) {
    return {
      kind: 'failed',
      detail: `expected ${summary(expected)} before the close, got ${summary(before)}`,
    };
  }
  if (close.length === 1) return { kind: 'failed', detail: 'a close frame with a 1-byte payload' };
  if (!allowed.includes(code)) {
    return { kind: 'wrong close code', detail: `closed with ${code}, expected ${allowed.join(' or ')}` };
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(close.subarray(2));
  } catch {
    return { kind: 'failed', detail: `a close reason that is not UTF-8: ${hex(close.subarray(2))}` };
  }
  return { kind: 'pass' };
}

/** What a side reported to onError, against what it should have: one protocol error with `fault`, or nothing. */
function reportProblems(errors: readonly Error[], fault: number | undefined): string[] {
  const seen = errors.map((e) => {
    const { code, closeCode } = e as Error & { code?: string; closeCode?: number };
    return `${code ?? e.name}${closeCode === undefined ? '' : ` ${closeCode}`}`;
  });
  const wanted = fault === undefined ? [] : [`RXJET_ERR_WS_PROTOCOL ${fault}`];
  return seen.join(', ') === wanted.join(', ')
    ? []
    : [`reported [${seen.join(', ')}] to onError, expected [${wanted.join(', ')}]`];
}

interface Opened {
  peer: Peer;
  /** After the TCP connection closed: what the rxjet side got wrong in releasing and reporting. */
  settle: (fault: number | undefined) => Promise<string[]>;
  dispose: () => void;
}

interface Side {
  name: SideName;
  /** We are the client: our frames are masked. */
  masks: boolean;
  open: (options?: WebSocketOptions) => Promise<Opened>;
}

async function run(side: Side, lazy: Case): Promise<Verdict> {
  const c = resolve(lazy);
  const opened = await side.open(lazy.options);
  const { peer } = opened;
  try {
    await play(peer, c.steps, side.masks, c.chop);
    let allowed = c.close;
    if (allowed === undefined) {
      await peer
        .waitFor(() => answered(c, peer.answers) || peer.closeSent || peer.isClosed, `${c.expect.length} answers`)
        .catch(() => undefined);
      if (!peer.closeSent && writable(peer.socket)) {
        peer.socket.write(encode(frame(CLOSE, closeBody(1000, 'done')), side.masks));
      }
      allowed = c.orClose === undefined ? [1000] : [1000, c.orClose];
    }
    let timedOut = false;
    await peer.waitFor(() => peer.isClosed, 'the TCP connection to close').catch(() => (timedOut = true));
    const verdict = judge(peer, c, allowed, timedOut);
    const closedEarly = c.orClose !== undefined && peer.closeCode === c.orClose;
    const problems = await opened.settle(closedEarly ? c.orClose : c.fault);
    if (verdict.kind === 'pass' && problems.length > 0) return { kind: 'failed', detail: problems.join('; ') };
    return verdict;
  } finally {
    opened.dispose();
  }
}

interface Tally {
  run: number;
  failed: number;
  wrongCode: number;
  unclean: number;
}

function defineCases(side: () => Side, name: SideName, tally: Tally): void {
  for (const c of cases) {
    it(`${name} ${c.id} ${c.title}`, async () => {
      tally.run++;
      let verdict: Verdict;
      try {
        verdict = await run(side(), c);
      } catch (error) {
        verdict = { kind: 'failed', detail: String(error) };
      }
      if (verdict.kind === 'failed') tally.failed++;
      else if (verdict.kind === 'wrong close code') tally.wrongCode++;
      else if (verdict.kind === 'unclean close') tally.unclean++;
      expect(verdict.kind === 'pass' ? 'pass' : `${verdict.kind}: ${verdict.detail}`).to.equal('pass');
    });
  }
}

const report = (name: string, t: Tally): string =>
  `${name}: ${t.run} cases run, ${t.failed} failed, ${t.wrongCode} wrong close code, ${t.unclean} unclean closes`;

// ---------------------------------------------------------------------------------------------
// A raw WebSocket server for the client side: the handshake by hand, then frames.

interface RawServer {
  url: string;
  /** The next connection, once its handshake is answered. */
  next: () => Promise<Peer>;
  close: () => Promise<void>;
}

async function rawServer(): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const ready: Peer[] = [];
  const waiting: ((peer: Peer) => void)[] = [];
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const header = (name: string): string | undefined =>
        lines
          .find((line) => line.toLowerCase().startsWith(`${name}:`))
          ?.slice(name.length + 1)
          .trim();
      const key = header('sec-websocket-key');
      if (
        !lines[0]!.startsWith('GET ') ||
        header('upgrade')?.toLowerCase() !== 'websocket' ||
        header('sec-websocket-version') !== '13' ||
        key === undefined
      ) {
        socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
        return;
      }
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      const peer = new Peer(socket, head.subarray(end + 4), true);
      const waiter = waiting.shift();
      if (waiter !== undefined) waiter(peer);
      else ready.push(peer);
    };
    socket.on('data', onData);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/conformance`,
    next: () => {
      const peer = ready.shift();
      return peer !== undefined ? Promise.resolve(peer) : new Promise((resolve) => waiting.push(resolve));
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The flood: a `ws` client in another process that sends as fast as it can.

const FLOOD_CLIENT = `
const WebSocket = require('ws');
const [url, count, size] = process.argv.slice(1);
const ws = new WebSocket(url);
ws.on('open', () => {
  const pad = 'x'.repeat(Number(size));
  for (let i = 0; i < Number(count); i++) ws.send(i + ':' + pad);
  process.stdout.write('sent ' + count + ', ' + ws.bufferedAmount + ' bytes still buffered\\n');
});
ws.on('close', (code) => {
  process.stdout.write('closed ' + code + '\\n');
  process.exit(0);
});
ws.on('error', (error) => {
  process.stderr.write(String(error) + '\\n');
  process.exit(1);
});
`;

/** `gc()`, exposed for this process if it is not already. */
function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

// ---------------------------------------------------------------------------------------------

describe('hostile: WebSocket conformance (Autobahn sections 1-7, 9, 10)', function () {
  this.timeout(20_000);

  describe('against the rxjet server (echo), from a raw client', () => {
    const tally: Tally = { run: 0, failed: 0, wrongCode: 0, unclean: 0 };
    afterEach(closeAll);
    after(() => console.log(`      ${report('server', tally)}`));

    const side = (): Side => {
      return {
        name: 'server',
        masks: true,
        open: async (options) => {
          // A server per case: default options unless the case gives its own, an echo.
          const s = await start(undefined, { websocketHandler: (conn) => conn.in$, websocket: options });
          const raw = await within(5000, rawWebSocket(s.port, '/conformance'), 'the handshake');
          const peer = new Peer(raw.socket, raw.received(), false);
          return {
            peer,
            dispose: () => raw.socket.destroy(),
            settle: async (fault) => {
              const problems: string[] = [];
              await eventually(
                () => s.stats(),
                (now) => now.connections === 0 && now.websockets === 0,
                'the server to release the connection',
              ).catch((error: unknown) => problems.push(String(error)));
              return [...problems, ...reportProblems(s.errors, fault)];
            },
          };
        },
      };
    };
    defineCases(side, 'server', tally);
  });

  describe('against the rxjet client (echo), from a raw net server', () => {
    const tally: Tally = { run: 0, failed: 0, wrongCode: 0, unclean: 0 };
    let raw: RawServer | undefined;
    before(async () => {
      raw = await rawServer();
    });
    after(async () => {
      console.log(`      ${report('client', tally)}`);
      await raw?.close();
    });

    const side = (): Side => {
      const r = raw!;
      return {
        name: 'client',
        masks: false,
        open: async (options) => {
          const errors: Error[] = [];
          const accepted = r.next();
          const conn = await within(
            5000,
            connect(r.url, (c) => c.in$, { ...options, onError: (error) => errors.push(error) }),
            'the rxjet client to connect',
          );
          const closed = lastValueFrom(conn.ctrl$);
          closed.catch(() => undefined);
          let peer: Peer;
          try {
            peer = await within(5000, accepted, 'the raw server to accept');
          } catch (error) {
            conn.ws.terminate();
            throw error;
          }
          return {
            peer,
            dispose: () => {
              peer.socket.destroy();
              conn.ws.terminate();
            },
            settle: async (fault) => {
              const problems: string[] = [];
              const event = await within(5000, closed, 'the client to release the connection').catch(
                (error: unknown) => {
                  problems.push(String(error));
                  return undefined;
                },
              );
              if (event !== undefined && event.type !== 'close') problems.push(`ctrl$ ended with ${event.type}`);
              return [...problems, ...reportProblems(errors, fault)];
            },
          };
        },
      };
    };
    defineCases(side, 'client', tally);
  });

  describe('flood', () => {
    afterEach(closeAll);

    it('a ws client flooding 20000 x 1 KiB at a slow for-await consumer: server heap bounded, every message in order', async () => {
      const count = 20_000;
      const size = 1024;
      /** The heap the server may grow by while the flood waits: the 1 MiB inbound queue, a read's worth of slack, GC noise. */
      const bound = 8 * MiB;
      const samples = 10;
      const gc = collector();
      let conn: WebSocketConnection | undefined;
      let consumed = 0;
      let fast = false;
      let outOfOrder: string | undefined;
      const server = await start(undefined, {
        websocketHandler: async (c) => {
          conn = c;
          for await (const message of c.in$) {
            const text = String(message);
            const index = text.slice(0, text.indexOf(':'));
            if (index !== String(consumed)) outOfOrder ??= `message ${consumed} was ${index}`;
            if (++consumed === count) break;
            // The slow consumer: a few ms per message (a workload, not a synchronisation).
            if (!fast) await new Promise((resolve) => setTimeout(resolve, 2));
          }
          c.out$.complete();
        },
      });
      gc();
      const baseline = process.memoryUsage().heapUsed;
      const child = spawn(
        process.execPath,
        ['-e', FLOOD_CLIENT, `ws://127.0.0.1:${server.port}/flood`, String(count), String(size)],
        {
          cwd: fileURLToPath(new URL('../../', import.meta.url)),
          stdio: ['ignore', 'pipe', 'inherit'],
          env: childEnv(),
        },
      );
      const exited = once(child, 'exit');
      try {
        let output = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (data: string) => (output += data));
        await until(() => output.includes('sent'), 'the flood client to send everything', 10_000);
        await until(
          () => conn !== undefined && (conn.ws as unknown as { isPaused: boolean }).isPaused,
          'the server to pause reading',
        );
        const growth: number[] = [];
        let pausedSamples = 0;
        for (let i = 1; i <= samples; i++) {
          await until(() => consumed >= i * 20, `the slow consumer to take ${i * 20} messages`, 10_000);
          gc();
          growth.push(process.memoryUsage().heapUsed - baseline);
          if ((conn!.ws as unknown as { isPaused: boolean }).isPaused) pausedSamples++;
        }
        const slowConsumed = consumed;
        fast = true;
        await until(() => consumed === count, 'every message to be consumed', 15_000);
        const [exitCode] = (await within(5000, exited, 'the flood client to exit')) as [number | null];
        const stats = await eventually(
          () => server.stats(),
          (now) => now.connections === 0 && now.websockets === 0,
          'the server to release the connection',
        );
        const max = Math.max(...growth);
        console.log(
          `      flood: ${output.trim().split('\n').join('; ')}; heap growth while ${count - slowConsumed}+ messages ` +
            `(${(((count - slowConsumed) * size) / MiB) | 0} MiB) waited: max ${(max / MiB).toFixed(2)} MiB ` +
            `(bound ${bound / MiB} MiB), reads paused in ${pausedSamples}/${samples} samples`,
        );
        expect(outOfOrder).to.equal(undefined);
        expect(consumed).to.equal(count);
        expect(max).to.be.below(bound);
        expect(exitCode).to.equal(0);
        expect(output).to.include('closed 1000');
        expect(stats).to.deep.equal({ connections: 0, requests: 0, websockets: 0 });
        expect(server.errors).to.deep.equal([]);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      }
    });
  });
});

describe('WebSocket ping floods (maxPendingAutoPongs)', function () {
  this.timeout(30_000);
  afterEach(closeAll);

  it('terminates a peer with more than maxPendingAutoPongs pings awaiting their pong, and not before', async () => {
    const outcome = async (pings: number): Promise<{ pongs: number; closedBy: 'server' | 'us' }> => {
      const s = await start(undefined, { websocketHandler: (conn) => conn.in$ });
      const raw = await within(5000, rawWebSocket(s.port, '/flood'), 'the handshake');
      const ping = Buffer.from([0x89, 0x80, 0, 0, 0, 0]); // an empty masked ping
      raw.socket.write(Buffer.concat(Array.from({ length: pings }, () => ping)));
      // An answered burst ends with the last pong; a cut-off one ends with the socket closing.
      const cut = await within(
        5000,
        Promise.race([
          raw.closed.then(() => true),
          until(() => raw.received().length >= pings * 2, 'the pongs').then(() => false),
        ]),
        'the pongs or the close',
      );
      const pongs = raw.received().length / 2;
      if (!cut) raw.socket.destroy();
      await eventually(
        () => s.stats(),
        (now) => now.websockets === 0,
        'the server to let the socket go',
      );
      return { pongs, closedBy: cut ? 'server' : 'us' };
    };
    expect(await outcome(60)).to.deep.equal({ pongs: 60, closedBy: 'us' });
    const flooded = await outcome(61);
    expect(flooded.closedBy).to.equal('server');
    expect(flooded.pongs).to.be.at.most(60);
  });
});
