// Tokens each API key used in the last 60 s: a sliding window of (time, tokens) entries per key,
// recorded when a request ends. A key with an entry per request holds at most a minute of them.

export const WINDOW_MS = 60_000;

interface Entry {
  at: number;
  tokens: number;
}

export class TokenWindows {
  private readonly windows = new Map<string, Entry[]>();

  record(key: string, tokens: number, now: number): void {
    if (tokens <= 0) return;
    let entries = this.windows.get(key);
    if (!entries) this.windows.set(key, (entries = []));
    entries.push({ at: now, tokens });
  }

  /** Tokens `key` used within the window ending at `now`. */
  used(key: string, now: number): number {
    return this.pruned(key, now).reduce((sum, e) => sum + e.tokens, 0);
  }

  /** Milliseconds until `key` has used fewer than `limit` tokens in the window (0 when it has now). */
  waitMs(key: string, limit: number, now: number): number {
    const entries = this.pruned(key, now);
    let used = entries.reduce((sum, e) => sum + e.tokens, 0);
    for (const entry of entries) {
      if (used < limit) break;
      used -= entry.tokens;
      if (used < limit) return entry.at + WINDOW_MS - now;
    }
    return 0;
  }

  private pruned(key: string, now: number): Entry[] {
    const entries = this.windows.get(key);
    if (!entries) return [];
    let stale = 0;
    while (stale < entries.length && entries[stale].at <= now - WINDOW_MS) stale += 1;
    if (stale) entries.splice(0, stale);
    if (!entries.length) this.windows.delete(key);
    return entries;
  }
}
