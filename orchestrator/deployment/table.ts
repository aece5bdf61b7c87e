import { EventEmitter } from 'node:events';
import type { Deployment, StateChange } from './deployment.ts';

/**
 * The live set of deployments, keyed by route ("<model>/<gpuLabel>"). The orchestrator writes it;
 * the gateway only reads it (get / replicas / all) and listens to its events.
 * Events: 'added' (Deployment), 'removed' (Deployment), 'state' (StateChange, from any deployment).
 */
export class DeploymentTable extends EventEmitter {
  private readonly byKey = new Map<string, Deployment>();
  private readonly byModel = new Map<string, Deployment[]>();
  private readonly forward = (change: StateChange) => this.emit('state', change);

  get(key: string): Deployment | undefined {
    return this.byKey.get(key);
  }

  /** Every replica of a model, in configuration order. */
  replicas(model: string): readonly Deployment[] {
    return this.byModel.get(model) ?? [];
  }

  all(): Deployment[] {
    return [...this.byKey.values()];
  }

  models(): string[] {
    return [...this.byModel.keys()];
  }

  add(d: Deployment): void {
    if (this.byKey.has(d.key)) throw new Error(`deployment ${d.key} already exists`);
    this.byKey.set(d.key, d);
    this.byModel.set(d.spec.model, [...this.replicas(d.spec.model), d]);
    d.on('state', this.forward);
    this.emit('added', d);
  }

  /** Replaces the entry under d.key (a changed deployment taking over its route). */
  replace(d: Deployment): void {
    const old = this.byKey.get(d.key);
    if (old) this.remove(old);
    this.add(d);
  }

  remove(d: Deployment): void {
    if (this.byKey.get(d.key) !== d) return;
    this.byKey.delete(d.key);
    const rest = this.replicas(d.spec.model).filter((r) => r !== d);
    if (rest.length) this.byModel.set(d.spec.model, rest);
    else this.byModel.delete(d.spec.model);
    d.off('state', this.forward);
    this.emit('removed', d);
  }
}
