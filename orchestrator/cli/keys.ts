import { access, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeyLimits } from '../../gateway/types.ts';
import { resolveConfigPath } from '../config/expand.ts';
import { readAllUsage } from '../key-usage.ts';
import { KEY_NAME, keysFileOf, keysPath, newKey, readKeys, writeKeys, type StoredKey } from '../keys.ts';
import { parseServedView, servedViewPath } from '../served-view.ts';
import { peekGatewayText } from './config-peek.ts';
import { DEFAULT_CONFIG, shellWord, stateDirOf } from './options.ts';
import { formatDuration, renderTable } from './table.ts';

// `npm run keys -- add|set|list|revoke|rotate`: named API keys in the keys file `up` uses:
// gateway.keys_file of its models.yaml when it sets one, else <state dir>/keys.json. A running gateway
// picks every change up within a second (it watches the file); nothing is restarted.

/** Which fleet's keys: its state dir (usage totals) and models.yaml (gateway.keys_file). */
export interface KeysOptions {
  stateDir?: string;
  config?: string;
}

export interface AddOptions extends KeysOptions {
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

/** The keys file acted on, and the flags that name it again in a hint. */
interface KeysTarget {
  file: string;
  stateDir: string;
  flags: string;
}

/**
 * The keys file, where the fleet reads: with --config, its gateway.keys_file (relative to its folder);
 * without, the file the state dir's `up` published that it reads (served.json), else the keys_file of
 * ./models.yaml; and <state dir>/keys.json where none is named.
 */
async function keysTarget(options: KeysOptions): Promise<KeysTarget> {
  const stateDir = stateDirOf(options.stateDir);
  const flags = [options.stateDir !== undefined && `--state-dir ${shellWord(stateDir)}`, options.config !== undefined && `--config ${shellWord(options.config)}`].filter(Boolean).join(' ');
  const published = await publishedKeysFile(stateDir);
  if (options.config === undefined && published) return { file: published, stateDir, flags };
  const config = options.config ?? DEFAULT_CONFIG;
  if (options.config !== undefined && !(await access(config).then(() => true, () => false))) {
    throw new Error(`--config ${config}: no such file; name the models.yaml the fleet's \`up\` runs (its gateway.keys_file says where the keys are)`);
  }
  const peeked = await peekGatewayText(config, 'keys_file');
  if (peeked && 'problem' in peeked) throw new Error(`${peeked.problem}, so where the keys are kept is unknown; fix it (\`npm run validate -- --config ${shellWord(config)}\` says how) and run this again`);
  const file = peeked ? resolveConfigPath(peeked.value, dirname(config)) : keysPath(stateDir);
  if (published && published !== file) console.error(`note: the fleet's up in ${stateDir} reads its API keys from ${published}; this acts on ${file} (gateway.keys_file of ${config}), which it reads only once its models.yaml names it`);
  return { file, stateDir, flags };
}

/** The keys file of the `up` that last published served.json in the state dir, if one did. */
async function publishedKeysFile(stateDir: string): Promise<string | undefined> {
  const file = servedViewPath(stateDir);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const view = text === undefined ? undefined : parseServedView(text, file);
  return view && typeof view === 'object' ? keysFileOf(view.settings, stateDir) : undefined;
}

const keysCommand = (target: KeysTarget) => `npm run keys -- list${target.flags ? ` ${target.flags}` : ''}`;

function refuseBadName(name: string): void {
  if (!KEY_NAME.test(name)) throw new Error(`key name "${name}" is not valid: use lowercase letters, digits and single dashes (e.g. team-a)`);
  if (name === 'operator') throw new Error('"operator" names the gateway token (VALID_TOKEN) in metrics and usage; choose another key name');
}

function findKey(keys: StoredKey[], name: string, target: KeysTarget): StoredKey {
  const key = keys.find((k) => k.name === name);
  if (!key) throw new Error(`no key named "${name}" in ${target.file}; \`${keysCommand(target)}\` shows the keys there`);
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

/** --models as a list of patterns; undefined when not given. */
function modelsOf(option: string | undefined): string[] | undefined {
  const models = option?.split(',').map((m) => m.trim()).filter(Boolean);
  if (models && !models.length) throw new Error('--models needs at least one model name or pattern, e.g. --models \'hermes-*,llava-*\'');
  return models;
}

/** Sets on `key` what the options give: scope, limits, expiry (from now). */
function applyOptions(key: StoredKey, options: AddOptions, now: number): void {
  const models = modelsOf(options.models);
  if (models) key.models = models;
  const limits: KeyLimits = (key.limits ??= {});
  if (options.rps !== undefined) limits.requestsPerSecond = options.rps;
  if (options.burst !== undefined) limits.burst = options.burst;
  if (options.tpm !== undefined) limits.tokensPerMinute = options.tpm;
  if (options.maxConcurrent !== undefined) limits.maxConcurrent = options.maxConcurrent;
  if (options.expires !== undefined) key.expiresAt = now + parseKeyDuration(options.expires, '--expires');
  if (limits.burst !== undefined && limits.requestsPerSecond === undefined) throw new Error('--burst needs --rps: the burst is the size of a bucket that refills at --rps');
}

export function addKey(name: string, options: AddOptions): Promise<number> {
  return run(async () => {
    refuseBadName(name);
    const target = await keysTarget(options);
    const keys = await readKeys(target.file);
    if (keys.some((k) => k.name === name)) throw new Error(`a key named "${name}" exists already; change it (\`npm run keys -- set ${name} …\`), rotate it (\`npm run keys -- rotate ${name}\`) or choose another name`);
    const now = Date.now();
    const { key, hash } = newKey();
    const stored: StoredKey = { name, hash, limits: {}, createdAt: now };
    applyOptions(stored, options, now);
    await writeKeys(target.file, [...keys, stored]);
    console.log(`API_KEY=${key}`);
    console.error(`key "${name}" added to ${target.file}; this is the only time it is shown (only its hash is stored). A running gateway accepts it within a second.`);
  });
}

/** A key's settings as `keys set` names them: the option that gives each a value, and how --unset takes it away. */
const KEY_SETTINGS = {
  models: { option: 'models', unset: (k: StoredKey) => delete k.models },
  rps: { option: 'rps', unset: (k: StoredKey) => (delete k.limits.requestsPerSecond, delete k.limits.burst) },
  burst: { option: 'burst', unset: (k: StoredKey) => delete k.limits.burst },
  tpm: { option: 'tpm', unset: (k: StoredKey) => delete k.limits.tokensPerMinute },
  'max-concurrent': { option: 'maxConcurrent', unset: (k: StoredKey) => delete k.limits.maxConcurrent },
  expires: { option: 'expires', unset: (k: StoredKey) => delete k.expiresAt },
} as const satisfies Record<string, { option: keyof AddOptions; unset: (k: StoredKey) => unknown }>;
type KeySetting = keyof typeof KEY_SETTINGS;
const isKeySetting = (name: string): name is KeySetting => name in KEY_SETTINGS;

export interface SetOptions extends AddOptions {
  /** Comma-separated: models, rps, burst, tpm, max-concurrent, expires. */
  unset?: string;
}

/** Changes a key's scope, limits or expiry in place: the key's value (what its tenant holds) stays. */
export function setKey(name: string, options: SetOptions): Promise<number> {
  return run(async () => {
    const named = options.unset?.split(',').map((u) => u.trim()).filter(Boolean) ?? [];
    const unknown = named.filter((u) => !isKeySetting(u));
    if (unknown.length) throw new Error(`--unset ${unknown.join(',')}: not a setting of a key; choose from ${Object.keys(KEY_SETTINGS).join(', ')}`);
    const unset = named as KeySetting[];
    const given = (Object.keys(KEY_SETTINGS) as KeySetting[]).filter((s) => options[KEY_SETTINGS[s].option] !== undefined);
    const both = unset.filter((u) => given.includes(u));
    if (both.length) throw new Error(`--unset ${both.join(',')} and --${both[0]} together: give the setting a value or unset it, not both`);
    if (!unset.length && !given.length) {
      throw new Error('nothing to change: give --models, --rps, --burst, --tpm, --max-concurrent or --expires a new value, or --unset some of them');
    }
    const target = await keysTarget(options);
    const keys = await readKeys(target.file);
    const key = findKey(keys, name, target);
    if (key.revokedAt !== undefined) throw new Error(`key "${name}" is revoked; add a new one instead (\`npm run keys -- add NAME\`)`);
    key.limits ??= {};
    for (const u of unset) KEY_SETTINGS[u].unset(key);
    applyOptions(key, options, Date.now());
    await writeKeys(target.file, keys);
    console.error(`key "${name}" changed in ${target.file}: models ${key.models?.join(',') ?? '*'}, ${limitsText(key.limits)}, ${key.expiresAt === undefined ? 'no expiry' : `expires ${new Date(key.expiresAt).toISOString()}`}; a running gateway applies it within a second, and the key's value is unchanged`);
  });
}

export function revokeKey(name: string, options: KeysOptions): Promise<number> {
  return run(async () => {
    const target = await keysTarget(options);
    const keys = await readKeys(target.file);
    const key = findKey(keys, name, target);
    if (key.revokedAt !== undefined) {
      console.error(`key "${name}" was revoked already, on ${new Date(key.revokedAt).toISOString()}`);
      return;
    }
    key.revokedAt = Date.now();
    await writeKeys(target.file, keys);
    console.error(`key "${name}" revoked in ${target.file}; a running gateway refuses it within a second`);
  });
}

export function rotateKey(name: string, options: KeysOptions & { grace?: string }): Promise<number> {
  return run(async () => {
    const graceMs = options.grace !== undefined ? parseKeyDuration(options.grace, '--grace') : 3_600_000;
    const target = await keysTarget(options);
    const keys = await readKeys(target.file);
    const key = findKey(keys, name, target);
    if (key.revokedAt !== undefined) throw new Error(`key "${name}" is revoked; add a new one instead (\`npm run keys -- add NAME\`)`);
    const now = Date.now();
    const fresh = newKey();
    key.previous = { hash: key.hash, validUntil: now + graceMs };
    key.hash = fresh.hash;
    key.rotatedAt = now;
    await writeKeys(target.file, keys);
    console.log(`API_KEY=${fresh.key}`);
    console.error(`key "${name}" rotated: the previous key keeps working for ${formatDuration(graceMs)}; this is the only time the new one is shown`);
  });
}

export function listKeys(options: KeysOptions): Promise<number> {
  return run(async () => {
    const target = await keysTarget(options);
    const [keys, usage] = await Promise.all([readKeys(target.file), readAllUsage(target.stateDir)]);
    const now = Date.now();
    const date = (ms?: number) => (ms === undefined ? '-' : new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z'));
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
      ...keys.map((k) => row(k.name, k.models?.join(',') ?? '*', limitsText(k.limits ?? {}), date(k.createdAt), date(k.expiresAt), state(k))),
    ];
    console.log(renderTable(['NAME', 'MODELS', 'LIMITS', 'CREATED', 'EXPIRES', 'STATE', 'LAST USED', 'REQUESTS', 'PROMPT TOKENS', 'GENERATED TOKENS'], rows));
    if (!keys.length) console.error(`no API keys in ${target.file} yet; \`npm run keys -- add NAME${target.flags ? ` ${target.flags}` : ''}\` makes one`);
    console.error(`keys from ${target.file}; usage totals are saved by the running gateways every 10 s and when they stop`);
  });
}

/** A key's limits as `keys list` shows them, e.g. "rps=5 burst=10 tpm=20000". */
function limitsText(l: KeyLimits): string {
  return (
    [l.requestsPerSecond !== undefined && `rps=${l.requestsPerSecond}`, l.burst !== undefined && `burst=${l.burst}`, l.tokensPerMinute !== undefined && `tpm=${l.tokensPerMinute}`, l.maxConcurrent !== undefined && `max-concurrent=${l.maxConcurrent}`]
      .filter(Boolean)
      .join(' ') || 'gateway limits'
  );
}
