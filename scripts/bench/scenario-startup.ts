import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { pingDocker } from '../../orchestrator/runtime/docker/client.ts';
import { runUp, uniqueFleet, type RunningUp } from '../../test/helpers/up.ts';
import { stopChild, withCleanup } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { benchContainerIds, buildSimImage, removeBenchContainers, writeStandInNvidiaSmi, writeStartupConfig } from './docker-fleet.ts';

// Scenario 4 (Docker): `up` from nothing to every deployment ready, for CONTAINERS simulator containers
// that each take LOAD_SECONDS to load — started in parallel this is close to LOAD_SECONDS, one after
// another it would be CONTAINERS times that. Then a second `up` adopting the running containers.

export const CONTAINERS = 8;
export const LOAD_SECONDS = 5;
const POLL_MS = 50;

export type StartupResult =
  | { skipped: string }
  | {
      containers: number;
      loadSeconds: number;
      /** From spawning `up` until its gateway first answers. */
      gatewayAnswersSeconds: number;
      /** From spawning `up` until every deployment is ready. */
      coldStartSeconds: number;
      /** From spawning the second `up` until every deployment is ready again. */
      adoptSeconds: number;
      /** The second `up` kept the very same containers. */
      sameContainers: boolean;
    };

export async function benchStartup(ctx: BenchContext): Promise<StartupResult> {
  try {
    await pingDocker();
  } catch (error) {
    return { skipped: (error as Error).message };
  }
  return withCleanup(async (scope) => {
    ctx.progress('startup: building the simulator image (scripts/build-sim-image.sh)');
    await buildSimImage();
    const dir = await mkdtemp(join(ctx.workDir, 'startup-'));
    const bin = await writeStandInNvidiaSmi(dir, CONTAINERS);
    const config = await writeStartupConfig(dir, CONTAINERS, LOAD_SECONDS);
    const stateDir = join(dir, 'state');
    const env = { PATH: `${bin}:${process.env.PATH}`, LOG_LEVEL: 'info' };
    // Both runs are one fleet: the second `up` is the same operator's restart and must adopt the first's containers.
    const fleet = uniqueFleet();

    await removeBenchContainers(); // leftovers of an interrupted run would be adopted and spoil the cold start
    scope.add('bench containers', removeBenchContainers);

    ctx.progress(`startup: \`up\` with ${CONTAINERS} simulator containers loading for ${LOAD_SECONDS} s each`);
    const coldStart = performance.now();
    const first = await runUp({ config, env, stateDir, fleet });
    scope.child('first up', first.child, 15_000);
    const gatewayAnswersMs = await waitUntil(first, async () => (await first.fetch('/health').catch(() => undefined)) !== undefined, coldStart);
    const coldStartMs = await waitUntil(first, () => allReady(first), coldStart);
    const started = await benchContainerIds();
    if (started.length !== CONTAINERS) throw new Error(`expected ${CONTAINERS} containers labelled for the bench, found ${started.length}:\n${first.output()}`);
    await stopChild(first.child, 15_000); // `up` leaves its containers running on SIGTERM

    ctx.progress(`startup: a second \`up\` adopting the ${CONTAINERS} running containers`);
    const adoptStart = performance.now();
    const second = await runUp({ config, env, stateDir, fleet });
    scope.child('second up', second.child, 15_000);
    const adoptMs = await waitUntil(second, () => allReady(second), adoptStart);
    const adopted = await benchContainerIds();

    return {
      containers: CONTAINERS,
      loadSeconds: LOAD_SECONDS,
      gatewayAnswersSeconds: gatewayAnswersMs / 1000,
      coldStartSeconds: coldStartMs / 1000,
      adoptSeconds: adoptMs / 1000,
      sameContainers: adopted.join() === started.join(),
    };
  });
}

/** Polls check every POLL_MS; resolves with the ms from `since` to the first true. */
async function waitUntil(up: RunningUp, check: () => Promise<boolean>, since: number, timeoutMs = 60_000): Promise<number> {
  while (performance.now() - since < timeoutMs) {
    if (up.child.exitCode !== null) throw new Error(`up exited with ${up.child.exitCode}:\n${up.output()}`);
    if (await check()) return performance.now() - since;
    await sleep(POLL_MS);
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s; up's output:\n${up.output()}`);
}

/** Every one of the CONTAINERS deployments is ready: GET /health is 200 and /info lists them all as ready. */
async function allReady(up: RunningUp): Promise<boolean> {
  try {
    if ((await up.fetch('/health')).status !== 200) return false;
    const info = await (await up.fetch('/info')).json();
    return readyDeployments(info) === CONTAINERS;
  } catch {
    return false;
  }
}

function readyDeployments(info: unknown): number {
  const list = Array.isArray(info) ? info : ((info as { deployments?: unknown[] }).deployments ?? []);
  return list.filter((d) => (d as { state?: string }).state === 'ready').length;
}
