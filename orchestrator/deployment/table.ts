import { EventEmitter } from 'node:events';
import type { DeploymentDirectory, ServedDeployment, StateChange } from '../../gateway/types.ts';
import type { DeploymentSupervisor } from './supervisor.ts';

/** What the table holds: a deployment that reports its state changes. */
export type TableEntry = ServedDeployment & Pick<EventEmitter, 'on' | 'off'>;

/**
 * The live set of deployments, keyed by route ("<model>/<gpuLabel>"). The reconciler writes it; the
 * gateway reads it through DeploymentDirectory (get / replicas / all) and listens to its events.
 * Events: 'added' and 'removed' (the deployment), 'state' (StateChange, from any deployment).
 */
export class DeploymentTable<D extends TableEntry = DeploymentSupervisor> extends EventEmitter implements DeploymentDirectory {
  private readonly byKey = new Map<string, D>();
  private readonly byModel = new Map<string, D[]>();
  private readonly forward = (change: StateChange) => this.emit('state', change);
  /** False until the first reconcile has registered models.yaml's deployments. */
  synced = false;

  get(key: string): D | undefined {
    return this.byKey.get(key);
  }

  /** Every replica of a model, in configuration order. */
  replicas(model: string): readonly D[] {
    return this.byModel.get(model) ?? [];
  }

  all(): D[] {
    return [...this.byKey.values()];
  }

  models(): string[] {
    return [...this.byModel.keys()];
  }

  add(d: D): void {
    if (this.byKey.has(d.key)) throw new Error(`deployment ${d.key} already exists`);
    this.byKey.set(d.key, d);
    this.byModel.set(d.spec.model, [...this.replicas(d.spec.model), d]);
    d.on('state', this.forward);
    this.emit('added', d);
  }

  /** A changed deployment takes over its predecessor's route, in the same place among its model's replicas. */
  replace(d: D): void {
    const old = this.byKey.get(d.key);
    if (!old) return this.add(d);
    this.byKey.set(d.key, d);
    this.byModel.set(d.spec.model, this.replicas(d.spec.model).map((r) => (r === old ? d : r)));
    old.off('state', this.forward);
    d.on('state', this.forward);
    this.emit('removed', old);
    this.emit('added', d);
  }

  remove(d: D): void {
    if (this.byKey.get(d.key) !== d) return;
    this.byKey.delete(d.key);
    const rest = this.replicas(d.spec.model).filter((r) => r !== d);
    if (rest.length) this.byModel.set(d.spec.model, rest);
    else this.byModel.delete(d.spec.model);
    d.off('state', this.forward);
    this.emit('removed', d);
  }
}
