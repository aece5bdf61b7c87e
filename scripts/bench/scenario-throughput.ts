import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway, type BenchGateway } from './gateway.ts';
import { startRedisServer } from '../../test/helpers/redis-server.ts';
import { startReferenceProxy } from './reference-proxy.ts';
import { startNginx } from './nginx.ts';
import { startBenchSim } from './simulator.ts';
import { runWrk, type LoadResult } from './wrk.ts';

// Scenario 1: small non-streaming POST /generate requests (max_new_tokens 1–5, simulator without token
// pacing) against the simulator directly, through the gateway (with an API key and the queue on), through nginx, through textbook Node
// proxies (node:http, undici) and through Express + http-proxy-middleware, at concurrency 1 and at a high concurrency. Measurements of the targets are
// interleaved round by round, and each configuration keeps its best round, so a burst of other work on
// the machine skews no target alone.

export const TARGETS = ['direct', 'gateway', 'gateway+redis', 'nginx', 'node:http', 'undici', 'express+hpm'] as const;
export type Target = (typeof TARGETS)[number];
export const CONCURRENCY = { single: 1, high: 64 } as const;

export type ThroughputResult = Record<Target, Record<keyof typeof CONCURRENCY, LoadResult>>;

/**
 * The gateway is called with an API key whose every limit is set (sized out of the way), so each
 * request runs the key's scope, budget, concurrency and rate checks and its token accounting; the
 * fair queue is on (the default queue_timeout) and is passed by while slots are free.
 */
export const BENCH_KEY = { name: 'bench', limits: { requestsPerSecond: 1e9, burst: 1e9, tokensPerMinute: 1e15, maxConcurrent: 100_000 } };

const BODIES = [1, 2, 3, 4, 5].map((n) => JSON.stringify({ inputs: 'What is deep learning?', parameters: { max_new_tokens: n } }));
const WARM_UP_SECONDS = 1;

export function benchThroughput(ctx: BenchContext): Promise<ThroughputResult> {
  return withCleanup(async (scope) => {
    const sim = await startBenchSim({ env: { SIM_TOKENS_PER_SECOND: '0' }, args: ['--max-concurrent-requests', '1024'] }, scope);
    const gateway = await startGateway([{ model: 'bench-fast', upstream: sim }], ctx.workDir, scope, { keys: [BENCH_KEY] });
    // The same gateway with gateway.redis_url: every admission is one round trip to a real redis-server.
    const redis = await startRedisServer();
    scope.add('redis-server', () => redis.cleanup());
    const sharedGateway = await startGateway([{ model: 'bench-fast', upstream: sim }], ctx.workDir, scope, { keys: [BENCH_KEY], gateway: { redis_url: redis.url } });
    await waitForRedis(sharedGateway);
    const nginx = await startNginx(sim, ctx.workDir, scope);
    const hpm = await startReferenceProxy('express+hpm', sim, scope);
    const nodeProxy = await startReferenceProxy('node:http', sim, scope);
    const undiciProxy = await startReferenceProxy('undici', sim, scope);
    const urls: Record<Target, string> = {
      direct: `${sim.url}/generate`,
      gateway: `${gateway.url}/bench-fast/gpu0/generate`,
      'gateway+redis': `${sharedGateway.url}/bench-fast/gpu0/generate`,
      nginx: `${nginx.url}/generate`,
      'node:http': `${nodeProxy.url}/generate`,
      undici: `${undiciProxy.url}/generate`,
      'express+hpm': `${hpm.url}/generate`,
    };
    // The same bytes everywhere: the plain proxies and the simulator ignore the key.
    const headers = (target: Target) => ({ 'Content-Type': 'application/json', Authorization: `Bearer ${(target === 'gateway+redis' ? sharedGateway : gateway).keys[BENCH_KEY.name]}` });
    const load = (target: Target, connections: number, durationSeconds: number) =>
      runWrk({ url: urls[target], bodies: BODIES, headers: headers(target), connections, durationSeconds }, ctx.workDir, scope);

    await assertAuthIsOn(urls.gateway);
    ctx.progress(`throughput: warming up (${WARM_UP_SECONDS} s per target)`);
    for (const target of TARGETS) await load(target, CONCURRENCY.high, WARM_UP_SECONDS);

    const best: Partial<Record<Target, Partial<Record<keyof typeof CONCURRENCY, LoadResult>>>> = {};
    for (let round = 0; round < ctx.rounds; round++) {
      for (const level of Object.keys(CONCURRENCY) as (keyof typeof CONCURRENCY)[]) {
        const order = rotate(TARGETS, round);
        for (const target of order) {
          ctx.progress(`throughput: round ${round + 1}/${ctx.rounds}, ${target}, ${CONCURRENCY[level]} connection(s), ${ctx.loadSeconds} s`);
          const result = await load(target, CONCURRENCY[level], ctx.loadSeconds);
          if (result.errorResponses || result.socketErrors) {
            throw new Error(`${target} at ${CONCURRENCY[level]} connection(s): ${result.errorResponses} error responses and ${result.socketErrors} socket errors in ${result.requests} requests; the measurement is not valid`);
          }
          const kept = (best[target] ??= {});
          if (!kept[level] || result.requestsPerSecond > kept[level].requestsPerSecond) kept[level] = result;
        }
      }
    }
    await assertMetricsRecorded(gateway);
    return best as ThroughputResult;
  });
}

/** Measuring starts once the gateway has connected to Redis (before that it limits in memory). */
async function waitForRedis(gateway: BenchGateway): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
    if (/^gateway_redis_up\{[^}]*\} 1$/m.test(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${gateway.url}: gateway_redis_up did not become 1 within 20 s; the Redis target would measure the in-memory fallback`);
}

/** The measurement means something only if the gateway ran its whole hot path. */
async function assertAuthIsOn(url: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: BODIES[0] });
  await res.arrayBuffer();
  if (res.status !== 401) throw new Error(`POST ${url} without a token got ${res.status}, not 401: the gateway under test does not check tokens`);
}

async function assertMetricsRecorded(gateway: BenchGateway): Promise<void> {
  const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
  const counted = text.split('\n').some((line) => line.startsWith('gateway_requests_total{') && line.includes('model="bench-fast"') && Number(line.split(' ').pop()) > 0);
  if (!counted) throw new Error(`${gateway.url}/metrics has no gateway_requests_total for bench-fast: the gateway under test did not record metrics`);
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
