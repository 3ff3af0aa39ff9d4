import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';

/** A raw WebSocket client over `net`: does the handshake, then sends hand-built frames. */
export interface RawSocket {
  socket: net.Socket;
  /** Everything received after the handshake. */
  received: () => Buffer;
  /** Sends one masked frame. */
  frame: (opcode: number, payload: Buffer, options?: { fin?: boolean; rsv?: number }) => void;
  closed: Promise<unknown>;
}

export async function rawWebSocket(port: number, path = '/'): Promise<RawSocket> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  const closed = once(socket, 'close');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let data = Buffer.alloc(0);
  let headDone = false;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      if (!headDone) {
        const end = data.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = data.subarray(0, end).toString();
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(`handshake refused: ${head}`));
        data = data.subarray(end + 4);
        headDone = true;
        resolve();
      }
    });
  });
  return {
    socket,
    received: () => data,
    closed,
    frame: (opcode, payload, options = {}) => {
      const mask = randomBytes(4);
      const fin = options.fin ?? true;
      const first = (fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode;
      let header: Buffer;
      if (payload.length < 126) header = Buffer.from([first, 0x80 | payload.length]);
      else if (payload.length < 65536) {
        header = Buffer.alloc(4);
        header[0] = first;
        header[1] = 0x80 | 126;
        header.writeUInt16BE(payload.length, 2);
      } else {
        header = Buffer.alloc(10);
        header[0] = first;
        header[1] = 0x80 | 127;
        header.writeBigUInt64BE(BigInt(payload.length), 2);
      }
      const masked = Buffer.from(payload);
      for (let i = 0; i < masked.length; i++) masked[i]! ^= mask[i % 4]!;
      socket.write(Buffer.concat([header, mask, masked]));
    },
  };
}

/** The close code in the first close frame of a server's unmasked byte stream, or undefined. */
export function closeCodeIn(data: Buffer): number | undefined {
  let offset = 0;
  while (offset + 2 <= data.length) {
    const opcode = data[offset]! & 0x0f;
    let length = data[offset + 1]! & 0x7f;
    let start = offset + 2;
    if (length === 126) {
      length = data.readUInt16BE(offset + 2);
      start += 2;
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(offset + 2));
      start += 8;
    }
    if (opcode === 0x8) return length >= 2 ? data.readUInt16BE(start) : 1005;
    offset = start + length;
  }
  return undefined;
}
