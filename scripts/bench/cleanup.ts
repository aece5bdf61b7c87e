import type { ChildProcess } from 'node:child_process';

// Everything a bench scenario starts (simulators, nginx, the gateway process, containers) is registered
// here and torn down in reverse order when the scenario ends, fails, or the bench is interrupted.

type Task = { name: string; run: () => unknown };

const activeScopes = new Set<CleanupScope>();
const liveChildren = new Set<ChildProcess>();

export class CleanupScope {
  private tasks: Task[] = [];

  add(name: string, run: () => unknown): void {
    this.tasks.push({ name, run });
  }

  /** Stops the child at the end of the scope: SIGTERM, then SIGKILL if it is still there after graceMs. */
  child(name: string, child: ChildProcess, graceMs = 3000): void {
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    this.add(name, () => stopChild(child, graceMs));
  }

  async runAll(): Promise<void> {
    for (const task of this.tasks.splice(0).reverse()) {
      try {
        await task.run();
      } catch (error) {
        console.error(`bench cleanup: ${task.name}: ${error instanceof Error ? error.message : error}`);
      }
    }
  }
}

/** Runs fn with a fresh scope whose tasks all run when fn settles, however it settles. */
export async function withCleanup<T>(fn: (scope: CleanupScope) => Promise<T>): Promise<T> {
  const scope = new CleanupScope();
  activeScopes.add(scope);
  try {
    return await fn(scope);
  } finally {
    await scope.runAll();
    activeScopes.delete(scope);
  }
}

/** For signal handlers: tears down every scope still open. */
export async function cleanupEverything(): Promise<void> {
  for (const scope of [...activeScopes].reverse()) await scope.runAll();
}

/** Last resort on process exit (synchronous): no child may outlive the bench. */
export function killLeftoverChildren(): void {
  for (const child of liveChildren) child.kill('SIGKILL');
}

export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
