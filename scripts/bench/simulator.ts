import { spawn } from 'node:child_process';
import type { Upstream } from '../../gateway/types.ts';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT, SIM_ENTRY } from '../../test/helpers/sim.ts';
import type { CleanupScope } from './cleanup.ts';

// The TGI simulator as a local process, like test/helpers/sim.ts starts it, except for its log: the
// simulator prints a TGI-style line per request, over a million in the throughput scenario, which
// the test helper would keep in memory. Here stdout goes to /dev/null and only stderr's tail is kept.

export interface SimOptions {
  /** Extra launcher flags, e.g. ['--max-concurrent-requests', '1024']. */
  args?: string[];
  /** Extra env, e.g. { SIM_TOKENS_PER_SECOND: '50' }. */
  env?: Record<string, string>;
}

const STDERR_KEPT = 8000;

/** Starts a simulator on a free loopback port, stopped with the scope; resolves once /health is 200. */
export async function startBenchSim(options: SimOptions, scope: CleanupScope): Promise<Upstream> {
  const port = await freePort();
  const args = ['--import', 'tsx', SIM_ENTRY, '--model-id', 'bench/simulator', '--port', String(port), '--hostname', '127.0.0.1', ...(options.args ?? [])];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, SIM_LOAD_SECONDS: '0', SIM_TOKENS_PER_SECOND: '0', ...options.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  scope.child('simulator', child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-STDERR_KEPT)));
  const died = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`simulator exited with ${code} before it was ready:\n${stderr}`))),
  );
  died.catch(() => {}); // its exit at cleanup is expected
  const upstream: Upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
  await Promise.race([waitUntilHealthy(upstream, AbortSignal.timeout(20_000), 50), died]);
  return upstream;
}
