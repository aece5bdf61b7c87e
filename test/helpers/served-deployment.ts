import { EventEmitter } from 'node:events';
import { canTransition } from '../../orchestrator/deployment/state.ts';
import type { DeploymentFailure, DeploymentStateName, ServedDeployment, ServedSpec, StateChange, Upstream } from '../../gateway/types.ts';

// A test double of the control plane for the gateway's tests (and the benchmarks): one deployment as
// the gateway sees it (ServedDeployment), whose state the test sets instead of a supervisor running a
// real server. The gateway is tested against its declared interface; the supervisor that implements
// it in production is tested on its own, against real processes and a real Docker engine.
//
// What it copies from the supervisor, because the gateway relies on it: state changes only along the
// state table (orchestrator/deployment/state.ts) and each one emits 'state' (a StateChange); leaving
// 'loading' clears the phase; admit() counts a request only while the state is 'ready'.

export class StubDeployment extends EventEmitter implements ServedDeployment {
  upstream?: Upstream;
  startedAt?: number;
  instanceId?: string;
  instanceName?: string;
  restarts = 0;
  attempts = 0;
  nextRetryAt?: number;
  lastFailure?: DeploymentFailure;
  tgiInfo?: Record<string, unknown>;
  private currentState: DeploymentStateName = 'pending';
  private currentPhase?: string;
  private enteredAt = Date.now();
  private admitted = 0;

  /** `spec` may be a whole DeploymentSpec: the gateway sees only its ServedSpec part. */
  constructor(readonly spec: ServedSpec, options: { upstream?: Upstream } = {}) {
    super();
    this.upstream = options.upstream;
  }

  get key(): string { return this.spec.key; }
  get state(): DeploymentStateName { return this.currentState; }
  get isReady(): boolean { return this.currentState === 'ready'; }
  get phase(): string | undefined { return this.currentPhase; }
  get since(): number { return this.enteredAt; }
  get inFlight(): number { return this.admitted; }

  admit(): boolean {
    if (this.currentState !== 'ready') return false;
    this.admitted += 1;
    return true;
  }

  release(): void {
    if (this.admitted > 0) this.admitted -= 1;
  }

  /**
   * Moves to `to` as the supervisor would, emitting 'state'. A move to the current state does
   * nothing; one the state table does not have throws (the supervisor never makes it).
   */
  setState(to: DeploymentStateName, detail?: string): this {
    const from = this.currentState;
    if (from === to) return this;
    if (!canTransition(from, to)) throw new Error(`StubDeployment ${this.key}: ${from} → ${to} is not in the state table`);
    this.currentState = to;
    this.enteredAt = Date.now();
    if (to !== 'loading') this.currentPhase = undefined;
    const change: StateChange = { key: this.key, from, to, detail, at: this.enteredAt };
    this.emit('state', change);
    return this;
  }

  /** pending → loading → ready, as a deployment that came up. */
  becomeReady(): this {
    if (this.currentState === 'pending') this.setState('loading');
    return this.setState('ready');
  }

  /** Loading detail, as the supervisor reads it from the server's log; emits 'phase'. */
  setPhase(phase: string): this {
    if (this.currentPhase === phase) return this;
    this.currentPhase = phase;
    this.emit('phase', phase);
    return this;
  }

  /** Keeps `failure` as lastFailure and moves to 'failed', with the detail the supervisor gives it. */
  fail(failure: DeploymentFailure): this {
    this.lastFailure = failure;
    return this.setState('failed', failure.diagnosis ? `${failure.message}: ${failure.diagnosis}` : failure.message);
  }
}
