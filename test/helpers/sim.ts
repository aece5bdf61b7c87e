import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../orchestrator/net.ts';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import type { Upstream } from '../../gateway/types.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const SIM_ENTRY = fileURLToPath(new URL('../../docker/tgi-sim/main.ts', import.meta.url));

export interface SimProcess {
  port: number;
  url: string;
  upstream: Upstream;
  child: ChildProcess;
  /** Everything it printed so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code once it has exited. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface SimOptions {
  modelId?: string;
  /** Extra launcher flags, e.g. ['--max-total-tokens', '512']. */
  args?: string[];
  /** Extra env, e.g. { SIM_VISION: '1', SIM_TOKENS_PER_SECOND: '0' }. */
  env?: Record<string, string>;
  /** Wait for GET /health = 200 before resolving (default true). */
  waitReady?: boolean;
}

/** Starts the TGI simulator as a child process on a free loopback port. */
export async function startSim(options: SimOptions = {}): Promise<SimProcess> {
  const port = await freePort();
  const args = ['--import', 'tsx', SIM_ENTRY, '--model-id', options.modelId ?? 'sim/test-model', '--port', String(port), '--hostname', '127.0.0.1', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, SIM_LOAD_SECONDS: '0', SIM_TOKENS_PER_SECOND: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const upstream: Upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
  const sim: SimProcess = {
    port,
    url: upstream.url,
    upstream,
    child,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  if (options.waitReady ?? true) {
    const giveUp = AbortSignal.timeout(20_000);
    const died = exited.then((code) => { throw new Error(`simulator exited with ${code} before it was ready:\n${out}`); });
    await Promise.race([waitUntilHealthy(upstream, giveUp, 50), died]);
  }
  return sim;
}
