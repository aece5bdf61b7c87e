// Whether the Docker runtime tests can run here, and the image they need.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { ROOT } from '../helpers/sim.ts';

const run = promisify(execFile);
/** scripts/build-sim-image.sh honours the same TGI_SIM_IMAGE override. */
export const SIM_IMAGE = process.env.TGI_SIM_IMAGE ?? 'tgi-sim:local';

/**
 * undefined when a Docker engine answers; otherwise the one-line reason to skip. Under CI=true the
 * tests never skip: it starts the engine (with the stand-in GPU hook) and throws if that fails.
 */
export async function dockerSkipReason(docker: Dockerode): Promise<string | undefined> {
  if (await docker.ping().then(() => true, () => false)) return undefined;
  if (process.env.CI !== 'true') return 'Docker is not reachable (start it with scripts/start-dockerd.sh to run these tests)';
  await run('bash', [join(ROOT, 'scripts/start-dockerd.sh')], { env: { ...process.env, FLEET_STANDIN_GPU_HOOK: '1' } });
  await docker.ping();
  return undefined;
}

/** Builds the simulator image when the engine does not have it yet. */
export async function ensureSimImage(docker: Dockerode): Promise<void> {
  const present = await docker.getImage(SIM_IMAGE).inspect().then(() => true, () => false);
  if (!present) await run('bash', [join(ROOT, 'scripts/build-sim-image.sh')], { cwd: ROOT });
}

/** Removes every container of a test fleet (tests clean up after themselves, failures included). */
export async function removeFleetContainers(docker: Dockerode, fleet: string): Promise<void> {
  const containers = await docker.listContainers({ all: true, filters: { label: [`tgi-fleet.fleet=${fleet}`] } });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}
