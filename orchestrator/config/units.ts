// Durations and sizes as operators write them in models.yaml.

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `30s`, `500ms`, `2m`, `1h`, or a number of seconds → milliseconds; undefined when unreadable. */
export function parseDuration(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : undefined;
  const match = DURATION.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_MS[match[2] ?? 's']);
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(?:(k|m|g|t)(?:i?b)?|b)?$/;
const SIZE_POWER: Record<string, number> = { k: 1, m: 2, g: 3, t: 4 };

/**
 * `1g`, `512m`, `2mb`, `64k`, or a number of bytes → bytes; undefined when unreadable.
 * Units are binary, as in Docker's `--shm-size` (1g = 1024³ bytes, and so are `1gb` and `1gib`).
 */
export function parseSize(value: number | string): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value : undefined;
  const match = SIZE.exec(value.trim().toLowerCase());
  if (!match) return undefined;
  const power = match[2] ? SIZE_POWER[match[2]] : 0;
  return Math.round(Number(match[1]) * 1024 ** power);
}
