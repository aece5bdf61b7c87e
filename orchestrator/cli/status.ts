import type { DockerInstance } from '../runtime/docker/docker-runtime.ts';
import { fetchFromRunningGateway } from './gateway-client.ts';
import { stateDirOf } from './options.ts';
import { formatDuration, renderTable } from './table.ts';

interface GatewayDeployment {
  route: string;
  gpus: number[];
  state: string;
  phase?: string;
  upstream?: string;
  restarts?: number;
  since?: string;
  runtime?: string;
  instance?: string | null;
}

/**
 * What runs: the running gateway's view (every runtime, with live state) merged with Docker's
 * (containers exist even while no `up` runs).
 */
export async function status(options: { stateDir?: string }): Promise<number> {
  const fromGateway = (await fetchFromRunningGateway(stateDirOf(options.stateDir), '/info')) as { deployments?: GatewayDeployment[] } | undefined;
  const containers = await dockerInstances();
  const keys = new Set([...(fromGateway?.deployments ?? []).map((d) => d.route.replace(/^\//, '')), ...containers.map((c) => c.key)]);
  if (!keys.size) {
    console.log(fromGateway ? 'the gateway runs no deployments' : 'nothing is running (no gateway answers for this state dir, and no TGI containers of this project exist)');
    return 0;
  }
  const rows = [...keys].sort().map((key) => {
    const live = fromGateway?.deployments?.find((d) => d.route.replace(/^\//, '') === key);
    const container = containers.find((c) => c.key === key);
    const port = container?.hostPort ?? (live?.upstream ? new URL(live.upstream).port : '');
    const state = live ? `${live.state}${live.phase ? ` (${live.phase})` : ''}` : `${container!.status} (no gateway)`;
    const since = live?.since ? Date.parse(live.since) : container?.createdAt;
    return [key, container ? container.name : live?.instance ? `${live.runtime === 'docker' ? '' : 'pid '}${live.instance}` : '-', container?.gpus ?? live?.gpus.join(',') ?? '', String(port), state, since ? formatDuration(Date.now() - since) : '', String(live?.restarts ?? '')];
  });
  console.log(renderTable(['DEPLOYMENT', 'CONTAINER', 'GPU', 'HOST PORT', 'STATE', 'UPTIME', 'RESTARTS'], rows));
  return 0;
}

async function dockerInstances(): Promise<DockerInstance[]> {
  try {
    const { pingDocker } = await import('../runtime/docker/client.ts');
    await pingDocker();
    const { DockerRuntime } = await import('../runtime/docker/docker-runtime.ts');
    return await new DockerRuntime().discover();
  } catch {
    return [];
  }
}
