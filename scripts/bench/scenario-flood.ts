import { fork } from 'node:child_process';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { resolveGateway } from '../../orchestrator/config/expand.ts';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway, type BenchGateway } from './gateway.ts';
import { send, type Outcome } from './load-client.ts';
import { startBenchSim } from './simulator.ts';
import { median, percentile } from './stats.ts';

// Scenario (issue 9, 7b): FLOOD_CONNECTIONS connections from one address (127.0.0.1) hammering a
// deployment, with its rate limit answering them 429, while a second client (127.0.0.2) makes ordinary
// requests, one at a time. That client's latency is measured idle, then during the flood. The flood
// runs in its own process (flood-process.ts) so it does not share the measured client's event loop.
// The gateway runs with its default max_connections_per_client.

export const FLOOD_CONNECTIONS = 2000;
const PROBE_SECONDS = 8;
const PROBE_PAUSE_MS = 40;
const RAMP_UP_MS = 1500;
const FLOOD_ENTRY = fileURLToPath(new URL('./flood-process.ts', import.meta.url));

export interface ProbeStats {
  requests: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
}

export interface FloodResult {
  idle: ProbeStats;
  flooded: ProbeStats;
  /** The flood's answers by status, and how often the gateway closed its connections. */
  flood: { statuses: Record<string, number>; closedByServer: number; connects: number };
  maxConnectionsPerClient: number;
}

export function benchFlood(ctx: BenchContext): Promise<FloodResult> {
  return withCleanup(async (scope) => {
    const sim = await startBenchSim({ args: ['--max-concurrent-requests', '1024'] }, scope);
    const gateway = await startGateway(
      [{ model: 'bench-flood', upstream: sim, limits: { rate_limit: { requests_per_second: 50, burst: 100 } } }],
      ctx.workDir,
      scope,
    );
    const probe = () => probeFor(gateway, PROBE_SECONDS);

    ctx.progress(`flood: ${PROBE_SECONDS} s of ordinary requests from 127.0.0.2, idle`);
    await probe(); // warm-up
    const idle = await probe();

    ctx.progress(`flood: ${FLOOD_CONNECTIONS} connections from 127.0.0.1 while 127.0.0.2 makes ordinary requests`);
    const flooder = fork(FLOOD_ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, BENCH_FLOOD_CONFIG: JSON.stringify({ host: gateway.host, port: gateway.port, path: '/bench-flood/gpu0/generate', token: gateway.token, connections: FLOOD_CONNECTIONS }) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    scope.child('flood process', flooder);
    await once(flooder, 'message');
    await sleep(RAMP_UP_MS);
    const flooded = await probe();
    const counts = once(flooder, 'message');
    flooder.send({ type: 'stop' });
    const [flood] = (await counts) as [FloodResult['flood']];
    return { idle, flooded, flood, maxConnectionsPerClient: resolveGateway({}).maxConnectionsPerClient };
  });
}

async function probeFor(gateway: BenchGateway, seconds: number): Promise<ProbeStats> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ inputs: 'What is deep learning?', parameters: { max_new_tokens: 2 } });
  const outcomes: Outcome[] = [];
  const until = Date.now() + seconds * 1000;
  while (Date.now() < until) {
    outcomes.push(await send({ target: gateway, path: '/bench-flood/gpu0/generate', body, headers: { authorization: `Bearer ${gateway.token}` }, localAddress: '127.0.0.2' }, agent));
    await sleep(PROBE_PAUSE_MS);
  }
  agent.destroy();
  const latencies = outcomes.map((o) => o.latencyMs);
  return { requests: outcomes.length, failures: outcomes.filter((o) => o.status !== 200).length, p50Ms: median(latencies), p99Ms: percentile(latencies, 99) };
}
