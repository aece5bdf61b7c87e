import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { JsonStateFile } from '../json-state-file.ts';
import { log } from '../log.ts';

// Local servers run in their own process groups, so an `up` that dies without stopping them (kill -9,
// a crash) leaves them running, holding their GPUs and ports. Each driver records its children in
// the state dir; the next `up` on that state dir stops the ones still alive before it starts anything.

interface Recorded {
  pid: number;
  /** The program, to tell our server from an unrelated process that got the same pid since. */
  program: string;
  key: string;
}

export class ChildRecords {
  private children: Record<string, Recorded> = {};
  private readonly stateFile: JsonStateFile<Record<string, Recorded>>;

  constructor(file: string) {
    this.stateFile = new JsonStateFile(file);
  }

  add(id: string, child: Recorded): void {
    this.children[id] = child;
    this.save();
  }

  delete(id: string): void {
    if (!(id in this.children)) return;
    delete this.children[id];
    this.save();
  }

  /** Stops the servers an earlier `up` recorded that still run (SIGTERM, then SIGKILL to their groups). */
  async stopLeftovers(graceMs: number): Promise<void> {
    const leftovers = Object.values(this.stateFile.read({})).filter((c) => isOurs(c));
    await Promise.all(leftovers.map(async (c) => {
      log.warn(`${c.key}: stopping its server left running by an earlier up (pid ${c.pid}), which did not stop it`);
      signal(-c.pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (alive(c.pid) && Date.now() < deadline) await sleep(100);
      signal(-c.pid, 'SIGKILL');
    }));
    this.save();
  }

  /** Resolves once every change so far is on disk. */
  flushed(): Promise<void> {
    return this.stateFile.flushed();
  }

  private save(): void {
    this.stateFile.write(this.children);
  }
}

function isOurs(c: Recorded): boolean {
  if (!alive(c.pid)) return false;
  try {
    return readFileSync(`/proc/${c.pid}/cmdline`, 'utf8').split('\0')[0] === c.program;
  } catch {
    return false; // no /proc (not Linux): leave it alone rather than signal a stranger
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

