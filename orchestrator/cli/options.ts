import { resolve } from 'node:path';
import { checkFleetName } from '../config/validate.ts';

/** Where the token, logs and gateway.json live unless --state-dir says otherwise. */
export const DEFAULT_STATE_DIR = process.env.FLEET_STATE_DIR ?? '.state';
export const DEFAULT_CONFIG = 'models.yaml';

export function stateDirOf(option: string | undefined): string {
  return resolve(option ?? DEFAULT_STATE_DIR);
}

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`--port must be a whole number from 1 to 65535, not "${value}"`);
  return port;
}

/** --fleet NAME, checked by the same rule as gateway.fleet. */
export function parseFleetName(value: string): string {
  const problem = checkFleetName(value);
  if (problem) throw new Error(`${problem.message} — hint: ${problem.hint}`);
  return value;
}

/** A path as the operator would paste it into a shell. */
export function shellWord(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}
