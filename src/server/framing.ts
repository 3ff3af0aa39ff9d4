// Framing checks that node's HTTP/1.1 parser leaves to the server, shared by requests and upgrades.

/**
 * Framing node's parser lets through to the request listener, which RFC 9112 says to refuse:
 * more than one Host field (3.2), a Transfer-Encoding whose last coding is not chunked (6.3: the
 * body's length cannot be known, the shape request smuggling uses), or any Transfer-Encoding in
 * an HTTP/1.0 request (6.1: its framing is faulty, even with a Content-Length). Checks the raw
 * list, so a request costs no headers object.
 */
export function ambiguous(http10: boolean, rawHeaders: readonly string[]): boolean {
  let hosts = 0;
  let encoding: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (++hosts > 1) return true;
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      encoding = rawHeaders[i + 1];
    }
  }
  if (encoding === undefined) return false;
  if (http10) return true;
  const codings = encoding.split(',');
  return codings[codings.length - 1]!.trim().toLowerCase() !== 'chunked';
}
