import { readFileSync, unlinkSync } from 'node:fs';
import { chmod, link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { log } from './log.ts';

// A fleet owns its containers exclusively, and a state dir (token, gateway.json, logs) belongs to one
// `up`. Both are held as lock files created with O_EXCL: one per fleet in a host-wide folder (Docker
// containers are host-wide), one in the state dir. A lock whose process is gone is stale and taken over.

/** What a lock file holds: enough to name the running `up` and to stop it. */
export interface LockHolder {
  pid: number;
  fleet: string;
  /** The gateway port (the one asked for until it listens). */
  port: number;
  /** Absolute path of its models.yaml. */
  config: string;
  stateDir: string;
  startedAt: string;
}

/** `up`'s refusal to start because someone else owns what it needs; the message says how to proceed. */
export class StartRefused extends Error {}

export function lockDir(): string {
  return resolve(process.env.FLEET_LOCK_DIR || '/tmp/tgi-fleet-locks');
}

export function fleetLockFile(fleet: string): string {
  return join(lockDir(), `${fleet}.json`);
}

export function stateDirLockFile(stateDir: string): string {
  return join(stateDir, 'up.lock');
}

/** Whether the process that wrote a lock still runs. Our own pid is a leftover (a restarted container reuses pids). */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The holder of a lock file whose process still runs; undefined when there is none or it is stale. */
export async function liveHolder(file: string): Promise<LockHolder | undefined> {
  const found = await readLock(file).catch(() => undefined);
  return found && found !== 'unreadable' && isAlive(found.holder.pid) ? found.holder : undefined;
}

/** Every fleet whose `up` runs on this host (from the lock folder). */
export async function runningFleets(): Promise<LockHolder[]> {
  const names = await readdir(lockDir()).catch(() => [] as string[]);
  const holders = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => liveHolder(join(lockDir(), n))));
  return holders.filter((h): h is LockHolder => h !== undefined).sort((a, b) => a.fleet.localeCompare(b.fleet));
}

export function describeHolder(h: LockHolder): string {
  return `pid ${h.pid}, gateway port ${h.port}, config ${h.config}, state dir ${h.stateDir}, since ${h.startedAt}`;
}

/** Why the gateway cannot listen on `port`, naming the fleet whose gateway has it when the locks say so. */
export async function portInUse(port: number): Promise<StartRefused> {
  const holder = (await runningFleets()).find((h) => h.port === port && h.pid !== process.pid);
  const by = holder ? `by the gateway of fleet "${holder.fleet}" (${describeHolder(holder)})` : `by another program (\`ss -ltnp 'sport = :${port}'\` shows which)`;
  return new StartRefused(`port ${port} is in use ${by}; use --port, e.g. \`npm run up -- --port ${port === 65535 ? port - 1 : port + 1}\`, or set gateway.port. Nothing was started or changed.`);
}

/** The locks this `up` holds: its fleet's and its state dir's. */
export class Ownership {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(
    private holder: LockHolder,
    private readonly files: string[],
  ) {
    // Best effort for every way out (process.exit after a signal, a crash): the pid check covers the rest.
    process.on('exit', this.onExit);
  }

  /** Takes the fleet's lock, then the state dir's; refuses (StartRefused) while a live `up` holds either. */
  static async claim(holder: LockHolder): Promise<Ownership> {
    const fleetFile = fleetLockFile(holder.fleet);
    await ensureLockDir();
    await claimFile(fleetFile, holder, (other) =>
      `fleet "${holder.fleet}" is already running (${describeHolder(other)}). Stop it first (\`kill ${other.pid}\` stops its gateway and keeps its containers for the next up; \`npm run down -- --fleet ${holder.fleet}\` also removes them), or run this one as another fleet: \`npm run up -- --fleet NAME\`. Nothing was started or changed.`);
    try {
      await mkdir(holder.stateDir, { recursive: true, mode: 0o700 });
      await claimFile(stateDirLockFile(holder.stateDir), holder, (other) =>
        `state dir ${holder.stateDir} is in use by fleet "${other.fleet}" (${describeHolder(other)}); two gateways cannot share a token and a gateway.json. Stop that one first (\`kill ${other.pid}\`), or give this one its own: \`--state-dir DIR\`. Nothing was started or changed.`);
    } catch (error) {
      releaseFiles([fleetFile], holder);
      throw error;
    }
    return new Ownership(holder, [fleetFile, stateDirLockFile(holder.stateDir)]);
  }

  /** Rewrites both locks (the port once the gateway listens, when it was 0). */
  async update(changes: Partial<Pick<LockHolder, 'port'>>): Promise<void> {
    this.holder = { ...this.holder, ...changes };
    await Promise.all(this.files.map((file) => writeFile(file, lockText(this.holder))));
  }

  /** Removes the locks that are still ours; synchronous so it can run in an 'exit' handler. */
  release(): void {
    if (this.released) return;
    this.released = true;
    process.off('exit', this.onExit);
    releaseFiles(this.files, this.holder);
  }
}

function lockText(holder: LockHolder): string {
  return JSON.stringify(holder, null, 2) + '\n';
}

async function ensureLockDir(): Promise<void> {
  const dir = lockDir();
  try {
    const created = await mkdir(dir, { recursive: true });
    // Shared by every user of the host, like /tmp: anyone may add a lock, only its owner remove it.
    if (created) await chmod(dir, 0o1777).catch(() => undefined);
  } catch (error) {
    throw new StartRefused(`cannot create the fleet lock folder ${dir}: ${(error as Error).message}; set FLEET_LOCK_DIR to a folder this user can write`);
  }
}

type ReadLock = { holder: LockHolder; text: string } | 'unreadable' | undefined;

async function readLock(file: string): Promise<ReadLock> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const holder = JSON.parse(text) as LockHolder;
    return typeof holder.pid === 'number' ? { holder, text } : 'unreadable';
  } catch {
    return 'unreadable';
  }
}

async function claimFile(file: string, holder: LockHolder, conflict: (other: LockHolder) => string): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      await writeFile(file, lockText(holder), { flag: 'wx' });
      return;
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code !== 'EEXIST') throw new StartRefused(`cannot create the lock ${file}: ${message}; make its folder writable for this user${file.startsWith(lockDir()) ? ', or set FLEET_LOCK_DIR to one that is' : ''}`);
    }
    let found = await readLock(file);
    if (found === 'unreadable') {
      // Created a moment ago and not written yet, or left half-written by a crash: look once more.
      await new Promise((r) => setTimeout(r, 100));
      found = await readLock(file);
    }
    if (found === undefined) continue;
    if (found !== 'unreadable' && isAlive(found.holder.pid)) throw new StartRefused(conflict(found.holder));
    const stale = found === 'unreadable' ? 'it is unreadable' : `pid ${found.holder.pid} (fleet "${found.holder.fleet}", started ${found.holder.startedAt}) is no longer running`;
    log.warn(`taking over the stale lock ${file}: ${stale}`);
    await removeStale(file, found === 'unreadable' ? undefined : found.text);
  }
  throw new StartRefused(`could not take the lock ${file}: it kept changing. Is another \`up\` starting at the same moment? Try again.`);
}

/**
 * Moves the stale lock aside and deletes it, unless what was moved is not the stale one (another `up`
 * took it over in between): that one is put back, and the next attempt sees it.
 */
async function removeStale(file: string, staleText: string | undefined): Promise<void> {
  const aside = `${file}.stale-${process.pid}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const moved = await readLock(aside);
  const isTheStaleOne = staleText === undefined ? moved === 'unreadable' : moved !== undefined && moved !== 'unreadable' && moved.text === staleText;
  if (!isTheStaleOne) await link(aside, file).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function releaseFiles(files: string[], holder: LockHolder): void {
  for (const file of files) {
    try {
      const current = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
      if (current.pid === holder.pid && current.startedAt === holder.startedAt) unlinkSync(file);
    } catch {
      // gone already, or taken over: not ours to remove
    }
  }
}
