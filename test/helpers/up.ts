import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nanoid } from 'nanoid';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT } from './sim.ts';

export interface RunningUp {
  url: string;
  port: number;
  token: string;
  stateDir: string;
  fleet: string;
  /** FLEET_LOCK_DIR of this run. */
  lockDir: string;
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
  /** Extra env for the orchestrator process (e.g. PATH with a stand-in nvidia-smi); undefined removes a variable. */
  env?: Record<string, string | undefined>;
  stateDir?: string;
  /** VALID_TOKEN (default: the state dir's stored token, like an operator who keeps it; else a new strong one). */
  token?: string;
  extraArgs?: string[];
  /** Gateway port (default: a free one). */
  port?: number;
  /** Instead of `node --import tsx orchestrator/cli/main.ts up` in this checkout, e.g. ['npm', 'run', 'demo', '--'] (--config, --port, --state-dir, --fleet are appended). */
  command?: string[];
  /** Where to run it (default: this checkout). */
  cwd?: string;
  /** --fleet (default: a fresh `t-…` name, so parallel runs never share containers or locks). */
  fleet?: string;
  /** FLEET_LOCK_DIR (default: one temp dir per test process, shared by its runs so they see each other). */
  lockDir?: string;
}

let sharedLockDir: Promise<string> | undefined;
/** The lock folder the runs of this test process share unless told otherwise; never the host's. */
export function testLockDir(): Promise<string> {
  sharedLockDir ??= mkdtemp(join(tmpdir(), 'fleet-locks-'));
  return sharedLockDir;
}

export const uniqueFleet = () => `t-${Math.random().toString(36).slice(2, 10)}`;

const execFileAsync = promisify(execFile);

/** Runs a CLI command (orchestrator/cli/main.ts) with the test lock dir; resolves with its exit code and output, never rejects. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/cli/main.ts'), ...args], { cwd: ROOT, env: { ...process.env, FLEET_LOCK_DIR: await testLockDir(), ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The token an earlier `up` stored in the state dir, if any (`up` refuses a VALID_TOKEN that differs from it). */
async function storedToken(stateDir: string): Promise<string | undefined> {
  try {
    return (JSON.parse(await readFile(join(stateDir, 'token.json'), 'utf8')) as { token?: string }).token;
  } catch {
    return undefined;
  }
}

/** Runs `up` (orchestrator/cli/main.ts) as a child process on a free port, like an operator would. */
export async function runUp(options: UpOptions): Promise<RunningUp> {
  const port = options.port ?? (await freePort());
  const stateDir = options.stateDir ?? (await mkdtemp(join(tmpdir(), 'fleet-state-')));
  const token = options.token ?? (await storedToken(stateDir)) ?? nanoid(32);
  const fleet = options.fleet ?? uniqueFleet();
  const lockDir = options.lockDir ?? (await testLockDir());
  const [file, ...args] = options.command ?? [process.execPath, '--import', 'tsx', join(ROOT, 'orchestrator/cli/main.ts'), 'up'];
  const child = spawn(file, [...args, '--config', options.config, '--port', String(port), '--state-dir', stateDir, '--fleet', fleet, ...(options.extraArgs ?? [])], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, LOG_FORMAT: 'pretty', VALID_TOKEN: token, FLEET_LOCK_DIR: lockDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer) => { out += d; for (const l of listeners) l(); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // 'close', not 'exit': only then has all its output been read (Node may emit 'exit' first).
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
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
    url, port, token, stateDir, fleet, lockDir, child, exited, waitForOutput,
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

export interface UpOnConfig {
  /** The temp folder that holds models.yaml. */
  dir: string;
  /** Its models.yaml. */
  config: string;
  service: RunningUp;
}

/** Most fleet tests' set-up: `yaml` written as models.yaml in a fresh temp folder (`prefix`…), and `up` on it, healthy. */
export async function upOnConfig(prefix: string, yaml: string, options: Omit<UpOptions, 'config'> = {}): Promise<UpOnConfig> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const config = join(dir, 'models.yaml');
  await writeFile(config, yaml);
  const service = await runUp({ ...options, config });
  await service.waitHealthy();
  return { dir, config, service };
}

/** Their tear-down: stops `service` (if it started) and removes the folders. */
export async function stopAndRemove(service: RunningUp | undefined, ...dirs: (string | undefined)[]): Promise<void> {
  await service?.stop();
  for (const dir of dirs) if (dir) await rm(dir, { recursive: true, force: true });
}
