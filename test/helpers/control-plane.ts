import assert from 'node:assert/strict';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import { RestartRecords } from '../../orchestrator/deployment/restart-records.ts';
import type { DeploymentState } from '../../orchestrator/deployment/state.ts';
import type { DeploymentSupervisor } from '../../orchestrator/deployment/supervisor.ts';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { Reconciler } from '../../orchestrator/reconcile/reconciler.ts';
import type { RuntimeDriver } from '../../orchestrator/runtime/driver.ts';

/** up's control plane without the gateway: a table, a reconciler and one runtime driver, as Fleet composes them. */
export class ControlPlane {
  readonly table = new DeploymentTable();
  readonly reconciler: Reconciler;

  constructor(readonly driver: RuntimeDriver, readonly records = new RestartRecords(), retryDelayMs = 1500) {
    this.reconciler = new Reconciler({
      table: this.table,
      driver: () => this.driver,
      records,
      drainTimeoutMs: () => 1000,
      supervisor: { retryDelayMs: () => retryDelayMs },
    });
  }

  /** models.yaml now asks for exactly these deployments. */
  async run(...specs: DeploymentSpec[]): Promise<void> {
    await this.reconciler.setDesired(specs);
  }

  get(key: string): DeploymentSupervisor {
    const found = this.table.get(key);
    assert.ok(found, `${key} is in the table`);
    return found;
  }

  async close(): Promise<void> {
    this.reconciler.close();
    await this.driver.close();
  }
}

/** Every state a deployment enters from now on. */
export function states(d: DeploymentSupervisor): DeploymentState[] {
  const seen: DeploymentState[] = [];
  d.on('state', (change: { to: DeploymentState }) => seen.push(change.to));
  return seen;
}
