import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { KeyLimits, Upstream } from '../../gateway/types.ts';
import type { RawGateway, RawModel } from '../../orchestrator/config/schema.ts';
import { keysPath, newKey, writeKeys, type StoredKey } from '../../orchestrator/keys.ts';
import type { CleanupScope } from './cleanup.ts';

// The gateway under test runs in its own process (gateway-process.ts), so its CPU and RSS are its own
// and the bench's clients do not share its event loop. This is the parent's side of that process.

export interface BenchDeployment {
  /** Model name; the route is /<model>/gpu0. */
  model: string;
  upstream: Upstream;
  /** The model's own limits, as models.yaml writes them (default: sized out of the way). */
  limits?: RawModel['limits'];
}

/** What a scenario may set beyond the deployments: models.yaml's gateway keys, and API keys to create. */
export interface BenchGatewayOptions {
  gateway?: Partial<RawGateway>;
  keys?: { name: string; limits?: KeyLimits }[];
}

export interface GatewayProcessConfig extends BenchGatewayOptions {
  stateDir: string;
  token: string;
  deployments: BenchDeployment[];
}

export type ToGateway = { type: 'memory' } | { type: 'exit' };
export type FromGateway = { type: 'listening'; port: number } | { type: 'memory'; usage: NodeJS.MemoryUsage };

export interface BenchGateway extends Upstream {
  token: string;
  /** The API keys created for it, by name. */
  keys: Record<string, string>;
  pid: number;
  /** The process's memory after a full GC (the process runs with --expose-gc). */
  memory(): Promise<NodeJS.MemoryUsage>;
}

const ENTRY = fileURLToPath(new URL('./gateway-process.ts', import.meta.url));
/** Set to a folder to get a V8 CPU profile of every gateway process the bench starts. */
const CPU_PROFILE_DIR = process.env.BENCH_CPU_PROF_DIR;
const GRACEFUL_EXIT_MS = 5000;

export async function startGateway(deployments: BenchDeployment[], workDir: string, scope: CleanupScope, options: BenchGatewayOptions = {}): Promise<BenchGateway> {
  const config: GatewayProcessConfig = {
    stateDir: await mkdtemp(join(workDir, 'gateway-state-')),
    token: `bench-token-${Math.random().toString(36).slice(2)}-${Date.now()}`,
    deployments,
    ...options,
  };
  const keys: Record<string, string> = {};
  const stored: StoredKey[] = (options.keys ?? []).map(({ name, limits = {} }) => {
    const { key, hash } = newKey();
    keys[name] = key;
    return { name, hash, limits, createdAt: Date.now() };
  });
  if (stored.length) await writeKeys(keysPath(config.stateDir), stored);
  const execArgv = ['--import', 'tsx', '--expose-gc', ...(CPU_PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', CPU_PROFILE_DIR] : [])];
  const child = fork(ENTRY, [], {
    execArgv,
    env: { ...process.env, BENCH_GATEWAY_CONFIG: JSON.stringify(config), LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d).slice(-20_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  scope.child('gateway process', child);
  // Runs before the line above (cleanup goes in reverse): a graceful exit, as V8 writes the CPU profile only then.
  scope.add('gateway process exit', async () => {
    if (!child.connected || child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.send({ type: 'exit' } satisfies ToGateway);
    await Promise.race([exited, sleep(GRACEFUL_EXIT_MS)]);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway process did not start listening within 30 s:\n${output}`)), 30_000);
    child.on('message', (message: FromGateway) => {
      if (message.type === 'listening') {
        clearTimeout(timer);
        resolve(message.port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the gateway process exited with ${code} before listening:\n${output}`));
    });
  });

  const memory = () =>
    new Promise<NodeJS.MemoryUsage>((resolve, reject) => {
      const onMessage = (message: FromGateway) => {
        if (message.type !== 'memory') return;
        child.off('message', onMessage);
        resolve(message.usage);
      };
      if (!child.connected) return reject(new Error(`the gateway process is gone:\n${output}`));
      child.on('message', onMessage);
      child.send({ type: 'memory' } satisfies ToGateway);
    });

  return { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, token: config.token, keys, pid: child.pid!, memory };
}
