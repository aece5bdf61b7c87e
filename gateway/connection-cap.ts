import type { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { addressGroup } from './auth-lockout.ts';
import type { ClientAddresses } from './client-address.ts';
import { GatewayError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { GatewayNotice, Logger } from './types.ts';

// gateway.max_connections_per_client: open connections per client (an IPv4 address or an IPv6 /64,
// as for the auth lockout). A connection beyond the cap gets a fixed 429 (`connection: close`)
// written to the socket as it arrives, before anything of its request is read: no auth, no routing,
// no body. Writing the 429 instead of dropping the socket costs the same and tells a real client (a
// pool set too large) why. Refused sockets do not count towards the cap. Trusted proxies are exempt:
// one connection of theirs carries many clients. The cap is read per connection, so a reload applies
// to the next one; 0 turns it off.
//
// A real client closes the connection once it has read the answer, as `connection: close` asks. The
// gateway closes it only after REFUSED_HOLD_MS: Node accepts one connection per event-loop iteration
// (libuv 1.46), so a flood that reconnects whenever it is closed would keep the kernel's accept queue
// full, and every other new client would wait behind it for seconds. Held, the flood's extra sockets
// cost a file descriptor each and nothing more; at most MAX_HELD are held, beyond that they are closed
// at once.

/** A refused socket the client has not closed is closed after this long. */
const REFUSED_HOLD_MS = 60_000;
/** Refused sockets held open at most (each is one file descriptor). */
const MAX_HELD = 8_192;
/** A group refused again within this long of being logged is not logged again. */
const QUIET_MS = 60_000;

function refusalResponse(): string {
  const error = new GatewayError(429, 'too many open connections from this address (gateway.max_connections_per_client); close idle ones or reuse them (keep-alive), then retry');
  const body = error.body;
  return `HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nretry-after: 1\r\nconnection: close\r\n\r\n${body}`;
}

const REFUSAL = refusalResponse();

export class ConnectionCap {
  /** Open (accepted) connections per client group; a group leaves when its last one closes. */
  private readonly open = new Map<string, number>();
  /** When each group was last logged as refused, oldest first: once per QUIET_MS, not once per connection. */
  private readonly logged = new Map<string, number>();
  /** Sockets answered with the 429: requests the parser still reads on them are not served. */
  private readonly refused = new WeakSet<Socket>();
  /** Refused sockets still open. */
  private held = 0;

  constructor(
    private readonly cap: () => number,
    private readonly addresses: ClientAddresses,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly events: EventEmitter,
  ) {}

  /** Counts the server's connections; runs before the HTTP server's own connection handler. */
  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.onConnection(socket));
  }

  /** Whether the socket was refused (its 429 sent already): the request handler then does nothing. */
  isRefused(socket: Socket): boolean {
    return this.refused.has(socket);
  }

  private onConnection(socket: Socket): void {
    const cap = this.cap();
    const address = socket.remoteAddress;
    if (cap <= 0 || address === undefined || this.addresses.isTrustedProxy(address)) return;
    const group = addressGroup(address);
    const count = this.open.get(group) ?? 0;
    if (count >= cap) return this.refuse(socket, group, cap);
    this.open.set(group, count + 1);
    socket.once('close', () => this.release(group));
  }

  private release(group: string): void {
    const count = (this.open.get(group) ?? 1) - 1;
    if (count <= 0) this.open.delete(group);
    else this.open.set(group, count);
  }

  private refuse(socket: Socket, group: string, cap: number): void {
    this.refused.add(socket);
    this.metrics.connectionsRefused.inc({ reason: 'per_client_cap' });
    socket.on('error', () => {}); // a client that resets first is no news
    if (this.held >= MAX_HELD) {
      socket.end(REFUSAL);
    } else {
      this.held += 1;
      socket.write(REFUSAL);
      const timer = setTimeout(() => socket.destroy(), REFUSED_HOLD_MS).unref();
      socket.once('close', () => {
        this.held -= 1;
        clearTimeout(timer);
      });
    }
    const now = performance.now();
    const last = this.logged.get(group);
    if (last !== undefined && now - last < QUIET_MS) return;
    for (const [old, at] of this.logged) {
      if (now - at < QUIET_MS) break;
      this.logged.delete(old);
    }
    this.logged.delete(group);
    this.logged.set(group, now);
    const notice: GatewayNotice = { kind: 'rate_limited', message: `${group} holds ${cap} open connections, its max_connections_per_client: further connections from it get 429 and are closed until some close (not logged again for this address within ${QUIET_MS / 1000} s)`, at: Date.now() };
    this.log.warn({ address: group, cap }, `gateway: ${notice.message}`);
    this.events.emit('notice', notice);
  }
}
