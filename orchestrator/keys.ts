import { timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { customAlphabet } from 'nanoid';
import { secretDigest } from '../gateway/secret-digest.ts';
import type { Caller, KeyLimits, KeyMatch, KeyVerifier } from '../gateway/types.ts';

// Named API keys besides the operator's token, in <stateDir>/keys.json (mode 0600). Only the sha256
// of a key is stored; the plain key is printed once by `keys add`/`rotate` and never written. The
// running gateway re-reads the file when it changes (Fleet.watch), so adding, revoking and rotating
// need no restart. A rotated key's previous hash keeps working until its grace period ends.

/** Recognisable in logs and secret scanners: "tgf_" + 32 characters of 62 (190 bits). */
export const KEY_PREFIX = 'tgf_';
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const newSecret = customAlphabet(ALPHABET, 32);

export const KEY_NAME = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

export interface StoredKey {
  name: string;
  /** sha256 of the key, hex. */
  hash: string;
  /** Model name patterns; absent: every model. */
  models?: string[];
  limits: KeyLimits;
  createdAt: number;
  expiresAt?: number;
  revokedAt?: number;
  /** The hash rotated out, valid until validUntil. */
  previous?: { hash: string; validUntil: number };
  rotatedAt?: number;
}

interface KeysFile {
  keys: StoredKey[];
}

export function keysPath(stateDir: string): string {
  return join(stateDir, 'keys.json');
}

export async function readKeys(stateDir: string): Promise<StoredKey[]> {
  let text: string;
  try {
    text = await readFile(keysPath(stateDir), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = JSON.parse(text) as KeysFile;
  if (!Array.isArray(parsed.keys)) throw new Error(`${keysPath(stateDir)} has no "keys" list; fix or remove the file (its keys then stop working)`);
  return parsed.keys;
}

export async function writeKeys(stateDir: string, keys: StoredKey[]): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = keysPath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify({ keys } satisfies KeysFile, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

/** A new key and the hash to store for it. */
export function newKey(): { key: string; hash: string } {
  const key = KEY_PREFIX + newSecret();
  return { key, hash: secretDigest(key).toString('hex') };
}

interface LoadedKey {
  stored: StoredKey;
  caller: Caller;
  current: Buffer;
  previous?: Buffer;
}

/** The gateway's view of keys.json: checks presented keys against every stored hash in constant time. */
export class KeyStore implements KeyVerifier {
  private keys: LoadedKey[] = [];

  private constructor(private readonly stateDir: string) {}

  static async open(stateDir: string, onError?: (message: string) => void): Promise<KeyStore> {
    const store = new KeyStore(stateDir);
    await store.reload(onError);
    return store;
  }

  /** Re-reads keys.json; an unreadable file keeps the keys loaded before (and says why). */
  async reload(onError: (message: string) => void = () => {}): Promise<void> {
    let stored: StoredKey[];
    try {
      stored = await readKeys(this.stateDir);
    } catch (error) {
      onError(`${keysPath(this.stateDir)} could not be read (${(error as Error).message}); the keys loaded before stay in force`);
      return;
    }
    this.keys = stored.map((k) => ({
      stored: k,
      caller: { name: k.name, operator: false, models: k.models, limits: k.limits ?? {} },
      current: Buffer.from(k.hash, 'hex'),
      previous: k.previous ? Buffer.from(k.previous.hash, 'hex') : undefined,
    }));
  }

  identify(presented: Buffer): KeyMatch | undefined {
    const now = Date.now();
    let match: KeyMatch | undefined;
    // Every stored hash is compared, so timing says nothing about which key (if any) matched.
    for (const k of this.keys) {
      const current = k.current.length === presented.length && timingSafeEqual(presented, k.current);
      const previous = k.previous !== undefined && k.previous.length === presented.length && timingSafeEqual(presented, k.previous);
      if (!current && !previous) continue;
      const { stored } = k;
      if (stored.revokedAt !== undefined) match = { refused: 'revoked', name: stored.name, at: stored.revokedAt };
      else if (stored.expiresAt !== undefined && stored.expiresAt <= now) match = { refused: 'expired', name: stored.name, at: stored.expiresAt };
      else if (current) match = { caller: k.caller };
      else if (stored.previous!.validUntil > now) match = { caller: k.caller };
      else match = { refused: 'rotated', name: stored.name, at: stored.previous!.validUntil };
    }
    return match;
  }
}
