import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { customAlphabet } from 'nanoid';
import { secretDigest } from '../gateway/secret-digest.ts';
import type { Caller, KeyLimits, KeyMatch, KeyVerifier } from '../gateway/types.ts';
import { writePrivateJson } from './private-json-file.ts';

// Named API keys besides the operator's token, in <stateDir>/keys.json or the file gateway.keys_file
// names (mode 0600). Only the sha256 of a key is stored; the plain key is printed once by `keys
// add`/`rotate` and never written. The running gateways re-read the file when it changes
// (credentials-watch.ts), so adding, revoking and rotating need no restart. A rotated key's previous
// hash keeps working until its grace period ends.

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

/** Where the keys are kept when gateway.keys_file names no other file. */
export function keysPath(stateDir: string): string {
  return join(stateDir, 'keys.json');
}

/** The keys file of a fleet: gateway.keys_file when set, else <stateDir>/keys.json. */
export function keysFileOf(settings: { keysFile?: string }, stateDir: string): string {
  return settings.keysFile ?? keysPath(stateDir);
}

export async function readKeys(file: string): Promise<StoredKey[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const parsed = JSON.parse(text) as KeysFile;
  if (!Array.isArray(parsed.keys)) throw new Error(`${file} has no "keys" list; fix or remove the file (its keys then stop working)`);
  return parsed.keys;
}

/** Replaces the file (a temp file renamed over it, mode 0600), creating its folder (mode 0700) if need be. */
export async function writeKeys(file: string, keys: StoredKey[]): Promise<void> {
  try {
    await writePrivateJson(file, { keys } satisfies KeysFile);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'run `npm run keys` as a user who may write it and its folder' : 'check the path (gateway.keys_file in models.yaml, or --state-dir)';
    throw new Error(`cannot write the keys file ${file} (${message}); nothing was changed: ${why}`);
  }
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

/** The gateway's view of the keys file: checks presented keys against every stored hash in constant time. */
export class KeyStore implements KeyVerifier {
  private keys: LoadedKey[] = [];

  private constructor(
    private path: string,
    private readonly onError: (message: string) => void,
  ) {}

  /** `onError` hears why the file could not be read (the keys loaded before then stay in force). */
  static async open(file: string, onError: (message: string) => void = () => {}): Promise<KeyStore> {
    const store = new KeyStore(file, onError);
    await store.reload();
    return store;
  }

  get file(): string {
    return this.path;
  }

  /** Serves the keys of another file from now on (gateway.keys_file changed); false when it is this one. */
  async useFile(file: string): Promise<boolean> {
    if (file === this.path) return false;
    this.path = file;
    await this.reload(false);
    return true;
  }

  /**
   * Re-reads the file. An unreadable one keeps the keys loaded before from it (and says why); after a
   * switch to another file (`keepOnError` false) none: the keys of the file it replaces never apply to the new one.
   */
  async reload(keepOnError = true): Promise<void> {
    const file = this.path;
    let stored: StoredKey[];
    try {
      stored = await readKeys(file);
    } catch (error) {
      if (file !== this.path) return;
      if (!keepOnError) this.keys = [];
      this.onError(`${file} could not be read (${(error as Error).message}); ${keepOnError ? 'the keys loaded before stay in force' : 'no API key is accepted until it can be'}`);
      return;
    }
    if (file !== this.path) return; // switched to another file meanwhile
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
