// A request body given up on: stop reading it, and end the connection with the response.
import type { IncomingMessage } from 'node:http';
import type { Http2ServerRequest } from 'node:http2';
import type { ResponseTarget } from './response-target.js';

/**
 * Stops reading what is left of an HTTP/1.1 request's body (a multipart upload its reader left,
 * or one past a limit), rather than draining it to keep the connection: no more of it is read,
 * beyond what node has already buffered, and the connection, which cannot carry another request
 * with the body unread, ends with the response: answered with `connection: close` before the
 * head, or destroyed once the response is done after it.
 *
 * HTTP/2 is left to drain (the stream's rest read and dropped, at the pace its flow control
 * allows), as a reset would lose the answer: nghttp2 sends RST_STREAM ahead of DATA frames still
 * queued, and node's own client, still writing, never closes a stream reset with NO_ERROR.
 *
 * @returns false when nothing is stopped (HTTP/2, or the whole body has already arrived): the
 *   rest is then drained as usual
 */
export function leaveUnread(raw: IncomingMessage | Http2ServerRequest, res: ResponseTarget): boolean {
  if (raw.complete || (raw as Partial<Http2ServerRequest>).stream !== undefined) return false;
  raw.pause();
  if (!res.headersSent) {
    res.shouldKeepAlive = false;
    return true;
  }
  const { socket } = raw as IncomingMessage;
  const destroy = (): void => {
    socket.destroy();
  };
  if (res.writableFinished) destroy();
  else res.on('close', destroy);
  return true;
}
