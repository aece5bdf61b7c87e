// Tokens each API key used in the last 60 s, recorded when a request ends: per key, one slot per second
// that had any (so at most 60, however many requests a key sends) and their running total, so a check
// costs the same at 10 requests a minute as at 10,000. A slot leaves the window 60 s after the start
// of its second: tokens count for 59–60 s, as in the Redis-shared window (limits-lua.ts).

export const WINDOW_MS = 60_000;
const SLOT_MS = 1000;

interface Slot {
  /** Start of its second, ms. */
  at: number;
  tokens: number;
}

interface Window {
  slots: Slot[];
  total: number;
}

export class TokenWindows {
  private readonly windows = new Map<string, Window>();

  record(key: string, tokens: number, now: number): void {
    if (tokens <= 0) return;
    let window = this.windows.get(key);
    if (!window) this.windows.set(key, (window = { slots: [], total: 0 }));
    const at = now - (now % SLOT_MS);
    const last = window.slots[window.slots.length - 1];
    if (last?.at === at) last.tokens += tokens;
    else window.slots.push({ at, tokens });
    window.total += tokens;
  }

  /** Tokens `key` used within the window ending at `now`. */
  used(key: string, now: number): number {
    return this.pruned(key, now)?.total ?? 0;
  }

  /** Milliseconds until `key` has used fewer than `limit` tokens in the window (0 when it has now). */
  waitMs(key: string, limit: number, now: number): number {
    const window = this.pruned(key, now);
    if (!window) return 0;
    let used = window.total;
    for (const slot of window.slots) {
      if (used < limit) break;
      used -= slot.tokens;
      if (used < limit) return slot.at + WINDOW_MS - now;
    }
    return 0;
  }

  private pruned(key: string, now: number): Window | undefined {
    const window = this.windows.get(key);
    if (!window) return undefined;
    let stale = 0;
    while (stale < window.slots.length && window.slots[stale].at <= now - WINDOW_MS) window.total -= window.slots[stale++].tokens;
    if (stale) window.slots.splice(0, stale);
    if (!window.slots.length) {
      this.windows.delete(key);
      return undefined;
    }
    return window;
  }
}
