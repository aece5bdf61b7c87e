// How long a failed deployment waits before it is tried again: 10 s, doubling, at most 5 minutes.
// Failures that cannot heal by themselves (health/diagnose.ts: `permanent`) wait for an edit instead.
export const RETRY_FIRST_DELAY_MS = 10_000;
export const RETRY_MAX_DELAY_MS = 5 * 60_000;

/** The wait after the n-th failed attempt in a row (n ≥ 1). */
export function retryDelayMs(failedAttempts: number, firstMs = RETRY_FIRST_DELAY_MS, maxMs = RETRY_MAX_DELAY_MS): number {
  return Math.min(maxMs, firstMs * 2 ** Math.max(0, failedAttempts - 1));
}

/** A crashed server that nothing else restarts is started again after 1 s, 2 s, 5 s, 10 s, then 30 s. */
const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];

export function restartDelayMs(recentExits: number): number {
  return RESTART_DELAYS_MS[Math.min(Math.max(recentExits, 1) - 1, RESTART_DELAYS_MS.length - 1)];
}
