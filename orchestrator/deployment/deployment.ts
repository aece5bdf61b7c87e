import { EventEmitter } from 'node:events';
import type { DeploymentSpec } from '../config/types.ts';
import { log } from '../log.ts';
import { canTransition, type DeploymentState } from './state.ts';

export interface Upstream {
  host: string;
  port: number;
  /** e.g. "http://127.0.0.1:32768" */
  url: string;
}

export interface DeploymentFailure {
  message: string;
  /** A known cause in operator terms, with what to do about it. */
  diagnosis?: string;
  /** The server's last log lines. */
  logTail: string[];
}

export interface StateChange {
  key: string;
  from: DeploymentState;
  to: DeploymentState;
  detail?: string;
  at: number;
}

/**
 * One replica's live record: its spec, its state (changed only through `transition`), where it
 * listens, and counters the gateway and the dashboard read. Emits 'state' (StateChange) and 'phase'.
 */
export class Deployment extends EventEmitter {
  state: DeploymentState = 'pending';
  /** Loading detail read from the server's log: "downloading weights", "loading shards", "warming up". */
  phase?: string;
  /** When the current state was entered (ms since epoch). */
  since = Date.now();
  upstream?: Upstream;
  /** Container id or process id of the running instance. */
  instanceId?: string;
  /** Requests the gateway is relaying to it right now. Maintained by the gateway. */
  inFlight = 0;
  /** Times the instance exited unexpectedly. */
  restarts = 0;
  lastFailure?: DeploymentFailure;
  /** The server's own GET /info, fetched once it is ready. */
  tgiInfo?: Record<string, unknown>;

  constructor(public spec: DeploymentSpec) {
    super();
  }

  get key(): string {
    return this.spec.key;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  /** The one place a deployment's state changes. Invalid transitions throw: they are bugs. */
  transition(to: DeploymentState, detail?: string): void {
    const from = this.state;
    if (from === to) return;
    if (!canTransition(from, to)) throw new Error(`deployment ${this.key}: invalid transition ${from} → ${to}`);
    const elapsedMs = Date.now() - this.since;
    this.state = to;
    this.since = Date.now();
    if (to !== 'loading') this.phase = undefined;
    const level = to === 'failed' ? 'error' : to === 'down' ? 'warn' : 'info';
    log[level]({ deployment: this.key, from, to, elapsedMs }, `${this.key}: ${from} → ${to}${detail ? ` (${detail})` : ''} after ${(elapsedMs / 1000).toFixed(1)}s`);
    const change: StateChange = { key: this.key, from, to, detail, at: this.since };
    this.emit('state', change);
  }

  /** Like transition, but a no-op when the move is not allowed (e.g. a late event for a draining deployment). */
  tryTransition(to: DeploymentState, detail?: string): boolean {
    if (this.state === to || !canTransition(this.state, to)) return false;
    this.transition(to, detail);
    return true;
  }

  setPhase(phase: string): void {
    if (this.phase === phase) return;
    this.phase = phase;
    log.info({ deployment: this.key, phase }, `${this.key}: ${phase}`);
    this.emit('phase', phase);
  }

  fail(failure: DeploymentFailure): void {
    this.lastFailure = failure;
    if (!this.tryTransition('failed', failure.diagnosis ? `${failure.message}: ${failure.diagnosis}` : failure.message)) return;
    if (failure.logTail.length) log.error({ deployment: this.key }, `${this.key}: last log lines:\n  ${failure.logTail.join('\n  ')}`);
  }
}
