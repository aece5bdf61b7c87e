// A fixed-size log-scale histogram of durations: constant memory and O(1) recording on the request
// path, quantiles good to about ±12% (bins grow by 25%), which is plenty for a dashboard.

const RATIO = 1.25;
const LOG_RATIO = Math.log(RATIO);
/** Bin i holds durations in (RATIO^(i-1), RATIO^i] ms; bin 0 holds ≤ 1 ms, the last one everything above ~5 min. */
export const BIN_COUNT = 58;

export function binOf(ms: number): number {
  if (!(ms > 1)) return 0;
  return Math.min(BIN_COUNT - 1, Math.ceil(Math.log(ms) / LOG_RATIO));
}

/** A representative duration for bin i: the geometric middle of its bounds. */
function binValue(i: number): number {
  return i === 0 ? 1 : Math.pow(RATIO, i - 0.5);
}

/** Adds `from` into `into` (same length). */
export function mergeInto(into: Uint32Array, from: Uint32Array): void {
  for (let i = 0; i < into.length; i++) into[i] += from[i];
}

/** The q-quantile (0..1) of a histogram in ms, or undefined when it is empty. */
export function quantile(bins: Uint32Array, q: number): number | undefined {
  let total = 0;
  for (const c of bins) total += c;
  if (total === 0) return undefined;
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i];
    if (seen >= rank) return binValue(i);
  }
  return binValue(bins.length - 1);
}
