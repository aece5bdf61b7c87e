import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal values always give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * sha256 over what a driver sends to make an instance (Docker's create options, a process's argv and
 * env). Only a change that reaches the server changes it, so only such a change restarts the server.
 */
export function instanceHash(sent: unknown): string {
  return createHash('sha256').update(canonicalJson(sent)).digest('hex');
}
