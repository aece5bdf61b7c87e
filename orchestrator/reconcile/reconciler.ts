import type { DeploymentSpec, RuntimeKind } from '../config/types.ts';
import { Deployment } from '../deployment/deployment.ts';
import type { DeploymentTable } from '../deployment/table.ts';
import { log } from '../log.ts';
import type { Instance, Runtime } from '../runtime/runtime.ts';
import { describe, plan, type Action } from './plan.ts';

export interface ReconcilerOptions {
  table: DeploymentTable;
  runtime: (kind: RuntimeKind) => Runtime;
  /** How long a removed or replaced deployment may finish its in-flight requests. */
  drainTimeoutMs: () => number;
}

export interface ApplyResult {
  actions: Action[];
  /** Settles when every started, adopted or replaced deployment is ready or failed. */
  settled: Promise<void>;
}

/** Applies plans one at a time: a reload that arrives mid-apply waits for the previous one. */
export class Reconciler {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: ReconcilerOptions) {}

  apply(desired: readonly DeploymentSpec[], discovered: readonly Instance[] = []): Promise<ApplyResult> {
    const next = this.queue.then(() => this.applyNow(desired, discovered));
    // The next plan is made once this one's removals are done, so it sees a settled table.
    this.queue = next.then((result) => result.removed, () => undefined);
    return next.then(({ actions, settled }) => ({ actions, settled }));
  }

  /**
   * Updates the table at once (new routes answer 503 "pending" until ready; removed routes are gone),
   * then works in the background: removals first, so a GPU or a container name is free before
   * something else takes it, then starts, all in parallel.
   */
  private applyNow(desired: readonly DeploymentSpec[], discovered: readonly Instance[]): ApplyResult & { removed: Promise<unknown> } {
    const { table, runtime } = this.options;
    const actions = plan(desired, table.all(), discovered);
    for (const action of actions) log.info({ action: action.kind }, `reconcile: ${describe(action)}`);

    const removed = Promise.all(actions.map((action) => {
      if (action.kind === 'remove') { table.remove(action.current); return this.retire(action.current); }
      // Only containers outlive the orchestrator, so instances from an earlier run are Docker's.
      if (action.kind === 'remove-instance') return runtime('docker').removeInstance(action.instance);
      return undefined;
    })).catch((error) => log.error(`reconcile: removing failed: ${error instanceof Error ? error.message : error}`));

    const pending: Promise<void>[] = [removed.then(() => undefined)];
    for (const action of actions) {
      switch (action.kind) {
        case 'update':
          action.current.spec = action.spec;
          break;
        case 'adopt': {
          const d = new Deployment(action.spec);
          table.add(d);
          pending.push(removed.then(() => runtime(action.spec.runtime).adopt(d, action.instance)));
          break;
        }
        case 'start': {
          const d = new Deployment(action.spec);
          table.add(d);
          pending.push(removed.then(() => runtime(action.spec.runtime).start(d)));
          break;
        }
        case 'replace': {
          const d = new Deployment(action.spec);
          table.replace(d);
          pending.push(this.retire(action.current).then(() => runtime(action.spec.runtime).start(d)));
          break;
        }
      }
    }
    const settled = Promise.all(pending.map((p) => p.catch((error) => log.error(`reconcile: ${error instanceof Error ? error.message : error}`)))).then(() => undefined);
    return { actions, settled, removed };
  }

  /** Draining: no new requests reach d; in-flight ones may finish (up to the drain timeout); then stop. */
  private async retire(d: Deployment): Promise<void> {
    d.tryTransition('draining');
    const deadline = Date.now() + this.options.drainTimeoutMs();
    while (d.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (d.inFlight > 0) log.warn({ deployment: d.key, inFlight: d.inFlight }, `${d.key}: drain timeout with ${d.inFlight} request(s) still in flight; stopping anyway`);
    try {
      await this.options.runtime(d.spec.runtime).stop(d);
    } finally {
      d.tryTransition('stopped');
    }
  }
}
