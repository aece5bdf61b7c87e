import type { GatewaySettings } from './types.ts';

type LockoutSettings = GatewaySettings['authLockout'];

interface FailureCount {
  failures: number;
  windowStart: number;
}

/** Where failures are also counted for the fleet's other gateways (shared-limits.ts); its lockouts come back through lockedElsewhere(). */
export interface LockoutSharing {
  recordFailure(client: string, settings: LockoutSettings, lockedHere: boolean): void;
}

/** At most this many clients are tracked (counting and locked out together), so a flood of addresses cannot grow memory. */
const MAX_TRACKED = 10_000;

/**
 * Wrong-token counts per client. A client that presents `failures` wrong tokens within `windowMs` (a
 * window that opens at its first failure) is locked out for `lockoutMs`; other clients are never
 * affected. A client is an IPv4 address or an IPv6 /64 (see addressGroup).
 *
 * Memory is bounded: when the table is full, the count of the client that failed longest ago and is
 * not locked out is forgotten. A lockout is never dropped before it ends, whatever other clients do:
 * otherwise wrong tokens from enough other addresses would unlock an attacker. When every record is a
 * lockout, a new client's failures are simply not counted. That is safe: the lockout only slows
 * guessing down, it does not make it hopeless; the token's 128 bits or more do. Filling the table
 * takes `failures` wrong tokens from each of 10,000 addresses or /64s, its lockouts end after
 * `lockoutMs`, and nobody who holds the token is refused because of it.
 */
export class AuthLockout {
  /** Clients with wrong tokens and no lockout, the one that failed longest ago first. */
  private readonly counting = new Map<string, FailureCount>();
  /** Locked-out clients and when their lockout ends, in the order they were locked out. */
  private readonly locked = new Map<string, number>();
  /** Set by the gateway when gateway.redis_url shares the counts (and lockouts) with the fleet. */
  sharing?: LockoutSharing;

  constructor(
    private readonly settings: () => LockoutSettings,
    private readonly capacity = MAX_TRACKED,
  ) {}

  /** Milliseconds the address's client stays locked out, 0 when it is not. */
  lockedFor(address: string, now: number): number {
    if (this.locked.size === 0) return 0;
    const until = this.locked.get(addressGroup(address));
    return until !== undefined && until > now ? until - now : 0;
  }

  /** Counts a wrong token; true when this failure locks the address's client out. */
  recordFailure(address: string, now: number): boolean {
    const settings = this.settings();
    const { failures, windowMs, lockoutMs } = settings;
    if (failures <= 0) return false;
    const client = addressGroup(address);
    const lockedHere = this.countFailure(client, now, failures, windowMs, lockoutMs);
    this.sharing?.recordFailure(client, settings, lockedHere);
    return lockedHere;
  }

  /** A lockout another gateway of the fleet decided (or this one, coming back through Redis): `client` for `ms`. */
  lockedElsewhere(client: string, ms: number, now: number): void {
    this.counting.delete(client);
    if (!this.locked.has(client) && !this.makeRoom(now)) return;
    const until = Math.max(this.locked.get(client) ?? 0, now + ms);
    this.locked.delete(client); // re-inserted: the map stays (roughly) ordered by when lockouts end
    this.locked.set(client, until);
  }

  private countFailure(client: string, now: number, failures: number, windowMs: number, lockoutMs: number): boolean {
    let count = this.counting.get(client);
    if (count) {
      this.counting.delete(client); // re-inserted below: the map stays ordered by last failure
      if (now - count.windowStart > windowMs) count = { failures: 0, windowStart: now };
    } else {
      this.locked.delete(client); // a lockout that has ended (a live one never gets here: its requests are refused first)
      if (!this.makeRoom(now)) return false;
      count = { failures: 0, windowStart: now };
    }
    count.failures += 1;
    if (count.failures >= failures) {
      this.locked.set(client, now + lockoutMs);
      return true;
    }
    this.counting.set(client, count);
    return false;
  }

  /** Forgets counts whose window is over and lockouts that have ended. */
  sweep(now: number): void {
    const { windowMs } = this.settings();
    for (const [client, count] of this.counting) if (now - count.windowStart > windowMs) this.counting.delete(client);
    for (const [client, until] of this.locked) if (until <= now) this.locked.delete(client);
  }

  get size(): number {
    return this.counting.size + this.locked.size;
  }

  /** Room for one more client: false when the table is full of live lockouts. */
  private makeRoom(now: number): boolean {
    if (this.size < this.capacity) return true;
    // Lockouts are kept in the order they began, so those that have ended are at the front.
    for (const [client, until] of this.locked) {
      if (until > now) break;
      this.locked.delete(client);
    }
    if (this.size < this.capacity) return true;
    const oldest = this.counting.keys().next();
    if (oldest.done) return false;
    this.counting.delete(oldest.value);
    return true;
  }
}

const IPV4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/**
 * The client an address belongs to for lockouts: an IPv4 address is itself (an IPv4-mapped IPv6
 * address `::ffff:a.b.c.d`, which a dual-stack listener sees for IPv4 clients, counts as `a.b.c.d`);
 * an IPv6 address counts as its /64, e.g. `2001:db8:1:2::/64`, since one host is usually given a
 * whole /64 and could otherwise try a fresh address for every guess.
 */
export function addressGroup(address: string): string {
  if (!address.includes(':')) return address;
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) return mapped[1];
  const prefix = firstHextets(address.split('%')[0], 4);
  while (prefix.length > 0 && prefix[prefix.length - 1] === 0) prefix.pop();
  return `${prefix.map((h) => h.toString(16)).join(':')}::/64`;
}

/** The first `n` 16-bit groups of an IPv6 address, "::" expanded (a trailing dotted quad counts as two groups). */
function firstHextets(address: string, n: number): number[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const width = (parts: string[]) => parts.reduce((sum, p) => sum + (p.includes('.') ? 2 : 1), 0);
  const before = groups(head);
  const after = groups(tail);
  const zeros = tail === undefined ? 0 : Math.max(0, 8 - width(before) - width(after));
  const all = [...before, ...Array<string>(zeros).fill('0'), ...after];
  return all.slice(0, n).map((h) => (h.includes('.') ? 0 : parseInt(h, 16) || 0));
}
