import { runningFleets } from '../ownership.ts';
import { describeTarget, findFleet, type TargetOptions } from './fleet-target.ts';
import { fleetContainers } from './fleet-containers.ts';
import { fetchFromGateway } from './gateway-client.ts';
import { formatDuration, renderTable } from './table.ts';

/** A deployment as the gateway's /info describes it; the newer fields may be missing (older gateways). */
export interface GatewayDeployment {
  route: string;
  gpus: number[];
  state: string;
  phase?: string | null;
  upstream?: string | null;
  restarts?: number;
  since?: string;
  started_at?: string | null;
  attempts?: number;
  next_retry_at?: string | null;
  runtime?: string;
  /** "tgi", "vllm" or "sglang"; gateways from before engines existed leave it out (they ran TGI only). */
  engine?: string;
  instance?: string | null;
  /** "container tgi-…", "pid 4242". */
  instance_name?: string | null;
}

/**
 * What one fleet runs: its running gateway's view (every runtime, with live state) merged with Docker's
 * (containers exist even while no `up` runs).
 */
export async function status(options: TargetOptions): Promise<number> {
  const target = await findFleet(options);
  console.log(describeTarget(target));
  for (const note of target.notes) console.log(`note: ${note}`);
  if (target.stateDirHeldBy) console.log(`note: state dir ${target.stateDir} is used by fleet "${target.stateDirHeldBy.fleet}" (pid ${target.stateDirHeldBy.pid}): \`npm run status -- --fleet ${target.stateDirHeldBy.fleet}\` shows that one`);
  const gateway = target.running ?? target.recorded;
  const fromGateway = gateway ? ((await fetchFromGateway(gateway, '/info')) as { deployments?: GatewayDeployment[] } | undefined) : undefined;
  if (gateway && !fromGateway) console.log(`note: the gateway (pid ${gateway.pid}, port ${gateway.port}) did not answer /info with the token of ${gateway.stateDir}; showing Docker's view only`);
  const containers = await fleetContainers(target.fleet);
  const keys = new Set([...(fromGateway?.deployments ?? []).map((d) => d.route.replace(/^\//, '')), ...containers.map((c) => c.key)]);
  if (!keys.size) {
    const others = (await runningFleets()).filter((h) => h.fleet !== target.fleet).map((h) => h.fleet);
    const elsewhere = others.length ? `; running fleets: ${others.join(', ')} (\`npm run status -- --fleet NAME\`)` : '';
    console.log(fromGateway ? `the gateway runs no deployments${elsewhere}` : `nothing of fleet "${target.fleet}" is running (no gateway, no TGI containers)${elsewhere}`);
    return 0;
  }
  const rows = [...keys].sort().map((key) => {
    const live = fromGateway?.deployments?.find((d) => d.route.replace(/^\//, '') === key);
    const container = containers.find((c) => c.key === key);
    const port = container?.hostPort ?? (live?.upstream ? new URL(live.upstream).port : '');
    const started = live ? Date.parse(live.started_at ?? live.since ?? '') : container?.createdAt;
    return [
      key,
      engineOf(live),
      container ? container.name : live?.instance_name ?? '-',
      container?.gpus ?? live?.gpus.join(',') ?? '',
      String(port),
      live ? liveState(live) : `${container!.status} (no gateway)`,
      started && !Number.isNaN(started) ? formatDuration(Date.now() - started) : '',
      String(live?.restarts ?? ''),
    ];
  });
  console.log(renderTable(['DEPLOYMENT', 'ENGINE', 'CONTAINER', 'GPU', 'HOST PORT', 'STATE', 'UPTIME', 'RESTARTS'], rows));
  return 0;
}

/** The ENGINE column: from the gateway's /info ("-" in Docker's view alone, which does not record it). */
export function engineOf(live: Pick<GatewayDeployment, 'engine'> | undefined): string {
  if (!live) return '-';
  return live.engine ?? 'tgi';
}

/** "ready", "loading (warming up, 1 failed attempt)", "failed (3 failed attempts, retry in 40s)". */
export function liveState(d: Pick<GatewayDeployment, 'state' | 'phase' | 'attempts' | 'next_retry_at'>, now = Date.now()): string {
  const details: string[] = [];
  if (d.phase) details.push(d.phase);
  if (d.attempts) details.push(`${d.attempts} failed attempt${d.attempts === 1 ? '' : 's'}`);
  const retryAt = d.next_retry_at ? Date.parse(d.next_retry_at) : NaN;
  if (!Number.isNaN(retryAt)) details.push(`retry in ${formatDuration(retryAt - now)}`);
  return details.length ? `${d.state} (${details.join(', ')})` : d.state;
}
