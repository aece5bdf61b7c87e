import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nanoid } from 'nanoid';
import { secretDigest } from '../gateway/secret-digest.ts';
import { writePrivateJson } from './private-json-file.ts';
import { StartRefused } from './ownership.ts';

// The gateway's bearer token. nanoid(32) carries 190 bits. Stored in <stateDir>/token.json, mode 0600,
// reused on the next start; rotation keeps the previous token valid until its grace period ends.
// A token from the environment (VALID_TOKEN) must be strong, and never replaces the stored one
// silently: `up` refuses until the operator unsets it or rotates (`npm run token -- --rotate`).

/** The least a token must carry: no rate of guessing gets anywhere near it, lockout or not. */
export const MIN_TOKEN_BITS = 128;

const CHARACTER_CLASSES = [
  { name: 'lowercase letters', pattern: /[a-z]/, size: 26 },
  { name: 'uppercase letters', pattern: /[A-Z]/, size: 26 },
  { name: 'digits', pattern: /[0-9]/, size: 10 },
  { name: 'symbols', pattern: /[!-/:-@[-`{-~]/, size: 32 }, // ASCII punctuation, space excluded
];

/** Printable ASCII without spaces: what a bearer token can be in an Authorization header, unchanged. */
const HEADER_SAFE = /^[!-~]+$/;

const classesOf = (token: string) => CHARACTER_CLASSES.filter((c) => c.pattern.test(token));

/**
 * An upper bound of the token's entropy: its length × log2 of the alphabet its character classes
 * span (a random nanoid(32): 32 × log2(26 + 26 + 10 + 32) ≈ 210 bits; "password123": 57).
 */
export function tokenEntropyBits(token: string): number {
  const alphabet = classesOf(token).reduce((sum, c) => sum + c.size, 0);
  return alphabet > 1 ? token.length * Math.log2(alphabet) : 0;
}

interface TokenFile {
  token: string;
  previous?: { token: string; validUntil: number };
}

/**
 * How an operator prints the token of this state dir, e.g. "`npm run token -- --state-dir /srv/fleet`
 * prints it"; --state-dir is left out where a plain `npm run token` reads the same dir.
 */
function tokenHint(stateDir: string): string {
  const isDefault = resolve(stateDir) === resolve('.state') && !process.env.FLEET_STATE_DIR;
  return isDefault ? '`npm run token` prints it' : `\`npm run token -- --state-dir ${shellWord(resolve(stateDir))}\` prints it`;
}

function shellWord(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

export class TokenStore {
  private current: Buffer;
  private previous?: { digest: Buffer; validUntil: number };
  /** For 401 messages and the banner: how to print the valid token. */
  readonly hint: string;

  private constructor(
    private file: TokenFile,
    stateDir: string,
  ) {
    this.hint = tokenHint(stateDir);
    this.current = secretDigest(file.token);
    if (file.previous) this.previous = { digest: secretDigest(file.previous.token), validUntil: file.previous.validUntil };
  }

  get token(): string {
    return this.file.token;
  }

  /** Constant-time check of a presented token against the current one and, in its grace period, the previous one. */
  verify(presented: Buffer): boolean {
    // Both comparisons always run, so timing says nothing about which one matched.
    const matchesCurrent = timingSafeEqual(presented, this.current);
    const matchesPrevious = this.previous ? timingSafeEqual(presented, this.previous.digest) && Date.now() < this.previous.validUntil : false;
    return matchesCurrent || matchesPrevious;
  }

  static path(stateDir: string): string {
    return join(stateDir, 'token.json');
  }

  /**
   * Loads the stored token, or creates one. A token given by the caller (VALID_TOKEN in the
   * environment) must be strong; it is stored when there is none yet (so `npm run token` prints what
   * the gateway accepts) and must be the stored one otherwise. Refusals (StartRefused) write nothing.
   */
  static async open(stateDir: string, given?: string): Promise<TokenStore> {
    let file = await readTokenFile(stateDir);
    if (given) {
      refuseWeak(given, stateDir);
      if (file) refuseOther(given, file, stateDir);
      else file = { token: given };
    }
    if (!file) file = { token: nanoid(32) };
    await writeTokenFile(stateDir, file);
    return new TokenStore(file, stateDir);
  }

  /** The stored token, read only (a gateway replica serves `up`'s and never makes one); undefined when there is none. */
  static async existing(stateDir: string): Promise<TokenStore | undefined> {
    const file = await readTokenFile(stateDir);
    return file && new TokenStore(file, stateDir);
  }

  /** Makes a new token; the old one keeps working for graceMs. */
  static async rotate(stateDir: string, graceMs: number): Promise<TokenStore> {
    const old = await readTokenFile(stateDir);
    const file: TokenFile = { token: nanoid(32), previous: old ? { token: old.token, validUntil: Date.now() + graceMs } : undefined };
    await writeTokenFile(stateDir, file);
    return new TokenStore(file, stateDir);
  }

  /** Re-reads the file (after `npm run token -- --rotate` from another process). */
  async reload(stateDir: string): Promise<void> {
    const file = await readTokenFile(stateDir);
    if (!file) return;
    this.file = file;
    this.current = secretDigest(file.token);
    this.previous = file.previous ? { digest: secretDigest(file.previous.token), validUntil: file.previous.validUntil } : undefined;
  }
}

/** `npm run token -- [--rotate] --state-dir DIR`, for the messages below. */
function tokenCommand(stateDir: string, options: { rotate?: boolean; silent?: boolean } = {}): string {
  return `npm run ${options.silent ? '-s ' : ''}token -- ${options.rotate ? '--rotate ' : ''}--state-dir ${shellWord(resolve(stateDir))}`;
}

function refuseWeak(given: string, stateDir: string): void {
  if (!HEADER_SAFE.test(given)) {
    throw new StartRefused('VALID_TOKEN must be printable ASCII without spaces: it travels in the Authorization header. Make one with `openssl rand -base64 24`. Nothing was started.');
  }
  const bits = tokenEntropyBits(given);
  if (bits >= MIN_TOKEN_BITS) return;
  const classes = classesOf(given).map((c) => c.name);
  const what = `${given.length} character${given.length === 1 ? '' : 's'} of ${classes.length > 1 ? `${classes.slice(0, -1).join(', ')} and ${classes.at(-1)}` : classes[0]}`;
  throw new StartRefused(
    `VALID_TOKEN is too weak: ${what} carr${given.length === 1 ? 'ies' : 'y'} at most ${Math.floor(bits)} bits; at least ${MIN_TOKEN_BITS} are needed. ` +
      `Make a strong one with \`openssl rand -base64 24\`, or unset VALID_TOKEN and let up generate one (\`${tokenCommand(stateDir, { rotate: true })}\` makes a new one whenever you want). Nothing was started.`,
  );
}

/** A given token must be the stored one: replacing it would lock out the clients that use it. */
function refuseOther(given: string, file: TokenFile, stateDir: string): void {
  const presented = secretDigest(given);
  if (timingSafeEqual(presented, secretDigest(file.token))) return;
  const path = TokenStore.path(resolve(stateDir));
  if (file.previous && timingSafeEqual(presented, secretDigest(file.previous.token))) {
    const until = new Date(file.previous.validUntil).toISOString();
    const grace = file.previous.validUntil > Date.now() ? `it keeps working until ${until}` : `its grace period ended at ${until}`;
    throw new StartRefused(`VALID_TOKEN is the token rotated out of ${path} (${grace}); export the current one: \`export $(${tokenCommand(stateDir, { silent: true })})\`. Nothing was started or changed.`);
  }
  throw new StartRefused(
    `VALID_TOKEN differs from the token stored in ${path}, which clients may be using; up never replaces it silently. ` +
      `Unset VALID_TOKEN to serve the stored one (\`${tokenCommand(stateDir)}\` prints it), ` +
      `or replace it with \`${tokenCommand(stateDir, { rotate: true })}\` (the stored one keeps working for an hour, or --grace SECONDS) and export the new one. ` +
      `To serve this VALID_TOKEN instead, remove ${path} first (clients using the stored token then get 401). Nothing was started or changed.`,
  );
}

async function readTokenFile(stateDir: string): Promise<TokenFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(TokenStore.path(stateDir), 'utf8')) as TokenFile;
    return typeof parsed.token === 'string' && parsed.token.length >= 16 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function writeTokenFile(stateDir: string, file: TokenFile): Promise<void> {
  return writePrivateJson(TokenStore.path(stateDir), file);
}
