import type { KeyLimits } from '../../gateway/types.ts';
import { readAllUsage } from '../key-usage.ts';
import { KEY_NAME, keysPath, newKey, readKeys, writeKeys, type StoredKey } from '../keys.ts';
import { shellWord, stateDirOf } from './options.ts';
import { formatDuration, renderTable } from './table.ts';

// `npm run keys -- add|list|revoke|rotate`: named API keys in <stateDir>/keys.json. A running gateway
// picks every change up within a second (it watches the file); nothing is restarted.

export interface AddOptions {
  stateDir?: string;
  models?: string;
  rps?: number;
  burst?: number;
  tpm?: number;
  maxConcurrent?: number;
  expires?: string;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `15m`, `1h`, `30d` → milliseconds. */
export function parseKeyDuration(value: string, option: string): number {
  const match = DURATION.exec(value.trim());
  if (!match) throw new Error(`${option} must be a number with a unit (ms, s, m, h, d), e.g. 30d or 1h, not "${value}"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]]);
}

/** A positive number for --rps, --tpm and the like. */
export function parsePositive(value: string, option: string, { whole = false } = {}): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (whole && !Number.isInteger(n))) throw new Error(`${option} must be a ${whole ? 'whole ' : ''}number above 0, not "${value}"`);
  return n;
}

const keysCommand = (stateDir: string) => `npm run keys -- list --state-dir ${shellWord(stateDir)}`;

function refuseBadName(name: string): void {
  if (!KEY_NAME.test(name)) throw new Error(`key name "${name}" is not valid: use lowercase letters, digits and single dashes (e.g. team-a)`);
  if (name === 'operator') throw new Error('"operator" names the gateway token (VALID_TOKEN) in metrics and usage; choose another key name');
}

function findKey(keys: StoredKey[], name: string, stateDir: string): StoredKey {
  const key = keys.find((k) => k.name === name);
  if (!key) throw new Error(`no key named "${name}" in ${keysPath(stateDir)}; \`${keysCommand(stateDir)}\` shows the keys there`);
  return key;
}

async function run(action: () => Promise<void>): Promise<number> {
  try {
    await action();
    return 0;
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
}

export function addKey(name: string, options: AddOptions): Promise<number> {
  return run(async () => {
    refuseBadName(name);
    const stateDir = stateDirOf(options.stateDir);
    if (options.burst !== undefined && options.rps === undefined) throw new Error('--burst needs --rps: the burst is the size of a bucket that refills at --rps');
    const keys = await readKeys(stateDir);
    if (keys.some((k) => k.name === name)) throw new Error(`a key named "${name}" exists already; rotate it (\`npm run keys -- rotate ${name}\`) or choose another name`);
    const models = options.models?.split(',').map((m) => m.trim()).filter(Boolean);
    if (models && !models.length) throw new Error('--models needs at least one model name or pattern, e.g. --models \'hermes-*,llava-*\'');
    const limits: KeyLimits = {};
    if (options.rps !== undefined) limits.requestsPerSecond = options.rps;
    if (options.burst !== undefined) limits.burst = options.burst;
    if (options.tpm !== undefined) limits.tokensPerMinute = options.tpm;
    if (options.maxConcurrent !== undefined) limits.maxConcurrent = options.maxConcurrent;
    const now = Date.now();
    const { key, hash } = newKey();
    const stored: StoredKey = { name, hash, limits, createdAt: now };
    if (models) stored.models = models;
    if (options.expires !== undefined) stored.expiresAt = now + parseKeyDuration(options.expires, '--expires');
    await writeKeys(stateDir, [...keys, stored]);
    console.log(`API_KEY=${key}`);
    console.error(`key "${name}" added; this is the only time it is shown (only its hash is stored). A running gateway accepts it within a second.`);
  });
}

export function revokeKey(name: string, options: { stateDir?: string }): Promise<number> {
  return run(async () => {
    const stateDir = stateDirOf(options.stateDir);
    const keys = await readKeys(stateDir);
    const key = findKey(keys, name, stateDir);
    if (key.revokedAt !== undefined) {
      console.error(`key "${name}" was revoked already, on ${new Date(key.revokedAt).toISOString()}`);
      return;
    }
    key.revokedAt = Date.now();
    await writeKeys(stateDir, keys);
    console.error(`key "${name}" revoked; a running gateway refuses it within a second`);
  });
}

export function rotateKey(name: string, options: { stateDir?: string; grace?: string }): Promise<number> {
  return run(async () => {
    const stateDir = stateDirOf(options.stateDir);
    const graceMs = options.grace !== undefined ? parseKeyDuration(options.grace, '--grace') : 3_600_000;
    const keys = await readKeys(stateDir);
    const key = findKey(keys, name, stateDir);
    if (key.revokedAt !== undefined) throw new Error(`key "${name}" is revoked; add a new one instead (\`npm run keys -- add NAME\`)`);
    const now = Date.now();
    const fresh = newKey();
    key.previous = { hash: key.hash, validUntil: now + graceMs };
    key.hash = fresh.hash;
    key.rotatedAt = now;
    await writeKeys(stateDir, keys);
    console.log(`API_KEY=${fresh.key}`);
    console.error(`key "${name}" rotated: the previous key keeps working for ${formatDuration(graceMs)}; this is the only time the new one is shown`);
  });
}

export function listKeys(options: { stateDir?: string }): Promise<number> {
  return run(async () => {
    const stateDir = stateDirOf(options.stateDir);
    const [keys, usage] = await Promise.all([readKeys(stateDir), readAllUsage(stateDir)]);
    const now = Date.now();
    const date = (ms?: number) => (ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
    const limitsOf = (l: KeyLimits) =>
      [l.requestsPerSecond !== undefined && `rps=${l.requestsPerSecond}`, l.burst !== undefined && `burst=${l.burst}`, l.tokensPerMinute !== undefined && `tpm=${l.tokensPerMinute}`, l.maxConcurrent !== undefined && `max-concurrent=${l.maxConcurrent}`]
        .filter(Boolean)
        .join(' ') || 'gateway limits';
    const state = (k: StoredKey) => {
      if (k.revokedAt !== undefined) return `revoked ${date(k.revokedAt)}`;
      if (k.expiresAt !== undefined && k.expiresAt <= now) return 'expired';
      if (k.previous && k.previous.validUntil > now) return `rotated (old key until ${date(k.previous.validUntil)})`;
      return 'active';
    };
    const row = (name: string, scope: string, limits: string, created: string, expires: string, status: string) => {
      const u = usage[name];
      return [name, scope, limits, created, expires, status, date(u?.lastUsedAt || undefined), String(u?.requests ?? 0), String(u?.promptTokens ?? 0), String(u?.generatedTokens ?? 0)];
    };
    const rows = [
      row('operator', '*', 'gateway limits', '-', '-', 'VALID_TOKEN'),
      ...keys.map((k) => row(k.name, k.models?.join(',') ?? '*', limitsOf(k.limits ?? {}), date(k.createdAt), date(k.expiresAt), state(k))),
    ];
    console.log(renderTable(['NAME', 'MODELS', 'LIMITS', 'CREATED', 'EXPIRES', 'STATE', 'LAST USED', 'REQUESTS', 'PROMPT TOKENS', 'GENERATED TOKENS'], rows));
    if (!keys.length) console.error(`no API keys in ${keysPath(stateDir)} yet; \`npm run keys -- add NAME\` makes one`);
    console.error('usage totals are saved by the running gateway every 10 s and when it stops');
  });
}
