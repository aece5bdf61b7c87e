import { Agent } from 'node:http';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway } from './gateway.ts';
import { openLoop, send, type Outcome } from './load-client.ts';
import { startBenchSim } from './simulator.ts';
import { median, percentile } from './stats.ts';

// Scenario (issue 9, 7a): a burst of 3× a model's capacity from two API keys sending 10:1, through the
// fair queue and with `queue_timeout: 0` (429 at once at the cap, TGI's own behaviour). The model has
// CONCURRENCY slots and each request takes about SERVICE_MS upstream, so it serves about
// CONCURRENCY / SERVICE_MS requests per second. Each key sends from its own address.

export const CONCURRENCY = 8;
const TOKENS = 10;
const TOKENS_PER_SECOND = 50;
/** Upstream time of one request: TOKENS at TOKENS_PER_SECOND. */
const SERVICE_MS = (TOKENS / TOKENS_PER_SECOND) * 1000;
export const OVERLOAD = 3;
export const RATIO = 10;
const SECONDS = 6;
const QUEUE_TIMEOUT_MS = 3000;

export interface KeyShare {
  offered: number;
  served: number;
  refused: number;
  failed: number;
  /** Served requests: ms from the scheduled start to the answer's end, minus the idle service time. */
  waitP50Ms: number;
  waitP99Ms: number;
}

export interface FairnessResult {
  capacityPerSecond: number;
  serviceMs: number;
  queue: { heavy: KeyShare; light: KeyShare };
  noQueue: { heavy: KeyShare; light: KeyShare };
}

export function benchFairness(ctx: BenchContext): Promise<FairnessResult> {
  return withCleanup(async (scope) => {
    const simArgs = { env: { SIM_TOKENS_PER_SECOND: String(TOKENS_PER_SECOND) }, args: ['--max-concurrent-requests', '256'] };
    const [queued, unqueued] = [await startBenchSim(simArgs, scope), await startBenchSim(simArgs, scope)];
    const gateway = await startGateway(
      [
        { model: 'bench-queued', upstream: queued, limits: { max_concurrent_requests: CONCURRENCY, queue_timeout: QUEUE_TIMEOUT_MS } },
        { model: 'bench-unqueued', upstream: unqueued, limits: { max_concurrent_requests: CONCURRENCY, queue_timeout: 0 } },
      ],
      ctx.workDir,
      scope,
      { gateway: { max_connections_per_client: 0 }, keys: [{ name: 'heavy' }, { name: 'light' }] },
    );
    const body = JSON.stringify({ inputs: 'Summarize the plot of Hamlet.', parameters: { max_new_tokens: TOKENS } });
    const path = (model: string) => `/${model}/gpu0/generate`;

    ctx.progress('fairness: measuring the idle service time');
    const agent = new Agent({ keepAlive: true });
    const idle: Outcome[] = [];
    for (let i = 0; i < 10; i++) idle.push(await send({ target: gateway, path: path('bench-queued'), body, headers: { authorization: `Bearer ${gateway.keys.light}` } }, agent));
    agent.destroy();
    if (idle.some((o) => o.status !== 200)) throw new Error(`idle requests failed: ${idle.map((o) => o.status).join(', ')}`);
    const serviceMs = median(idle.map((o) => o.latencyMs));

    const capacityPerSecond = (CONCURRENCY * 1000) / SERVICE_MS;
    const offered = OVERLOAD * capacityPerSecond;
    const burst = async (model: string) => {
      ctx.progress(`fairness: ${model}: ${Math.round(offered)} requests/s (${OVERLOAD}× capacity) for ${SECONDS} s, keys heavy:light = ${RATIO}:1`);
      const load = (key: 'heavy' | 'light', share: number, localAddress: string) =>
        openLoop({ target: gateway, path: path(model), body, headers: { authorization: `Bearer ${gateway.keys[key]}` }, requestsPerSecond: offered * share, durationSeconds: SECONDS, localAddress });
      const [heavy, light] = await Promise.all([load('heavy', RATIO / (RATIO + 1), '127.0.0.3'), load('light', 1 / (RATIO + 1), '127.0.0.4')]);
      return { heavy: share(heavy, serviceMs), light: share(light, serviceMs) };
    };
    const queue = await burst('bench-queued');
    const noQueue = await burst('bench-unqueued');
    return { capacityPerSecond, serviceMs, queue, noQueue };
  });
}

function share(outcomes: Outcome[], serviceMs: number): KeyShare {
  const served = outcomes.filter((o) => o.status === 200);
  const waits = served.map((o) => Math.max(0, o.latencyMs - serviceMs));
  return {
    offered: outcomes.length,
    served: served.length,
    refused: outcomes.filter((o) => o.status === 429).length,
    failed: outcomes.filter((o) => o.status !== 200 && o.status !== 429).length,
    waitP50Ms: median(waits),
    waitP99Ms: percentile(waits, 99),
  };
}
