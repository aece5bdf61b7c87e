import { fleetLockFile, liveHolder, type LockHolder } from '../ownership.ts';
import { formatDuration } from './table.ts';
import { describeTarget, findFleet, type TargetOptions } from './fleet-target.ts';

const GATEWAY_EXIT_TIMEOUT_MS = 120_000;
const PROGRESS_EVERY_MS = 5000;

/**
 * Stops one fleet: its running `up` first (SIGTERM: it drains in-flight requests and exits), then
 * (gracefully: TGI may drain up to 90 s) removes every container of the fleet.
 */
export async function down(options: TargetOptions): Promise<number> {
  const target = await findFleet(options);
  if (target.stateDirHeldBy) {
    const other = target.stateDirHeldBy;
    console.error(`state dir ${target.stateDir} is used by fleet "${other.fleet}" (pid ${other.pid}, port ${other.port}), but this would stop fleet "${target.fleet}" (${target.from}); nothing was stopped. Name the fleet: \`npm run down -- --fleet ${other.fleet}\``);
    return 1;
  }
  console.log(describeTarget(target));
  for (const note of target.notes) console.log(`note: ${note}`);
  if (target.running && !(await stopGateway(target.running))) return 1;

  const { pingDocker } = await import('../runtime/docker/client.ts');
  try {
    await pingDocker();
  } catch (error) {
    if (target.running) {
      console.log(`Docker is not reachable, so no containers were looked for (${(error as Error).message.split('\n')[0]})`);
      return 0;
    }
    console.error((error as Error).message);
    return 1;
  }
  const { DockerDriver } = await import('../runtime/docker/docker-driver.ts');
  const driver = new DockerDriver({ fleet: target.fleet });
  try {
    const instances = await driver.list();
    if (!instances.length) {
      console.log(`no TGI containers of fleet "${target.fleet}" to remove`);
      return 0;
    }
    console.log(`stopping ${instances.length} container(s) of fleet "${target.fleet}" (TGI drains in-flight requests for up to 90 s)…`);
    await Promise.all(instances.map(async (instance) => {
      await driver.remove(instance.id);
      console.log(`removed ${instance.name} (${instance.key})`);
    }));
    return 0;
  } finally {
    await driver.close();
  }
}

/** SIGTERM to the fleet's `up`, then waits for it to release the fleet's lock. False when it would not stop. */
async function stopGateway(gateway: LockHolder): Promise<boolean> {
  try {
    process.kill(gateway.pid, 'SIGTERM');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    console.error(`cannot signal pid ${gateway.pid} (${code}): it runs as another user; stop it as that user (\`kill ${gateway.pid}\`), then run down again`);
    return false;
  }
  console.log(`stopping the gateway of fleet "${gateway.fleet}" (pid ${gateway.pid}, port ${gateway.port}): sent SIGTERM; it drains in-flight requests, then exits`);
  const started = Date.now();
  let nextProgress = started + PROGRESS_EVERY_MS;
  while (await holdsLock(gateway)) {
    if (Date.now() - started > GATEWAY_EXIT_TIMEOUT_MS) {
      console.error(`pid ${gateway.pid} still runs after ${formatDuration(GATEWAY_EXIT_TIMEOUT_MS)}; no container was removed. See its log; \`kill -9 ${gateway.pid}\` stops it without draining, then run down again`);
      return false;
    }
    if (Date.now() >= nextProgress) {
      console.log(`still waiting for pid ${gateway.pid} to drain and exit (${formatDuration(Date.now() - started)})…`);
      nextProgress += PROGRESS_EVERY_MS;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  console.log(`the gateway of fleet "${gateway.fleet}" has stopped`);
  return true;
}

async function holdsLock(gateway: LockHolder): Promise<boolean> {
  const holder = await liveHolder(fleetLockFile(gateway.fleet));
  return holder?.pid === gateway.pid;
}
