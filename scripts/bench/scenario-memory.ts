import { setTimeout as sleep } from 'node:timers/promises';
import { withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { startGateway, type BenchGateway } from './gateway.ts';
import { openStream, type StreamTrace } from './raw-stream.ts';
import { startBenchSim } from './simulator.ts';

// Scenario 3: the gateway process's RSS when warmed up and idle, then with 1,000 streams open through
// it (a simulator pacing one token per second keeps them open), then after they are closed.
// Each reading follows a full GC in the gateway process, so it shows what is held, not garbage.

export const OPEN_STREAMS = 1000;
const OPEN_BATCH = 100;
const TOKENS_PER_SECOND = 1;
const MAX_NEW_TOKENS = 1000;

export interface MemoryResult {
  streams: number;
  idleRssBytes: number;
  withStreamsRssBytes: number;
  afterCloseRssBytes: number;
  idleHeapBytes: number;
  withStreamsHeapBytes: number;
  growthBytes: number;
}

export function benchMemory(ctx: BenchContext): Promise<MemoryResult> {
  return withCleanup(async (scope) => {
    const sim = await startBenchSim(
      {
        env: { SIM_TOKENS_PER_SECOND: String(TOKENS_PER_SECOND) },
        args: ['--max-concurrent-requests', String(OPEN_STREAMS * 2), '--max-total-tokens', '2048', '--max-batch-total-tokens', String(OPEN_STREAMS * 4096)],
      },
      scope,
    );
    const gateway = await startGateway([{ model: 'bench-hold', upstream: sim }], ctx.workDir, scope);
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
      await waitForFirstEvents(batch, gateway);
    }
    await sleep(2000); // a few events flow on every stream
    const withStreams = await gateway.memory();
    const stillOpen = streams.filter((s) => s.status === 200 && !s.closed && s.eventTimes.length > 1).length;
    if (stillOpen < OPEN_STREAMS) throw new Error(`only ${stillOpen} of ${OPEN_STREAMS} streams were open and flowing when memory was read`);

    ctx.progress('memory: closing the streams');
    streams.forEach((s) => s.close());
    await sleep(2000);
    const afterClose = await gateway.memory();
    return {
      streams: stillOpen,
      idleRssBytes: idle.rss,
      withStreamsRssBytes: withStreams.rss,
      afterCloseRssBytes: afterClose.rss,
      idleHeapBytes: idle.heapUsed,
      withStreamsHeapBytes: withStreams.heapUsed,
      growthBytes: withStreams.rss - idle.rss,
    };
  });
}

async function waitForFirstEvents(batch: StreamTrace[], gateway: BenchGateway): Promise<void> {
  const deadline = AbortSignal.timeout(30_000);
  const timedOut = new Promise<never>((_, reject) =>
    deadline.addEventListener('abort', () => {
      const waiting = batch.filter((s) => s.eventTimes.length === 0);
      reject(new Error(`${waiting.length} stream(s) through ${gateway.url} got no event within 30 s (statuses: ${[...new Set(waiting.map((s) => s.status))].join(', ')})`));
    }),
  );
  timedOut.catch(() => {});
  await Promise.race([Promise.all(batch.map((s) => s.firstEvent)), timedOut]);
}
