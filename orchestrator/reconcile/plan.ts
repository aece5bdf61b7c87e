import type { DeploymentSpec } from '../config/types.ts';
import type { DeploymentState } from '../deployment/state.ts';
import type { ObservedInstance } from '../runtime/driver.ts';

// Level-based reconciliation: compare what models.yaml wants (desired specs) with what exists (the
// supervised deployments and the instances the runtimes report) and list the next actions. The same
// plan serves first start, adoption of containers from an earlier run, hot reload, recovery after
// the engine was away, and the periodic look. It is pure: reconciler.ts applies it.

/** A supervised deployment as the plan sees it. */
export interface Current {
  key: string;
  spec: DeploymentSpec;
  state: DeploymentState;
  /** Not started yet: waiting until its runtime can list its instances (the engine was away). */
  held: boolean;
  owns(instanceId: string): boolean;
}

export type Action<C extends Current = Current> =
  /** An instance from an earlier run has this exact configuration: take it over, no restart. */
  | { kind: 'adopt'; spec: DeploymentSpec; instance: ObservedInstance }
  /** Nothing runs for this spec yet. */
  | { kind: 'start'; spec: DeploymentSpec }
  /** A deployment held while its engine was away can start now (adopting `instance` when there is one). */
  | { kind: 'release'; current: C; instance?: ObservedInstance }
  /** The server's configuration changed: drain and stop this replica, then start its successor. */
  | { kind: 'replace'; spec: DeploymentSpec; current: C; rolling: boolean }
  /** Only gateway-side settings changed: swap the spec in place, the server keeps running. */
  | { kind: 'update'; spec: DeploymentSpec; current: C }
  /** A reload (edit, SIGHUP) asks a failed deployment to try again now. */
  | { kind: 'retry'; current: C }
  /** The entry is gone from models.yaml: drain and stop. */
  | { kind: 'remove'; current: C }
  /** An instance no deployment wants (left by an earlier run, or stale): remove it. */
  | { kind: 'remove-instance'; instance: ObservedInstance };

export interface PlanInput<C extends Current> {
  desired: readonly DeploymentSpec[];
  current: readonly C[];
  /** Instances per runtime kind; a kind whose engine could not be listed is absent. */
  observed: ReadonlyMap<string, readonly ObservedInstance[]>;
  /** Instance ids that deployments being retired still hold. */
  retiringOwn: (instanceId: string) => boolean;
  /** The hash of what a spec's runtime would send for it. */
  hashOf: (spec: DeploymentSpec) => string;
  /** An explicit reload (edit, SIGHUP): failed deployments are retried at once. */
  reload: boolean;
}

export function plan<C extends Current>(input: PlanInput<C>): Action<C>[] {
  const { desired, current, observed, hashOf } = input;
  const actions: Action<C>[] = [];
  const currentByKey = new Map(current.map((c) => [c.key, c]));
  const wanted = new Map(desired.map((s) => [s.key, s]));
  const owned = (id: string) => input.retiringOwn(id) || current.some((c) => c.owns(id));
  const unowned = new Map<string, ObservedInstance[]>();
  for (const instances of observed.values()) {
    for (const instance of instances) if (!owned(instance.id)) unowned.set(instance.key, [...(unowned.get(instance.key) ?? []), instance]);
  }
  /** The instance to adopt for a spec (running ones first) and the stale ones to remove. */
  const candidatesFor = (spec: DeploymentSpec) => {
    const found = unowned.get(spec.key) ?? [];
    const hash = hashOf(spec);
    const adoptable = found.filter((i) => i.configHash === hash).sort((a, b) => Number(b.running) - Number(a.running))[0];
    return { adoptable, stale: found.filter((i) => i !== adoptable) };
  };

  const changed: { spec: DeploymentSpec; current: C }[] = [];
  for (const spec of desired) {
    const live = currentByKey.get(spec.key);
    if (!live) {
      if (!observed.has(spec.runtime)) {
        actions.push({ kind: 'start', spec }); // held by the reconciler until its engine answers
        continue;
      }
      const { adoptable, stale } = candidatesFor(spec);
      for (const instance of stale) actions.push({ kind: 'remove-instance', instance });
      actions.push(adoptable ? { kind: 'adopt', spec, instance: adoptable } : { kind: 'start', spec });
      continue;
    }
    if (live.held) {
      if (!observed.has(spec.runtime)) continue;
      const { adoptable, stale } = candidatesFor(live.spec);
      for (const instance of stale) actions.push({ kind: 'remove-instance', instance });
      actions.push({ kind: 'release', current: live, instance: adoptable });
      continue;
    }
    if (hashOf(live.spec) !== hashOf(spec)) changed.push({ spec, current: live });
    else {
      if (JSON.stringify(live.spec) !== JSON.stringify(spec)) actions.push({ kind: 'update', spec, current: live });
      if (input.reload && live.state === 'failed') actions.push({ kind: 'retry', current: live });
    }
  }
  actions.push(...rollout(changed, current));

  for (const live of current) if (!wanted.has(live.key)) actions.push({ kind: 'remove', current: live });
  for (const [key, instances] of unowned) {
    if (wanted.has(key)) continue;
    for (const instance of instances) actions.push({ kind: 'remove-instance', instance });
  }
  return actions;
}

/**
 * Which changed replicas are replaced now. Replicas that do not serve (not ready) are replaced at
 * once: that costs no capacity. Serving ones go one at a time, and only while every other replica of
 * their model is ready, so a model with two or more replicas keeps answering throughout; a new
 * configuration that fails on its first replica stops the rollout there.
 */
function rollout<C extends Current>(changed: { spec: DeploymentSpec; current: C }[], current: readonly C[]): Action<C>[] {
  const actions: Action<C>[] = [];
  const byModel = new Map<string, { spec: DeploymentSpec; current: C }[]>();
  for (const change of changed) byModel.set(change.spec.model, [...(byModel.get(change.spec.model) ?? []), change]);
  for (const [model, changes] of byModel) {
    const replicas = current.filter((c) => c.spec.model === model);
    const idle = changes.filter((c) => c.current.state !== 'ready');
    for (const change of idle) actions.push({ kind: 'replace', ...change, rolling: false });
    if (idle.length) continue;
    const next = changes[0];
    const othersReady = replicas.every((r) => r === next.current || r.state === 'ready');
    if (othersReady) actions.push({ kind: 'replace', ...next, rolling: replicas.length > 1 });
  }
  return actions;
}

export function describe(action: Action): string {
  switch (action.kind) {
    case 'adopt': return `adopt ${action.spec.key} (${action.instance.name}${action.instance.running ? '' : ', stopped: starting it'})`;
    case 'start': return `start ${action.spec.key}`;
    case 'release': return `start ${action.current.key} (its engine answers again${action.instance ? `; adopting ${action.instance.name}` : ''})`;
    case 'replace': return `replace ${action.spec.key} (configuration changed${action.rolling ? '; one replica at a time, the others keep serving' : ''})`;
    case 'update': return `update ${action.spec.key} (gateway settings changed; the server keeps running)`;
    case 'retry': return `retry ${action.current.key} now (reload)`;
    case 'remove': return `remove ${action.current.key}`;
    case 'remove-instance': return `remove ${action.instance.name} (${action.instance.key || 'no deployment'}: not in models.yaml or stale)`;
  }
}
