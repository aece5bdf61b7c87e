/** Counts unexpected exits; too many within a window is a crash loop (default: 3 exits in 5 minutes). */
export class CrashLoopDetector {
  private exits: number[] = [];

  constructor(readonly maxExits = 3, readonly windowMs = 5 * 60_000) {}

  /** Exits within the window (as of now). */
  recent(at = Date.now()): number {
    return this.exits.filter((t) => at - t < this.windowMs).length;
  }

  /** Records an exit; true when this exit makes it a crash loop. */
  recordExit(at = Date.now()): boolean {
    this.exits = [...this.exits.filter((t) => at - t < this.windowMs), at];
    return this.exits.length >= this.maxExits;
  }

  reset(): void {
    this.exits = [];
  }
}
