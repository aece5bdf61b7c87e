import type { DeploymentSpec, RuntimeKind } from '../config/types.ts';
import type { RestartRecords } from '../deployment/restart-records.ts';
import { DeploymentSupervisor, type SupervisorOptions } from '../deployment/supervisor.ts';
import type { DeploymentTable } from '../deployment/table.ts';
import { log } from '../log.ts';
import { EngineUnreachable, type DriverEvent, type ObservedInstance, type RuntimeDriver } from '../runtime/driver.ts';
import { describe, plan, type Action } from './plan.ts';

export interface ReconcilerOptions {
  table: DeploymentTable;
  /** The driver for a runtime kind (prepared by the fleet before the specs that need it are set). */
  driver: (kind: RuntimeKind) => RuntimeDriver;
  records: RestartRecords;
  /** How long a removed or replaced deployment may finish its in-flight requests. */
  drainTimeoutMs: () => number;
  /** The periodic look (default 30 s). */
  periodMs?: number;
  supervisor?: Omit<SupervisorOptions, 'driver' | 'records'>;
}

const STATE_CHANGE_DEBOUNCE_MS = 100;

/**
 * Keeps converging on models.yaml, like a Kubernetes controller: desired state (the specs) against
 * observed state (the supervisors and what the runtimes list), on every edit, on every deployment
 * state change (that is how a rollout moves on), on runtime events (an unknown container of this
 * fleet, the engine's return), and every periodMs. One pass at a time; a request for a pass during
 * one runs one more pass after it.
 */
export class Reconciler {
  private desired: readonly DeploymentSpec[] = [];
  private readonly retiring = new Set<DeploymentSupervisor>();
  private readonly held = new Set<DeploymentSupervisor>();
  private readonly subscribed = new Set<RuntimeDriver>();
  private passing?: Promise<Action<DeploymentSupervisor>[]>;
  private again?: { reload: boolean };
  private debounce?: NodeJS.Timeout;
  private periodic?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: ReconcilerOptions) {
    options.table.on('state', (change: { to: string }) => {
      if (change.to === 'ready' || change.to === 'failed' || change.to === 'stopped' || change.to === 'down') this.trigger();
    });
  }

  /** New desired state (first start, an edit): reconciles now; resolves with this pass's actions. */
  setDesired(specs: readonly DeploymentSpec[], reason: { reload: boolean } = { reload: false }): Promise<Action<DeploymentSupervisor>[]> {
    this.desired = specs;
    const result = this.pass(reason);
    this.startPeriodic();
    return result;
  }

  /** Asks for a pass soon (several asks in quick succession make one pass). */
  trigger(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => void this.pass({ reload: false }), STATE_CHANGE_DEBOUNCE_MS);
    this.debounce.unref();
  }

  /** Resolves when every deployment in the table is ready or has failed. */
  async settled(): Promise<void> {
    await this.passing;
    await Promise.all(this.options.table.all().map((s) => s.settled()));
  }

  /** `up` is exiting: stop watching; running containers are left as they are. */
  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    clearInterval(this.periodic);
    for (const s of this.options.table.all()) s.detach();
  }

  private startPeriodic(): void {
    if (this.periodic || this.closed) return;
    this.periodic = setInterval(() => {
      void this.pass({ reload: false });
      for (const s of this.options.table.all()) s.poke();
    }, this.options.periodMs ?? 30_000);
    this.periodic.unref();
  }

  private pass(reason: { reload: boolean }): Promise<Action<DeploymentSupervisor>[]> {
    if (this.closed) return Promise.resolve([]);
    if (this.passing) {
      this.again = { reload: reason.reload || Boolean(this.again?.reload) };
      return this.passing.then(() => this.passing ?? []);
    }
    const run = this.passNow(reason).finally(() => {
      this.passing = undefined;
      const again = this.again;
      this.again = undefined;
      if (again) void this.pass(again);
    });
    this.passing = run;
    return run;
  }

  private async passNow(reason: { reload: boolean }): Promise<Action<DeploymentSupervisor>[]> {
    const { table } = this.options;
    const kinds = new Set<RuntimeKind>([...this.desired.map((s) => s.runtime), ...table.all().map((s) => s.spec.runtime)]);
    const observed = new Map<string, ObservedInstance[]>();
    for (const kind of kinds) {
      const driver = this.options.driver(kind);
      this.subscribe(driver);
      try {
        observed.set(kind, await driver.list());
      } catch (error) {
        if (!(error instanceof EngineUnreachable)) throw error;
        log.debug(`reconcile: ${error.message}`);
      }
    }
    const actions = plan({
      desired: this.desired,
      current: table.all(),
      observed,
      retiringOwn: (id) => [...this.retiring].some((s) => s.owns(id)),
      hashOf: (spec) => this.options.driver(spec.runtime).configHash(spec),
      reload: reason.reload,
    });
    for (const action of actions) {
      log.info({ action: action.kind }, `reconcile: ${describe(action)}`);
      await this.apply(action, observed);
    }
    table.synced = true;
    return actions;
  }

  private async apply(action: Action<DeploymentSupervisor>, observed: ReadonlyMap<string, readonly ObservedInstance[]>): Promise<void> {
    const { table } = this.options;
    switch (action.kind) {
      case 'update':
        action.current.updateSpec(action.spec);
        return;
      case 'retry':
        action.current.retryNow();
        return;
      case 'adopt': {
        const s = this.supervise(action.spec);
        table.add(s);
        s.start(action.instance);
        return;
      }
      case 'start': {
        const s = this.supervise(action.spec);
        table.add(s);
        if (observed.has(action.spec.runtime)) s.start(undefined, this.gpusFreed(action.spec));
        else {
          this.held.add(s);
          s.hold(`${action.spec.runtime === 'docker' ? 'Docker' : 'its runtime'} is not reachable; starting once it is`);
        }
        return;
      }
      case 'release':
        this.held.delete(action.current);
        action.current.start(action.instance, this.gpusFreed(action.current.spec));
        return;
      case 'replace': {
        const successor = this.supervise(action.spec);
        table.replace(successor);
        this.held.delete(action.current);
        const retired = this.retire(action.current);
        successor.start(undefined, Promise.all([retired, this.gpusFreed(action.spec)]).then(() => undefined));
        return;
      }
      case 'remove':
        table.remove(action.current);
        this.held.delete(action.current);
        void this.retire(action.current);
        return;
      case 'remove-instance':
        await this.options.driver(this.kindOf(action.instance, observed)).remove(action.instance.id).catch((error) => {
          log.warn(`reconcile: removing ${action.instance.name} failed: ${error instanceof Error ? error.message : error} (tried again on the next pass)`);
        });
        return;
    }
  }

  private supervise(spec: DeploymentSpec): DeploymentSupervisor {
    return new DeploymentSupervisor(spec, { ...this.options.supervisor, driver: this.options.driver(spec.runtime), records: this.options.records });
  }

  private retire(s: DeploymentSupervisor): Promise<void> {
    this.retiring.add(s);
    return s.retire(this.options.drainTimeoutMs()).finally(() => {
      this.retiring.delete(s);
      this.trigger();
    });
  }

  /** Resolves once no deployment being retired holds one of spec's GPUs (two servers never share a GPU during a swap). */
  private gpusFreed(spec: DeploymentSpec): Promise<void> {
    const holders = [...this.retiring].filter((s) => s.spec.gpus.some((gpu) => spec.gpus.includes(gpu)));
    return Promise.all(holders.map((s) => s.settledStopped())).then(() => undefined);
  }

  private kindOf(instance: ObservedInstance, observed: ReadonlyMap<string, readonly ObservedInstance[]>): RuntimeKind {
    for (const [kind, instances] of observed) if (instances.includes(instance)) return kind as RuntimeKind;
    return 'docker';
  }

  /** Routes a driver's events to the supervisor that owns the instance; anything else asks for a pass. */
  private subscribe(driver: RuntimeDriver): void {
    if (this.subscribed.has(driver)) return;
    this.subscribed.add(driver);
    driver.onEvent((event: DriverEvent) => {
      if (this.closed) return;
      const supervisors = [...this.options.table.all(), ...this.retiring];
      if (event.kind === 'instance') {
        const owner = supervisors.find((s) => s.owns(event.id));
        if (owner) owner.instanceEvent(event.what, event.detail);
        else this.trigger();
      } else if (event.kind === 'unowned') {
        if (!supervisors.some((s) => s.owns(event.id))) this.trigger();
      } else {
        for (const s of supervisors) if (s.runtimeKind === driver.kind) s.engineChanged(event.reachable, event.detail);
        if (event.reachable) this.trigger();
      }
    });
  }
}
