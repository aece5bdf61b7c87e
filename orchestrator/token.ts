import { createHash, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { nanoid } from 'nanoid';

// The gateway's bearer token. nanoid(32) carries 190 bits. Stored in <stateDir>/token.json, mode 0600,
// reused on the next start; rotation keeps the previous token valid until its grace period ends.

interface TokenFile {
  token: string;
  previous?: { token: string; validUntil: number };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

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
    this.current = digest(file.token);
    if (file.previous) this.previous = { digest: digest(file.previous.token), validUntil: file.previous.validUntil };
  }

  get token(): string {
    return this.file.token;
  }

  /** Constant-time check of a presented token against the current one and, in its grace period, the previous one. */
  verify(candidate: string): boolean {
    const presented = digest(candidate);
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
   * environment) wins and is stored, so `npm run token` prints what the gateway accepts.
   */
  static async open(stateDir: string, given?: string): Promise<TokenStore> {
    let file = await readTokenFile(stateDir);
    if (given && given !== file?.token) file = { token: given };
    if (!file) file = { token: nanoid(32) };
    await writeTokenFile(stateDir, file);
    return new TokenStore(file, stateDir);
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
    this.current = digest(file.token);
    this.previous = file.previous ? { digest: digest(file.previous.token), validUntil: file.previous.validUntil } : undefined;
  }
}

async function readTokenFile(stateDir: string): Promise<TokenFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(TokenStore.path(stateDir), 'utf8')) as TokenFile;
    return typeof parsed.token === 'string' && parsed.token.length >= 16 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function writeTokenFile(stateDir: string, file: TokenFile): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const path = TokenStore.path(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}
