import type { GatewaySettings } from './types.ts';

type LockoutSettings = GatewaySettings['authLockout'];

interface AddressRecord {
  failures: number;
  windowStart: number;
  lockedUntil: number;
}

/** Beyond this many tracked addresses the oldest record is dropped, so a flood of addresses cannot grow memory. */
const MAX_ADDRESSES = 10_000;

/**
 * Wrong-token counts per client address. An address that presents `failures` wrong tokens within
 * `windowMs` (a window that opens at its first failure) is locked out for `lockoutMs`; other
 * addresses are never affected. Records that can no longer matter are swept away.
 */
export class AuthLockout {
  private readonly records = new Map<string, AddressRecord>();

  constructor(private readonly settings: () => LockoutSettings) {}

  /** Milliseconds the address stays locked out, 0 when it is not. */
  lockedFor(address: string, now: number): number {
    const record = this.records.get(address);
    return record && record.lockedUntil > now ? record.lockedUntil - now : 0;
  }

  /** Counts a wrong token; true when this failure locks the address out. */
  recordFailure(address: string, now: number): boolean {
    const { failures, windowMs, lockoutMs } = this.settings();
    let record = this.records.get(address);
    if (!record || now - record.windowStart > windowMs) {
      if (!record && this.records.size >= MAX_ADDRESSES) this.makeRoom(now);
      record = { failures: 0, windowStart: now, lockedUntil: record?.lockedUntil ?? 0 };
      this.records.set(address, record);
    }
    record.failures += 1;
    if (failures <= 0 || record.failures < failures) return false;
    record.lockedUntil = now + lockoutMs;
    record.failures = 0;
    record.windowStart = now;
    return true;
  }

  /** Forgets addresses whose window and lockout are both over. */
  sweep(now: number): void {
    const { windowMs } = this.settings();
    for (const [address, record] of this.records) {
      if (record.lockedUntil <= now && now - record.windowStart > windowMs) this.records.delete(address);
    }
  }

  get size(): number {
    return this.records.size;
  }

  private makeRoom(now: number): void {
    this.sweep(now);
    if (this.records.size < MAX_ADDRESSES) return;
    const oldest = this.records.keys().next().value;
    if (oldest !== undefined) this.records.delete(oldest);
  }
}
