// The server's IncomingMessage: only WebSocket handshakes count as upgrades.
import { IncomingMessage } from 'node:http';

/**
 * node's request, except that only a WebSocket handshake or a CONNECT counts as an upgrade.
 * Once a server has an `upgrade` listener, node hands it every request with an `Upgrade` header
 * and stops parsing HTTP on that connection, so an `Upgrade: h2c` offer (curl --http2 sends one
 * on every cleartext request) or any other token would lose its body and escape every limit.
 * With this class as the server's `IncomingMessage`, node serves those as ordinary requests, as
 * it does when there is no listener; RFC 9110 section 7.8 lets a server ignore an offer.
 *
 * node sets `upgrade` from its parser before the headers are added, and reads it after: the
 * setter keeps the parser's word, the getter decides once the headers are there.
 */
export class UpgradeAwareMessage extends IncomingMessage {}

Object.defineProperty(UpgradeAwareMessage.prototype, 'upgrade', {
  configurable: true,
  enumerable: true,
  get(this: Offering): boolean {
    return this[kOffered] === true && (this.method === 'CONNECT' || isWebSocketHandshake(this));
  },
  set(this: Offering, offered: boolean) {
    this[kOffered] = offered;
  },
});

const kOffered = Symbol('rxjet.upgradeOffered');
type Offering = IncomingMessage & { [kOffered]?: boolean };

/** Whether a request is a WebSocket opening handshake: GET, with `websocket` among its Upgrade tokens. */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  if (req.method !== 'GET') return false;
  const offer = req.headers.upgrade;
  return offer !== undefined && offer.split(',').some((token) => token.trim().toLowerCase() === 'websocket');
}
