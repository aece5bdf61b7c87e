import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { followFile } from '../runtime/follow-file.ts';
import { localLogFile } from '../runtime/process-driver.ts';
import { describeTarget, findFleet, type FleetTarget, type TargetOptions } from './fleet-target.ts';
import { fleetContainers } from './fleet-containers.ts';
import { fetchFromGateway } from './gateway-client.ts';

const DEPLOYMENT_KEY = /^[^/]+\/gpu[\d-]+$/;

/** A deployment's server log: its container's (docker) or its log file in the state dir (simulator, process). */
export async function logs(deployment: string, options: TargetOptions & { follow?: boolean; tail: number }): Promise<number> {
  const target = await findFleet(options);
  // On stderr, so the log itself can be piped on its own.
  console.error(describeTarget(target));
  for (const note of target.notes) console.error(`note: ${note}`);
  const key = deployment.replace(/^\//, '');
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const found = DEPLOYMENT_KEY.test(key) ? await findLog(target, key, { follow: Boolean(options.follow), tail: options.tail, signal: abort.signal }) : undefined;
  if (!found) {
    const what = DEPLOYMENT_KEY.test(key) ? `fleet "${target.fleet}" has no deployment "${key}"` : `"${deployment}" is not a deployment: use <model>/gpu<N>, e.g. hermes-2-pro-tgi/gpu0`;
    const known = await knownDeployments(target);
    const valid = known.length ? `valid ones: ${known.join(', ')}` : `it has none (see \`npm run status\`)`;
    const other = target.stateDirHeldBy ? `; state dir ${target.stateDir} is fleet "${target.stateDirHeldBy.fleet}"'s: add --fleet ${target.stateDirHeldBy.fleet}` : '';
    console.error(`${what}; ${valid}${other}`);
    return 1;
  }
  try {
    for await (const line of found) console.log(line);
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  return 0;
}

type LogRequest = { follow: boolean; tail: number; signal: AbortSignal };

async function findLog(target: FleetTarget, key: string, request: LogRequest): Promise<AsyncIterable<string> | undefined> {
  const container = (await fleetContainers(target.fleet)).find((i) => i.key === key);
  if (container) {
    const { dockerClient } = await import('../runtime/docker/client.ts');
    const { containerLogLines } = await import('../runtime/docker/container-logs.ts');
    return containerLogLines(dockerClient().getContainer(container.id), request);
  }
  const file = localLogFile(logDir(target), key);
  const exists = await access(file).then(() => true, () => false);
  return exists || (await gatewayDeployments(target)).includes(key) ? followFile(file, request) : undefined;
}

/** Every deployment the fleet's gateway, Docker or the state dir's log files know of. */
async function knownDeployments(target: FleetTarget): Promise<string[]> {
  const files = await readdir(logDir(target)).catch(() => [] as string[]);
  const fromFiles = files.filter((f) => f.endsWith('.log')).map((f) => f.slice(0, -'.log'.length).replace(/_(gpu[\d-]+)$/, '/$1'));
  const fromDocker = (await fleetContainers(target.fleet)).map((c) => c.key);
  return [...new Set([...(await gatewayDeployments(target)), ...fromDocker, ...fromFiles])].filter((k) => DEPLOYMENT_KEY.test(k)).sort();
}

async function gatewayDeployments(target: FleetTarget): Promise<string[]> {
  const gateway = target.running ?? target.recorded;
  if (!gateway) return [];
  const info = (await fetchFromGateway(gateway, '/info')) as { deployments?: { route: string }[] } | undefined;
  return (info?.deployments ?? []).map((d) => d.route.replace(/^\//, ''));
}

function logDir(target: FleetTarget): string {
  return join(target.stateDir, 'logs');
}
