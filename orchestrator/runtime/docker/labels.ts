import type { DeploymentSpec } from '../../config/types.ts';

// The labels that mark a container as ours. Only identity and the config hash (container-spec.ts) go here: labels are
// readable by anyone who can run `docker inspect`, so env (which holds HF_TOKEN) never does.
export const LABEL = {
  managed: 'tgi-fleet.managed',
  fleet: 'tgi-fleet.fleet',
  deployment: 'tgi-fleet.deployment',
  model: 'tgi-fleet.model',
  gpus: 'tgi-fleet.gpus',
  configHash: 'tgi-fleet.config-hash',
} as const;

/** Fleets keep two orchestrators (or a test run and an operator's `up`) on one engine apart. */
export { DEFAULT_FLEET } from '../../config/expand.ts';

export function deploymentLabels(spec: DeploymentSpec, fleet: string): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.fleet]: fleet,
    [LABEL.deployment]: spec.key,
    [LABEL.model]: spec.model,
    [LABEL.gpus]: spec.gpus.join(','),
  };
}

/** Docker `label` filters (ANDed) that select this fleet's containers. */
export function fleetLabelFilters(fleet: string): string[] {
  return [`${LABEL.managed}=true`, `${LABEL.fleet}=${fleet}`];
}

export function belongsToFleet(labels: Record<string, string> | undefined, fleet: string): boolean {
  return labels?.[LABEL.managed] === 'true' && labels[LABEL.fleet] === fleet;
}
