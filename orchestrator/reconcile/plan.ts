import type { DeploymentSpec } from '../config/types.ts';
import type { Deployment } from '../deployment/deployment.ts';
import type { Instance } from '../runtime/runtime.ts';

// Level-based reconciliation: compare what models.yaml wants (desired specs) with what exists (the
// live deployments and, on first start, the instances found by the runtimes) and list the actions.
// The same plan serves first start, adoption of containers from an earlier run, and hot reload.

export type Action =
  /** A running instance from an earlier run has this exact configuration: take it over, no restart. */
  | { kind: 'adopt'; spec: DeploymentSpec; instance: Instance }
  /** Nothing runs for this spec yet. */
  | { kind: 'start'; spec: DeploymentSpec }
  /** The server's configuration changed: drain and stop the old instance, then start the new one. */
  | { kind: 'replace'; spec: DeploymentSpec; current: Deployment }
  /** Only gateway-side settings (limits) changed: swap the spec in place, the server keeps running. */
  | { kind: 'update'; spec: DeploymentSpec; current: Deployment }
  /** The entry is gone from models.yaml: drain and stop. */
  | { kind: 'remove'; current: Deployment }
  /** An instance from an earlier run that no spec wants (or that is stale): remove it. */
  | { kind: 'remove-instance'; instance: Instance };

export function plan(desired: readonly DeploymentSpec[], current: readonly Deployment[], discovered: readonly Instance[] = []): Action[] {
  const actions: Action[] = [];
  const currentByKey = new Map(current.map((d) => [d.key, d]));
  const wantedKeys = new Set(desired.map((s) => s.key));
  const instancesByKey = new Map<string, Instance[]>();
  for (const instance of discovered) instancesByKey.set(instance.key, [...(instancesByKey.get(instance.key) ?? []), instance]);

  for (const spec of desired) {
    const live = currentByKey.get(spec.key);
    if (live) {
      // A failed deployment is retried on every reload (SIGHUP or an edit), even when unchanged.
      if (live.spec.configHash !== spec.configHash || live.state === 'failed') actions.push({ kind: 'replace', spec, current: live });
      else if (JSON.stringify(live.spec) !== JSON.stringify(spec)) actions.push({ kind: 'update', spec, current: live });
      continue;
    }
    const candidates = instancesByKey.get(spec.key) ?? [];
    const adoptable = candidates.find((i) => i.running && i.configHash === spec.configHash);
    for (const stale of candidates) if (stale !== adoptable) actions.push({ kind: 'remove-instance', instance: stale });
    actions.push(adoptable ? { kind: 'adopt', spec, instance: adoptable } : { kind: 'start', spec });
  }

  for (const live of current) if (!wantedKeys.has(live.key)) actions.push({ kind: 'remove', current: live });
  for (const [key, instances] of instancesByKey) {
    if (wantedKeys.has(key) || currentByKey.has(key)) continue;
    for (const instance of instances) actions.push({ kind: 'remove-instance', instance });
  }
  return actions;
}

export function describe(action: Action): string {
  switch (action.kind) {
    case 'adopt': return `adopt ${action.spec.key} (container ${action.instance.id.slice(0, 12)})`;
    case 'start': return `start ${action.spec.key}`;
    case 'replace': return `replace ${action.spec.key} (${action.current.state === 'failed' ? 'retrying after failure' : 'configuration changed'})`;
    case 'update': return `update ${action.spec.key} (gateway limits changed)`;
    case 'remove': return `remove ${action.current.key}`;
    case 'remove-instance': return `remove stale instance ${action.instance.key} (${action.instance.id.slice(0, 12)})`;
  }
}
