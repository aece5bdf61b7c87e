import type { Upstream } from '../../gateway/types.ts';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway } from './gateway.ts';
import { openStream, type StreamTrace } from './raw-stream.ts';
import { BENCH_KEY } from './scenario-throughput.ts';
import { startReferenceProxy } from './reference-proxy.ts';
import { startBenchSim } from './simulator.ts';
import { median, percentile } from './stats.ts';

// Scenario 2: streams from a simulator pacing tokens at a known rate, read directly, through the
// gateway and through a textbook node:http proxy by a raw-socket client that timestamps every read. Direct and gateway streams alternate,
// one at a time, so both see the same machine. The gateway is warmed up first on an unpaced simulator.

export const TOKENS_PER_SECOND = 50;
const TOKENS_PER_STREAM = 20;
const STREAMS_PER_TARGET = 20;
const WARM_UP_STREAMS = 2000;
const WARM_UP_CONCURRENCY = 10;

export interface StreamStats {
  streams: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  /** Gap between consecutive events; the simulator's pace is 1000 / TOKENS_PER_SECOND ms. */
  gapP50Ms: number;
  gapP99Ms: number;
  events: number;
  /** Socket reads that held more than one event. */
  coalescedReads: number;
}

export interface StreamsResult {
  direct: StreamStats;
  gateway: StreamStats;
  /** The textbook node:http proxy (reference-proxy.ts). */
  nodeHttp: StreamStats;
  addedTtftMs: number;
}

export function benchStreams(ctx: BenchContext): Promise<StreamsResult> {
  return withCleanup(async (scope) => {
    const sim = await startBenchSim({ env: { SIM_TOKENS_PER_SECOND: String(TOKENS_PER_SECOND) } }, scope);
    const unpaced = await startBenchSim({ env: { SIM_TOKENS_PER_SECOND: '0' } }, scope);
    const gateway = await startGateway(
      [
        { model: 'bench-stream', upstream: sim },
        { model: 'bench-warm-up', upstream: unpaced },
      ],
      ctx.workDir,
      scope,
      { keys: [BENCH_KEY] },
    );
    const body = JSON.stringify({ inputs: 'Tell me a story about a lighthouse.', parameters: { max_new_tokens: TOKENS_PER_STREAM } });
    const auth = { Authorization: `Bearer ${gateway.keys[BENCH_KEY.name]}` };
    const streamDirect = () => stream(sim, '/generate_stream', body, auth);
    const streamViaGateway = () => stream(gateway, '/bench-stream/gpu0/generate_stream', body, auth);
    const nodeProxy = await startReferenceProxy('node:http', sim, scope);
    const streamViaNode = () => stream(nodeProxy, '/generate_stream', body, auth);

    // A gateway in service has run its streaming path many times (V8 has optimized it): so should this one.
    ctx.progress(`streams: warming up the gateway with ${WARM_UP_STREAMS} unpaced streams`);
    const warmUpBody = JSON.stringify({ inputs: 'Warm up.', parameters: { max_new_tokens: 5 } });
    for (let i = 0; i < WARM_UP_STREAMS; i += WARM_UP_CONCURRENCY) {
      await Promise.all(Array.from({ length: WARM_UP_CONCURRENCY }, () => openStream(gateway, '/bench-warm-up/gpu0/generate_stream', warmUpBody, auth).ended));
    }
    await Promise.all([streamDirect(), streamViaGateway(), streamViaNode()]);
    const traces: Record<'direct' | 'gateway' | 'nodeHttp', StreamTrace[]> = { direct: [], gateway: [], nodeHttp: [] };
    ctx.progress(`streams: ${STREAMS_PER_TARGET} streams of ${TOKENS_PER_STREAM} tokens at ${TOKENS_PER_SECOND} tokens/s, direct and through the gateway`);
    for (let i = 0; i < STREAMS_PER_TARGET; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2 === 0) {
        traces.direct.push(await streamDirect());
        traces.gateway.push(await streamViaGateway());
        traces.nodeHttp.push(await streamViaNode());
      } else {
        traces.nodeHttp.push(await streamViaNode());
        traces.gateway.push(await streamViaGateway());
        traces.direct.push(await streamDirect());
      }
    }
    const directStats = summarize(traces.direct);
    const gatewayStats = summarize(traces.gateway);
    return { direct: directStats, gateway: gatewayStats, nodeHttp: summarize(traces.nodeHttp), addedTtftMs: gatewayStats.ttftP50Ms - directStats.ttftP50Ms };
  });
}

async function stream(target: Upstream, path: string, body: string, headers: Record<string, string>): Promise<StreamTrace> {
  const trace = openStream(target, path, body, headers);
  const timeout = setTimeout(() => trace.close(), 30_000);
  await trace.ended;
  clearTimeout(timeout);
  if (trace.status !== 200 || trace.errorEvents || trace.eventTimes.length !== TOKENS_PER_STREAM) {
    throw new Error(`stream ${target.url}${path}: HTTP ${trace.status}, ${trace.eventTimes.length} of ${TOKENS_PER_STREAM} events, ${trace.errorEvents} error event(s)`);
  }
  return trace;
}

function summarize(traces: StreamTrace[]): StreamStats {
  const ttfts = traces.map((t) => t.eventTimes[0]);
  const gaps = traces.flatMap((t) => t.eventTimes.slice(1).map((at, i) => at - t.eventTimes[i]));
  return {
    streams: traces.length,
    ttftP50Ms: median(ttfts),
    ttftP99Ms: percentile(ttfts, 99),
    gapP50Ms: median(gaps),
    gapP99Ms: percentile(gaps, 99),
    events: traces.reduce((n, t) => n + t.eventTimes.length, 0),
    coalescedReads: traces.reduce((n, t) => n + t.reads.filter((r) => r.events > 1).length, 0),
  };
}
