import { setTimeout as sleep } from 'node:timers/promises';
import type { Upstream } from '../../gateway/types.ts';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway } from './gateway.ts';
import { KeptAliveConnection, openStream, type StreamTrace } from './raw-stream.ts';
import { BENCH_KEY } from './scenario-throughput.ts';
import { startReferenceProxy } from './reference-proxy.ts';
import { startBenchSim } from './simulator.ts';
import { startNginx } from './nginx.ts';
import { median, percentile } from './stats.ts';

// Scenario 2: streams from a simulator pacing tokens at a known rate, read directly, through the
// gateway, through nginx, through textbook Node proxies (node:http, undici) and through a bare Node byte
// relay (the floor for any Node proxy) by a raw-socket client
// that timestamps every read, each on a new connection; and direct and through the gateway on one
// kept-alive connection each, as the SDKs call. The paths take turns, one stream at a time, so all see
// the same machine, and each stream starts after the same idle pause: on this VM a process woken less
// than about 0.4 ms after the last one ran starts about 0.3 ms sooner (the guest's and KVM's halt
// polling), so without the pause a path's time to first token depended on which path ran before it
// (measured with tcpdump: the same gateway added 0.73 ms of request path after the direct path, 0.92
// after another proxy). The gateway is warmed up first on an unpaced simulator.

export const TOKENS_PER_SECOND = 50;
const TOKENS_PER_STREAM = 20;
const STREAMS_PER_TARGET = 40;
const WARM_UP_STREAMS = 2000;
const WARM_UP_CONCURRENCY = 10;
/** Idle time before each measured stream: longer than the halt polling (0.2 ms in the guest, 0.2 ms in KVM). */
export const IDLE_BEFORE_STREAM_MS = 5;

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
  /** nginx as a plain reverse proxy (no buffering): what any proxy's extra hop costs here. */
  nginx: StreamStats;
  /** The textbook proxies (reference-proxy.ts): on node:http's client, on undici's. */
  nodeHttp: StreamStats;
  undici: StreamStats;
  /** A Node process relaying bytes, no HTTP (tcp-relay-process.ts): what any Node proxy adds at least. */
  tcpRelay: StreamStats;
  /** The same streams on one kept-alive connection per path. */
  directKeptAlive: StreamStats;
  gatewayKeptAlive: StreamStats;
  addedTtftMs: number;
}

type Path = Exclude<keyof StreamsResult, 'addedTtftMs'>;

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
    const [nginx, nodeHttp, undici, tcpRelay] = [
      await startNginx(sim, ctx.workDir, scope),
      await startReferenceProxy('node:http', sim, scope),
      await startReferenceProxy('undici', sim, scope),
      await startReferenceProxy('tcp', sim, scope),
    ];
    const keptAlive = { direct: new KeptAliveConnection(sim), gateway: new KeptAliveConnection(gateway) };
    scope.add('kept-alive connections', () => Object.values(keptAlive).forEach((c) => c.close()));
    const paths: Record<Path, () => Promise<StreamTrace>> = {
      direct: () => stream(sim, '/generate_stream', body, auth),
      gateway: () => stream(gateway, '/bench-stream/gpu0/generate_stream', body, auth),
      nginx: () => stream(nginx, '/generate_stream', body, auth),
      nodeHttp: () => stream(nodeHttp, '/generate_stream', body, auth),
      undici: () => stream(undici, '/generate_stream', body, auth),
      tcpRelay: () => stream(tcpRelay, '/generate_stream', body, auth),
      directKeptAlive: () => checked(sim, '/generate_stream', keptAlive.direct.stream('/generate_stream', body, auth)),
      gatewayKeptAlive: () => checked(gateway, '/bench-stream/gpu0/generate_stream', keptAlive.gateway.stream('/bench-stream/gpu0/generate_stream', body, auth)),
    };
    const order = Object.keys(paths) as Path[];

    // A gateway in service has run its streaming path many times (V8 has optimized it): so should this one.
    ctx.progress(`streams: warming up the gateway with ${WARM_UP_STREAMS} unpaced streams`);
    const warmUpBody = JSON.stringify({ inputs: 'Warm up.', parameters: { max_new_tokens: 5 } });
    for (let i = 0; i < WARM_UP_STREAMS; i += WARM_UP_CONCURRENCY) {
      await Promise.all(Array.from({ length: WARM_UP_CONCURRENCY }, () => openStream(gateway, '/bench-warm-up/gpu0/generate_stream', warmUpBody, auth).ended));
    }
    await Promise.all(order.map((path) => paths[path]()));
    const traces = Object.fromEntries(order.map((path) => [path, [] as StreamTrace[]])) as Record<Path, StreamTrace[]>;
    ctx.progress(`streams: ${STREAMS_PER_TARGET} streams of ${TOKENS_PER_STREAM} tokens at ${TOKENS_PER_SECOND} tokens/s per path (${order.join(', ')}), one at a time, each after ${IDLE_BEFORE_STREAM_MS} ms idle`);
    for (let i = 0; i < STREAMS_PER_TARGET; i++) {
      // Alternate the order, so no path always follows the same other.
      for (const path of i % 2 === 0 ? order : [...order].reverse()) {
        await sleep(IDLE_BEFORE_STREAM_MS);
        traces[path].push(await paths[path]());
      }
    }
    const stats = Object.fromEntries(order.map((path) => [path, summarize(traces[path])])) as Record<Path, StreamStats>;
    return { ...stats, addedTtftMs: stats.gateway.ttftP50Ms - stats.direct.ttftP50Ms };
  });
}

function stream(target: Upstream, path: string, body: string, headers: Record<string, string>): Promise<StreamTrace> {
  return checked(target, path, openStream(target, path, body, headers));
}

/** Waits for the stream's end (closing it after 30 s) and checks it is whole. */
async function checked(target: Upstream, path: string, started: StreamTrace | Promise<StreamTrace>): Promise<StreamTrace> {
  const trace = await started;
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
