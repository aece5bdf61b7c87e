import type { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { addressGroup } from './auth-lockout.ts';
import { clientAddress, type ClientAddresses } from './client-address.ts';
import { GatewayError, sendError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import type { GatewayNotice, Logger } from './types.ts';

// Early shedding: a client (IPv4 address or IPv6 /64) that keeps sending requests the gateway refuses
// with 429 (rate limits, a full deployment or queue, its key's limits), without waiting for their
// Retry-After, has its next requests refused for a second before any work is done on them: no auth,
// no routing, no body read or parsed, no request record. The connection that brought a shed request
// is then not read until the second is over, so a flood costs about one fixed answer per connection
// per second and cannot take the event loop from other clients. After the second its requests take
// the normal path again; if they go on being refused, it is shed again.
//
// Requests in flight or queued need no bound of their own here: over HTTP/1.1 a connection carries
// one request at a time, so max_connections_per_client bounds them per address already. Shedding is on
// with that cap: max_connections_per_client: 0 turns both off (one switch for flood protection, e.g.
// for a benchmark that sends every client from one address on purpose).

/** This many 429s within REFUSAL_WINDOW_MS shed the client: far more than a client that honours Retry-After gets. */
export const SHED_AFTER_REFUSALS = 50;
const REFUSAL_WINDOW_MS = 10_000;
const SHED_FOR_MS = 1_000;
/** A client shed again within this long of its last shedding is not logged again. */
const QUIET_MS = 60_000;
/** At most this many clients are tracked, so a flood of addresses cannot grow memory. */
const MAX_TRACKED = 10_000;

const SHED = new GatewayError(
  429,
  `too many requests from this address were refused with 429 without waiting for their Retry-After (${SHED_AFTER_REFUSALS} within ${REFUSAL_WINDOW_MS / 1000} s): its requests are refused unread for ${SHED_FOR_MS / 1000} s; wait for Retry-After before retrying`,
  { 'retry-after': String(Math.ceil(SHED_FOR_MS / 1000)) },
);

interface Refusals {
  count: number;
  windowStart: number;
  shedUntil: number;
  /** When this client was last logged as shed; -Infinity: never. */
  loggedAt: number;
}

export class LoadShedding {
  private readonly clients = new Map<string, Refusals>();
  /** One listener for every response ('finish'): counts its 429s. */
  private readonly onFinish: (this: ServerResponse) => void;

  constructor(
    /** Read per request: max_connections_per_client > 0. */
    private readonly enabled: () => boolean,
    private readonly addresses: ClientAddresses,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly events: EventEmitter,
  ) {
    const shedding = this;
    this.onFinish = function () {
      if (this.statusCode === 429) shedding.noteRefusal(this.req, performance.now());
    };
  }

  /** True when the request may go on; false when it was shed (its 429 has been sent). Call it first, before any work. */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.enabled()) return true;
    if (this.clients.size !== 0) {
      const group = this.groupOf(req);
      const refusals = group === undefined ? undefined : this.clients.get(group);
      if (refusals !== undefined && refusals.shedUntil > performance.now()) {
        this.metrics.requestsShed.inc();
        sendError(res, SHED);
        this.pauseUntil(req, res, refusals.shedUntil);
        return false;
      }
    }
    res.on('finish', this.onFinish); // not once(): that would allocate a wrapper per request; 'finish' comes once anyway
    return true;
  }

  /**
   * Stops reading the shed request's connection until the shedding ends: its next requests wait in
   * the kernel instead of taking a turn of the event loop each, so other clients' requests, and the
   * accepting of their connections (one per turn), are not held up. Not a trusted proxy's connection:
   * it carries other clients too. After the answer is out, since finishing it resumes the socket.
   */
  private pauseUntil(req: IncomingMessage, res: ServerResponse, until: number): void {
    const socket = req.socket;
    const peer = socket.remoteAddress;
    if (peer === undefined || this.addresses.isTrustedProxy(peer)) return;
    res.once('finish', () =>
      setImmediate(() => {
        if (socket.destroyed) return;
        socket.pause();
        // Spread over half a second, so that a flood's connections do not all come back in the same turn.
        setTimeout(() => socket.resume(), Math.max(0, until - performance.now()) + Math.random() * (SHED_FOR_MS / 2)).unref();
      }),
    );
  }

  /** Forgets clients whose refusals are old news. */
  sweep(now: number): void {
    for (const [group, r] of this.clients) {
      if (now - r.windowStart > REFUSAL_WINDOW_MS && now - r.shedUntil > QUIET_MS) this.clients.delete(group);
    }
  }

  private noteRefusal(req: IncomingMessage, now: number): void {
    const group = this.groupOf(req);
    if (group === undefined) return;
    let r = this.clients.get(group);
    if (r === undefined) {
      if (this.clients.size >= MAX_TRACKED) this.clients.delete(this.clients.keys().next().value!);
      this.clients.set(group, (r = { count: 0, windowStart: now, shedUntil: -Infinity, loggedAt: -Infinity }));
    }
    if (now - r.windowStart > REFUSAL_WINDOW_MS) {
      r.count = 0;
      r.windowStart = now;
    }
    r.count += 1;
    if (r.count < SHED_AFTER_REFUSALS) return;
    r.shedUntil = now + SHED_FOR_MS;
    r.count = 0;
    r.windowStart = r.shedUntil; // the next window opens when the shedding ends
    if (now - r.loggedAt < QUIET_MS) return;
    r.loggedAt = now;
    const notice: GatewayNotice = { kind: 'rate_limited', message: `${group} is being shed: ${SHED_AFTER_REFUSALS} of its requests got 429 within ${REFUSAL_WINDOW_MS / 1000} s, so its requests are refused unread for ${SHED_FOR_MS / 1000} s at a time while it goes on (not logged again for this address within ${QUIET_MS / 1000} s)`, at: Date.now() };
    this.log.warn({ address: group }, `gateway: ${notice.message}`);
    this.events.emit('notice', notice);
  }

  /** The client group of the request; undefined for a trusted proxy's own requests (it carries many clients). */
  private groupOf(req: IncomingMessage): string | undefined {
    const address = clientAddress(req);
    return this.addresses.isTrustedProxy(address) ? undefined : addressGroup(address);
  }
}
