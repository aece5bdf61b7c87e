import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { startSim, type SimOptions, type SimProcess } from '../../test/helpers/sim.ts';
import type { CleanupScope } from './cleanup.ts';

/** A simulator process (test/helpers/sim.ts) that is stopped with the scope, even if it never gets ready. */
export async function startBenchSim(options: SimOptions, scope: CleanupScope): Promise<SimProcess> {
  const sim = await startSim({ ...options, waitReady: false });
  scope.child('simulator', sim.child);
  const died = sim.exited.then((code) => {
    throw new Error(`simulator exited with ${code} before it was ready:\n${sim.output()}`);
  });
  died.catch(() => {}); // its exit at cleanup is expected
  await Promise.race([waitUntilHealthy(sim.upstream, AbortSignal.timeout(20_000), 50), died]);
  return sim;
}
