import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT } from './sim.ts';

export interface RunningUp {
  url: string;
  port: number;
  token: string;
  stateDir: string;
  child: ChildProcess;
  output(): string;
  /** Resolves when a line matching the pattern has been printed (rejects after timeoutMs). */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves once GET /health answers 200 (every deployment ready). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

export interface UpOptions {
  config: string;
  /** Extra env for the orchestrator process (e.g. PATH with a stand-in nvidia-smi). */
  env?: Record<string, string>;
  stateDir?: string;
  token?: string;
  extraArgs?: string[];
  /** Gateway port (default: a free one). */
  port?: number;
}

/** Runs `up` (orchestrator/cli/main.ts) as a child process on a free port, like an operator would. */
export async function runUp(options: UpOptions): Promise<RunningUp> {
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'fleet-state-')));
  const token = options.token ?? `test-token-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/cli/main.ts'), 'up', '--config', options.config, '--port', String(port), '--state-dir', stateDir, ...(options.extraArgs ?? [])], {
    cwd: ROOT,
    env: { ...process.env, LOG_FORMAT: 'pretty', VALID_TOKEN: token, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => { out += d; for (const l of listeners) l(); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;

  const waitForOutput = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const m = out.match(pattern);
        if (m) { cleanup(); resolve(m[0]); }
      };
      const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out waiting for ${pattern}; output so far:\n${out}`)); }, timeoutMs);
      const cleanup = () => { clearTimeout(timer); listeners.delete(check); };
      listeners.add(check);
      check();
    });

  const running: RunningUp = {
    url, port, token, stateDir, child, exited, waitForOutput,
    output: () => out,
    fetch: (path, init = {}) => fetch(url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } }),
    async waitHealthy(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`up exited with ${child.exitCode}:\n${out}`);
        try {
          if ((await fetch(url + '/health')).status === 200) return;
        } catch { /* not listening yet */ }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`not healthy after ${timeoutMs} ms; output:\n${out}`);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  return running;
}
