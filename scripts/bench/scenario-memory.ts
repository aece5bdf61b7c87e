import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway, type BenchGateway } from './gateway.ts';
import { openStream, type StreamTrace } from './raw-stream.ts';
import { startBenchSim } from './simulator.ts';
import { percentile } from './stats.ts';

// Scenario 3: the gateway process's RSS when warmed up and idle, then with 10,000 streams open through
// it (a simulator pacing a token every two seconds keeps them open), then after they are closed.
// Each reading follows a full GC in the gateway process, so it shows what is held, not garbage.
// While they are open, probe streams from a faster simulator, read directly and through the gateway,
// show the delay the loaded gateway adds to each event.
//
// Each stream holds two sockets in the gateway (client and upstream): where the open-files limit
// (RLIMIT_NOFILE, inherited by every process here) cannot hold 10,000 of them, the scenario opens as
// many as it allows and the report says so.

export const TARGET_STREAMS = 10_000;
const OPEN_BATCH = 500;
/** One event every 2 s per held stream: 5,000 events/s through the gateway at 10,000 streams. */
const TOKENS_PER_SECOND = 0.5;
const MAX_NEW_TOKENS = 1000;
const PROBE_STREAMS = 20;
const PROBE_TOKENS = 40;
const PROBE_TOKENS_PER_SECOND = 20;
/** Descriptors the gateway needs besides its streams' sockets (listeners, pipes, probes, libuv). */
const SPARE_DESCRIPTORS = 500;

export interface MemoryResult {
  /** Streams opened: TARGET_STREAMS, or fewer when the open-files limit says so. */
  streams: number;
  openFilesLimit: number;
  /** Per-event gap p99 of the probe streams, direct and through the gateway, while the streams are open. */
  probeGapP99Ms: { direct: number; gateway: number };
  idleRssBytes: number;
  withStreamsRssBytes: number;
  afterCloseRssBytes: number;
  idleHeapBytes: number;
  withStreamsHeapBytes: number;
  growthBytes: number;
}

export function benchMemory(ctx: BenchContext): Promise<MemoryResult> {
  return withCleanup(async (scope) => {
    const openFilesLimit = await readOpenFilesLimit();
    const OPEN_STREAMS = Math.min(TARGET_STREAMS, Math.floor((openFilesLimit - SPARE_DESCRIPTORS) / 2));
    const sim = await startBenchSim(
      {
        env: { SIM_TOKENS_PER_SECOND: String(TOKENS_PER_SECOND) },
        args: ['--max-concurrent-requests', String(OPEN_STREAMS * 2), '--max-total-tokens', '2048', '--max-batch-total-tokens', String(OPEN_STREAMS * 4096)],
      },
      scope,
    );
    const probeSim = await startBenchSim({ env: { SIM_TOKENS_PER_SECOND: String(PROBE_TOKENS_PER_SECOND) } }, scope);
    const gateway = await startGateway(
      [
        { model: 'bench-hold', upstream: sim },
        { model: 'bench-probe', upstream: probeSim },
      ],
      ctx.workDir,
      scope,
      { gateway: { max_connections_per_client: 0 } },
    );
    const open = (maxNewTokens: number) =>
      openStream(gateway, '/bench-hold/gpu0/generate_stream', JSON.stringify({ inputs: 'Keep talking.', parameters: { max_new_tokens: maxNewTokens } }), {
        Authorization: `Bearer ${gateway.token}`,
      });

    ctx.progress('memory: warming up the gateway with a few short streams');
    await Promise.all(Array.from({ length: 20 }, () => open(2).ended));
    const idle = await gateway.memory();

    ctx.progress(`memory: opening ${OPEN_STREAMS} streams through the gateway`);
    const streams: StreamTrace[] = [];
    scope.add('open streams', () => streams.forEach((s) => s.close()));
    for (let i = 0; i < OPEN_STREAMS; i += OPEN_BATCH) {
      const batch = Array.from({ length: Math.min(OPEN_BATCH, OPEN_STREAMS - i) }, () => open(MAX_NEW_TOKENS));
      streams.push(...batch);
      await waitForFirstEvents(batch, gateway, i);
    }
    await sleep((2 / TOKENS_PER_SECOND) * 1000 + 1000); // two events or more have flowed on every stream
    ctx.progress(`memory: ${PROBE_STREAMS} probe streams at ${PROBE_TOKENS_PER_SECOND} tokens/s, direct and through the gateway, with ${OPEN_STREAMS} streams open`);
    const probeBody = JSON.stringify({ inputs: 'Probe.', parameters: { max_new_tokens: PROBE_TOKENS } });
    const auth = { Authorization: `Bearer ${gateway.token}` };
    const probes = await Promise.all([
      ...Array.from({ length: PROBE_STREAMS }, () => probeStream(openStream(probeSim, '/generate_stream', probeBody, auth))),
      ...Array.from({ length: PROBE_STREAMS }, () => probeStream(openStream(gateway, '/bench-probe/gpu0/generate_stream', probeBody, auth))),
    ]);
    const probeGapP99Ms = { direct: percentile(probes.slice(0, PROBE_STREAMS).flat(), 99), gateway: percentile(probes.slice(PROBE_STREAMS).flat(), 99) };
    const withStreams = await gateway.memory();
    const stillOpen = streams.filter((s) => s.status === 200 && !s.closed && s.eventTimes.length > 1).length;
    if (stillOpen < OPEN_STREAMS) throw new Error(`only ${stillOpen} of ${OPEN_STREAMS} streams were open and flowing when memory was read`);

    ctx.progress('memory: closing the streams');
    streams.forEach((s) => s.close());
    await sleep(2000);
    const afterClose = await gateway.memory();
    return {
      streams: stillOpen,
      openFilesLimit,
      probeGapP99Ms,
      idleRssBytes: idle.rss,
      withStreamsRssBytes: withStreams.rss,
      afterCloseRssBytes: afterClose.rss,
      idleHeapBytes: idle.heapUsed,
      withStreamsHeapBytes: withStreams.heapUsed,
      growthBytes: withStreams.rss - idle.rss,
    };
  });
}

async function waitForFirstEvents(batch: StreamTrace[], gateway: BenchGateway, alreadyOpen: number): Promise<void> {
  const deadline = AbortSignal.timeout(30_000);
  const timedOut = new Promise<never>((_, reject) =>
    deadline.addEventListener('abort', () => {
      const waiting = batch.filter((s) => s.eventTimes.length === 0);
      reject(new Error(`${waiting.length} of ${batch.length} new stream(s) through ${gateway.url}, with ${alreadyOpen} open already, got no event within 30 s (statuses: ${[...new Set(waiting.map((s) => s.status ?? 'none'))].join(', ')})`));
    }),
  );
  timedOut.catch(() => {});
  await Promise.race([Promise.all(batch.map((s) => s.firstEvent)), timedOut]);
}

/** The gaps between a probe stream's events, once it has ended with every event. */
async function probeStream(trace: StreamTrace): Promise<number[]> {
  const timeout = setTimeout(() => trace.close(), 60_000);
  await trace.ended;
  clearTimeout(timeout);
  if (trace.status !== 200 || trace.eventTimes.length !== PROBE_TOKENS) throw new Error(`probe stream: HTTP ${trace.status}, ${trace.eventTimes.length} of ${PROBE_TOKENS} events`);
  return trace.eventTimes.slice(1).map((at, i) => at - trace.eventTimes[i]);
}

/** This process's soft limit on open files (its children inherit it). */
async function readOpenFilesLimit(): Promise<number> {
  const limits = await readFile('/proc/self/limits', 'utf8').catch(() => '');
  const soft = /^Max open files\s+(\d+)/m.exec(limits)?.[1];
  return soft ? Number(soft) : 1024;
}
