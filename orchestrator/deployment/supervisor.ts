import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeploymentFailure, ServedDeployment, StateChange, Upstream } from '../../gateway/types.ts';
import type { DeploymentSpec } from '../config/types.ts';
import { CrashLoopDetector } from '../health/crash-loop.ts';
import { classifyFailure } from '../health/diagnose.ts';
import { phaseFromLogLine, SERVING } from '../health/phase.ts';
import { fetchInfo, probeHealth } from '../health/ready.ts';
import { log } from '../log.ts';
import { EngineUnreachable, type ObservedInstance, type RuntimeDriver } from '../runtime/driver.ts';
import type { RestartRecords } from './restart-records.ts';
import { restartDelayMs, retryDelayMs } from './retry-policy.ts';
import { canTransition, type DeploymentState } from './state.ts';

export interface SupervisorOptions {
  driver: RuntimeDriver;
  records: RestartRecords;
  /** Retry delays after failures (tests shorten them). */
  retryDelayMs?: (failedAttempts: number) => number;
  /** Exits within crashLoopWindowMs that make a crash loop (default 3 in 5 minutes). */
  crashLoopExits?: number;
  crashLoopWindowMs?: number;
}

const FAILURE_LOG_LINES = 15;
const HEALTH_POLL_MS = 250;
/** While loading or waiting for a restart, the instance is inspected this often besides its events. */
const OBSERVE_EVERY_MS = 5000;
/** While the engine is away, a deployment looks again this often (the engine's return also wakes it). */
const ENGINE_RETRY_MS = 5000;

/** The instance a supervisor runs, and what it has seen of it. */
interface Owned {
  id: string;
  name: string;
  upstream?: Upstream;
  /** The run last seen (ObservedInstance.runId); a different one means the instance restarted. */
  runId?: string;
  /** An exit of the run `runId` was counted already. */
  exitCounted: boolean;
  /** The instance has served (been ready) at least once: from then on an exit is a crash, not a failed load. */
  served: boolean;
}

/**
 * The one owner of one deployment's lifecycle: its state (expected-state transitions only), its
 * instance (through a runtime driver, which holds no state of its own), admission and drain of the
 * gateway's requests, readiness, crash loops, and retries with backoff. It is level-based: every
 * event only wakes it, and each pass looks at the instance as it is now and takes the next step
 * toward "ready", so missed or duplicated events and an engine that went away cannot confuse it.
 * Emits 'state' (StateChange) and 'phase'.
 */
export class DeploymentSupervisor extends EventEmitter implements ServedDeployment {
  private currentSpec: DeploymentSpec;
  private currentState: DeploymentState = 'pending';
  private currentPhase?: string;
  private enteredAt = Date.now();
  private owned?: Owned;
  private adoptCandidate?: ObservedInstance;
  private admitted = 0;
  private restartCount = 0;
  private failedAttempts = 0;
  private retryAt?: number;
  private failure?: DeploymentFailure;
  private info?: Record<string, unknown>;
  private serverStartedAt?: number;
  private readonly crashLoop: CrashLoopDetector;
  private readonly driver: RuntimeDriver;
  private readonly retryDelay: (failedAttempts: number) => number;

  /** A pass is running; `again` asks for one more when it ends. */
  private passing = false;
  private again = false;
  private idle: Promise<void> = Promise.resolve();
  /** Aborted to cut short the current wait (an exit, the engine's return, retirement). */
  private wake = new AbortController();
  private timer?: NodeJS.Timeout;
  private engineAway = false;
  /** How the instance last exited, from its exit event. */
  private lastExit?: string;
  /** The engine came back since the last look: the exits it caused do not count toward a crash loop. */
  private engineReturned = false;
  private retiring = false;
  private onHold = false;
  private detached = false;
  private drainWaiters: (() => void)[] = [];
  /** Resolves when a start gate (another deployment still holding this one's GPUs) opens. */
  private gate: Promise<void> = Promise.resolve();

  constructor(spec: DeploymentSpec, private readonly options: SupervisorOptions) {
    super();
    this.currentSpec = spec;
    this.driver = options.driver;
    this.retryDelay = options.retryDelayMs ?? ((n) => retryDelayMs(n));
    this.crashLoop = new CrashLoopDetector(options.crashLoopExits ?? 3, options.crashLoopWindowMs ?? 5 * 60_000);
  }

  // ── what the gateway and the dashboard read ─────────────────────────────────────────────────

  get key(): string { return this.currentSpec.key; }
  get spec(): DeploymentSpec { return this.currentSpec; }
  get state(): DeploymentState { return this.currentState; }
  get isReady(): boolean { return this.currentState === 'ready'; }
  get phase(): string | undefined { return this.currentPhase; }
  get since(): number { return this.enteredAt; }
  get startedAt(): number | undefined { return this.serverStartedAt; }
  get upstream(): Upstream | undefined { return this.owned?.upstream; }
  get instanceId(): string | undefined { return this.owned?.id; }
  get instanceName(): string | undefined { return this.owned?.name; }
  get inFlight(): number { return this.admitted; }
  get restarts(): number { return this.restartCount; }
  get attempts(): number { return this.failedAttempts; }
  get nextRetryAt(): number | undefined { return this.retryAt; }
  get lastFailure(): DeploymentFailure | undefined { return this.failure; }
  get tgiInfo(): Record<string, unknown> | undefined { return this.info; }
  get runtimeKind(): RuntimeDriver['kind'] { return this.driver.kind; }
  /** Registered but not started: waiting until its runtime can list instances (see hold()). */
  get held(): boolean { return this.onHold; }

  admit(): boolean {
    if (this.currentState !== 'ready') return false;
    this.admitted += 1;
    return true;
  }

  release(): void {
    if (this.admitted === 0) return;
    this.admitted -= 1;
    if (this.admitted === 0) for (const done of this.drainWaiters.splice(0)) done();
  }

  // ── what the reconciler calls ───────────────────────────────────────────────────────────────

  /**
   * Starts supervising: adopts `candidate` (an instance from an earlier run with this exact
   * configuration) or makes a new instance once `gate` resolves (a predecessor freed the GPUs).
   */
  start(candidate?: ObservedInstance, gate?: Promise<void>): void {
    this.onHold = false;
    this.adoptCandidate = candidate;
    if (gate) this.gate = gate;
    this.poke();
  }

  /** Not started yet: its runtime cannot list instances now (the engine is away), so adoption must wait. */
  hold(detail: string): void {
    this.onHold = true;
    this.move(['pending'], 'down', detail);
  }

  /** A reload asks a failed deployment to try again now, whatever its backoff or cause. */
  retryNow(): void {
    if (this.currentState !== 'failed') return;
    this.retryAt = Date.now();
    this.poke();
  }

  /** Gateway-side settings (limits) changed: the server keeps running. */
  updateSpec(spec: DeploymentSpec): void {
    this.currentSpec = spec;
  }

  /** Something may have changed (an event, a periodic look): take a pass. */
  poke(): void {
    if (this.retiring || this.detached || this.onHold) return;
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    this.idle = this.run();
  }

  /** An event about this deployment's instance: an exit cuts short any wait. */
  instanceEvent(what: 'start' | 'exit', detail?: string): void {
    if (what === 'exit') {
      // A restart policy may start it again before the next look: keep how it ended.
      if (detail) this.lastExit = detail;
      this.interrupt();
    }
    this.poke();
  }

  /** The engine behind the driver went away or came back. */
  engineChanged(reachable: boolean, detail: string): void {
    if (reachable) {
      // Also after a short drop that never looked like an outage: the engine may have restarted.
      const wasAway = this.engineAway;
      this.engineAway = false;
      this.engineReturned = true;
      if (wasAway) this.interrupt();
      this.poke();
      return;
    }
    this.engineLost(detail);
  }

  /** True when this supervisor runs (or is about to run) the instance. */
  owns(instanceId: string): boolean {
    return this.owned?.id === instanceId || this.adoptCandidate?.id === instanceId;
  }

  /** Resolves when no request is in flight any more, or after timeoutMs (false then). */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.admitted === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Resolves when the deployment is ready (true) or has failed / is being removed (false). */
  settled(): Promise<boolean> {
    const done = (s: DeploymentState) => s === 'ready' ? true : s === 'failed' || s === 'draining' || s === 'stopped' ? false : undefined;
    const now = done(this.currentState);
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => {
      const onState = (change: StateChange) => {
        const result = done(change.to);
        if (result === undefined) return;
        this.off('state', onState);
        resolve(result);
      };
      this.on('state', onState);
    });
  }

  /** Resolves once retirement has stopped the instance (its GPUs are free). */
  settledStopped(): Promise<void> {
    if (this.currentState === 'stopped') return Promise.resolve();
    return new Promise((resolve) => {
      const onState = (change: StateChange) => {
        if (change.to !== 'stopped') return;
        this.off('state', onState);
        resolve();
      };
      this.on('state', onState);
    });
  }

  /** Removal or replacement: no new requests, in-flight ones may finish (up to drainTimeoutMs), then the instance is stopped and removed. */
  async retire(drainTimeoutMs: number): Promise<void> {
    if (this.retiring) return;
    this.retiring = true;
    this.stopTimers();
    this.move(['pending', 'pulling', 'creating', 'loading', 'ready', 'down', 'failed'], 'draining');
    if (!(await this.drained(drainTimeoutMs))) {
      log.warn({ deployment: this.key, inFlight: this.admitted }, `${this.key}: drain timeout with ${this.admitted} request(s) still in flight; stopping anyway`);
    }
    await this.idle; // a pass under way finishes its current step (it sees `retiring` and stops there)
    try {
      await this.removeOwned();
    } catch (error) {
      log.warn(`${this.key}: removing its instance failed: ${messageOf(error)} (the next reconcile removes it)`);
    } finally {
      this.move(['draining'], 'stopped');
    }
  }

  /** `up` is exiting: stop watching, change nothing (containers keep running for the next `up`). */
  detach(): void {
    this.detached = true;
    this.stopTimers();
  }

  // ── the passes ──────────────────────────────────────────────────────────────────────────────

  private async run(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          if (error instanceof EngineUnreachable) this.engineLost(error.message);
          else if (!this.retiring && !this.detached) await this.fail(`unexpected error: ${messageOf(error)}`);
        }
      } while (this.again && !this.retiring && !this.detached);
    } finally {
      this.passing = false;
    }
  }

  /** One step toward "ready", from whatever the instance is now. */
  private async pass(): Promise<void> {
    if (this.stopping()) return;
    if (this.currentState === 'failed') {
      if (this.retryAt === undefined) return;
      if (Date.now() < this.retryAt) return this.observeLater(this.retryAt - Date.now());
      this.retryAt = undefined;
      this.crashLoop.reset();
      await this.removeOwned();
      this.move(['failed'], 'pending', `retrying (attempt ${this.failedAttempts + 1})`);
    }
    if (this.engineAway) return;
    if (!this.owned) {
      if (this.adoptCandidate) this.adopt(this.adoptCandidate);
      else if (!(await this.createInstance())) return;
    }
    const owned = this.owned!;
    const observed = await this.driver.inspect(owned.id);
    if (this.stopping() || this.owned !== owned) return;
    if (!observed) return this.lostInstance(owned);
    owned.name = observed.name; // a process instance gets a new pid on every start
    this.serverStartedAt = observed.startedAt ?? this.serverStartedAt;
    if (!(await this.noteRun(owned, observed))) return;
    if (observed.running) return this.awaitReady(owned);
    this.move(['ready', 'loading', 'pending'], 'down', observed.exit);
    if (observed.restarting) return this.observeLater(OBSERVE_EVERY_MS);
    // Stopped, and nothing will start it again by itself (a crash of a child process, `docker kill`).
    const delay = this.driver.restartsByItself ? 0 : restartDelayMs(this.crashLoop.recent());
    if (delay) {
      log.info(`${this.key}: starting ${owned.name} again in ${delay / 1000}s`);
      await sleep(delay, undefined, { signal: this.wake.signal }).catch(() => undefined);
      if (this.stopping() || this.owned !== owned) return;
    } else {
      log.warn(`${this.key}: ${owned.name} stopped and nothing will restart it (docker stop or kill, or the engine shutting down); starting it again`);
    }
    await this.driver.start(owned.id);
    this.again = true;
  }

  private adopt(candidate: ObservedInstance): void {
    this.adoptCandidate = undefined;
    this.owned = { id: candidate.id, name: candidate.name, upstream: candidate.upstream, runId: candidate.runId, exitCounted: !candidate.running, served: candidate.running };
    this.restartCount = this.options.records.restartsOf(this.key, candidate.id, candidate.runtimeRestarts);
    this.serverStartedAt = candidate.startedAt;
    this.record(candidate.runtimeRestarts);
  }

  /** Pulls, creates and starts a new instance. False when it did not get there (failed, retiring). */
  private async createInstance(): Promise<boolean> {
    await this.gate;
    if (this.stopping()) return false;
    try {
      await this.driver.prepare(this.currentSpec, () => this.move(['pending', 'down'], 'pulling'));
      if (this.stopping()) return false;
      this.move(['pending', 'pulling', 'down'], 'creating');
      const created = await this.driver.create(this.currentSpec);
      this.owned = { id: created.id, name: created.name, upstream: created.upstream, runId: created.runId, exitCounted: false, served: false };
      this.serverStartedAt = created.startedAt;
      this.record(created.runtimeRestarts);
      if (this.stopping()) return false; // retire() removes it
      return true;
    } catch (error) {
      if (error instanceof EngineUnreachable || this.stopping()) throw error;
      await this.fail(messageOf(error));
      return false;
    }
  }

  /**
   * Compares the run now with the run last seen: a new run, or a stopped one, means the server
   * exited. Returns false when that ended the pass (a failed load, a crash loop).
   */
  private async noteRun(owned: Owned, observed: ObservedInstance): Promise<boolean> {
    const newRun = observed.runId !== undefined && owned.runId !== undefined && observed.runId !== owned.runId;
    const ended = newRun ? !owned.exitCounted : !observed.running && !owned.exitCounted;
    if (newRun) owned.runId = observed.runId;
    if (owned.runId === undefined) owned.runId = observed.runId;
    if (!ended) {
      if (newRun) owned.exitCounted = false;
      return true;
    }
    owned.exitCounted = !newRun;
    const how = observed.exit ?? this.lastExit ?? 'restarted';
    this.lastExit = undefined;
    if (!owned.served) {
      await this.failLoad(owned, `${owned.name} exited (${how}) while loading`, newRun ? observed.startedAt : undefined);
      return false;
    }
    this.restartCount += 1;
    this.record(observed.runtimeRestarts);
    this.move(['ready', 'loading'], 'down', how);
    // The engine's own restart stops every container: that is no sign of a crashing server.
    const engineRestart = this.engineReturned;
    this.engineReturned = false;
    if (!engineRestart && this.crashLoop.recordExit()) {
      await this.giveUp(owned, `crash loop: ${owned.name} exited ${this.crashLoop.maxExits} times within ${this.crashLoop.windowMs / 60_000} minutes (last: ${how})`);
      return false;
    }
    return true;
  }

  /** Polls /health until the server answers (ready), exits, stalls past the load timeout, or the pass is interrupted. */
  private async awaitReady(owned: Owned): Promise<void> {
    if (this.currentState === 'ready') return this.observeLater(0);
    const upstream = owned.upstream;
    if (!upstream) return this.failLoad(owned, `${owned.name} publishes no port on 127.0.0.1, so the gateway cannot reach it`);
    if ((this.currentState === 'pending' || this.currentState === 'down') && (await probeHealth(upstream))) {
      return this.becomeReady(owned, this.currentState === 'pending' ? `adopted ${owned.name}` : `${owned.name} answers again`);
    }
    this.move(['pending', 'creating', 'down'], 'loading', `${owned.name} on 127.0.0.1:${upstream.port}`);
    const wake = this.wake.signal;
    let lastProgress = Date.now();
    // The server's "now serving" log line cuts the current wait short, so readiness is seen at once.
    let probeNow = new AbortController();
    const following = new AbortController();
    const progressed = (phase: string | undefined) => {
      lastProgress = Date.now();
      if (phase === SERVING) probeNow.abort();
    };
    void this.followPhases(owned, progressed, AbortSignal.any([following.signal, wake]));
    let lastLook = Date.now();
    try {
      while (!wake.aborted && !this.stopping() && this.owned === owned) {
        if (probeNow.signal.aborted) probeNow = new AbortController();
        if (await probeHealth(upstream)) return await this.becomeReady(owned);
        // models.yaml's load_timeout: time without progress, so a long download that advances is never cut.
        const loadTimeoutMs = this.currentSpec.loadTimeoutMs;
        if (Date.now() - lastProgress > loadTimeoutMs) {
          return await this.failLoad(owned, `${owned.name} made no progress for ${formatMinutes(loadTimeoutMs)} while loading (no new log line, not healthy); if it is still working (a slow download, a long warm-up), raise load_timeout for ${this.currentSpec.model} in models.yaml`);
        }
        if (Date.now() - lastLook > OBSERVE_EVERY_MS) {
          lastLook = Date.now();
          const observed = await this.driver.inspect(owned.id);
          if (!observed?.running || observed.runId !== owned.runId) {
            this.again = true;
            return;
          }
        }
        await sleep(HEALTH_POLL_MS, undefined, { signal: AbortSignal.any([wake, probeNow.signal]) }).catch(() => undefined);
      }
      this.again = true;
    } finally {
      following.abort();
    }
  }

  private async becomeReady(owned: Owned, detail?: string): Promise<void> {
    this.info = await fetchInfo(owned.upstream!);
    if (this.stopping() || this.owned !== owned) return;
    owned.served = true;
    this.failedAttempts = 0;
    this.failure = undefined;
    this.engineReturned = false;
    this.move(['pending', 'loading', 'down'], 'ready', detail);
  }

  /** Reads the loading phase from the server's log; every new line counts as progress (with the phase it shows, if any). */
  private async followPhases(owned: Owned, progressed: (phase: string | undefined) => void, signal: AbortSignal): Promise<void> {
    try {
      for await (const line of this.driver.logLines(owned.id, { follow: true, since: this.serverStartedAt, signal })) {
        const phase = phaseFromLogLine(line, this.currentSpec.engine);
        progressed(phase);
        if (phase && phase !== SERVING && this.currentState === 'loading') this.setPhase(phase);
      }
    } catch (error) {
      if (!signal.aborted) log.debug(`${this.key}: stopped following the log of ${owned.name}: ${messageOf(error)}`);
    }
  }

  /** The instance is gone (removed from outside): start a new one. */
  private lostInstance(owned: Owned): void {
    log.warn(`${this.key}: ${owned.name} no longer exists (removed from outside the orchestrator); creating a new one`);
    this.owned = undefined;
    this.options.records.forget(this.key, owned.id);
    if (owned.served && this.currentState !== 'failed') {
      this.restartCount += 1;
      if (this.crashLoop.recordExit()) {
        void this.fail(`crash loop: ${owned.name} went away ${this.crashLoop.maxExits} times within ${this.crashLoop.windowMs / 60_000} minutes`);
        return;
      }
    }
    this.move(['ready', 'loading', 'pending', 'creating'], 'down', 'instance removed');
    this.again = true;
  }

  /** A load failed: keep its last log lines, remove the instance, fail (a retry starts afresh). */
  private async failLoad(owned: Owned, message: string, until?: number): Promise<void> {
    const logTail = await this.lastLines(owned, until);
    if (this.owned === owned) this.owned = undefined;
    await this.driver.remove(owned.id).catch((error) => log.warn(`${this.key}: could not remove ${owned.name}: ${messageOf(error)}`));
    this.options.records.forget(this.key, owned.id);
    await this.fail(message, logTail);
  }

  /** A serving instance cannot be kept up: fail and stop it, kept for inspection until the retry. */
  private async giveUp(owned: Owned, message: string): Promise<void> {
    const logTail = await this.lastLines(owned);
    await this.fail(message, logTail);
    await this.driver.stop(owned.id).catch((error) => log.warn(`${this.key}: could not stop ${owned.name}: ${messageOf(error)}`));
  }

  private async fail(message: string, logTail: string[] = []): Promise<void> {
    if (this.stopping()) return;
    const { diagnosis, permanent } = classifyFailure({ error: message, logTail, env: this.currentSpec.env });
    this.failedAttempts += 1;
    this.failure = { message, diagnosis, logTail };
    this.retryAt = permanent ? undefined : Date.now() + this.retryDelay(this.failedAttempts);
    const next = this.retryAt === undefined ? 'waiting for a change of models.yaml (or SIGHUP) to try again' : `retrying in ${formatSeconds(this.retryAt - Date.now())} (attempt ${this.failedAttempts + 1})`;
    if (!this.move(['pending', 'pulling', 'creating', 'loading', 'ready', 'down'], 'failed', `${message}${diagnosis ? `: ${diagnosis}` : ''}; ${next}`)) return;
    if (logTail.length) log.error({ deployment: this.key }, `${this.key}: last log lines:\n  ${logTail.join('\n  ')}`);
    if (this.retryAt !== undefined) this.observeLater(this.retryAt - Date.now());
  }

  private engineLost(detail: string): void {
    if (this.stopping()) return;
    if (!this.engineAway) this.engineAway = true;
    this.interrupt();
    this.move(['pending', 'pulling', 'creating', 'loading', 'ready'], 'down', `${detail}; waiting for it to come back`);
    this.observeLater(ENGINE_RETRY_MS, () => {
      this.engineAway = false;
      this.engineReturned = true;
    });
  }

  private async lastLines(owned: Owned, until?: number): Promise<string[]> {
    try {
      const lines: string[] = [];
      for await (const line of this.driver.logLines(owned.id, { follow: false, tail: FAILURE_LOG_LINES, until })) lines.push(line);
      return lines;
    } catch (error) {
      log.debug(`${this.key}: reading the log of ${owned.name}: ${messageOf(error)}`);
      return [];
    }
  }

  private async removeOwned(): Promise<void> {
    const owned = this.owned;
    this.adoptCandidate = undefined;
    if (!owned) return;
    this.owned = undefined;
    await this.driver.remove(owned.id);
    this.options.records.forget(this.key, owned.id);
  }

  private record(runtimeRestarts: number): void {
    if (this.owned) this.options.records.set(this.key, { instanceId: this.owned.id, restarts: this.restartCount, runtimeRestarts });
  }

  // ── state, timers ───────────────────────────────────────────────────────────────────────────

  /** The one place the state changes: only from one of the `expected` states, and only along the table. */
  private move(expected: readonly DeploymentState[], to: DeploymentState, detail?: string): boolean {
    const from = this.currentState;
    if (from === to || !expected.includes(from)) return false;
    if (!canTransition(from, to)) throw new Error(`deployment ${this.key}: ${from} → ${to} is not in the state table`);
    const elapsedMs = Date.now() - this.enteredAt;
    this.currentState = to;
    this.enteredAt = Date.now();
    if (to !== 'loading') this.currentPhase = undefined;
    const level = to === 'failed' ? 'error' : to === 'down' ? 'warn' : 'info';
    log[level]({ deployment: this.key, from, to, elapsedMs }, `${this.key}: ${from} → ${to}${detail ? ` (${detail})` : ''} after ${(elapsedMs / 1000).toFixed(1)}s`);
    const change: StateChange = { key: this.key, from, to, detail, at: this.enteredAt };
    this.emit('state', change);
    return true;
  }

  private setPhase(phase: string): void {
    if (this.currentPhase === phase) return;
    this.currentPhase = phase;
    log.info({ deployment: this.key, phase }, `${this.key}: ${phase}`);
    this.emit('phase', phase);
  }

  private stopping(): boolean {
    return this.retiring || this.detached;
  }

  private interrupt(): void {
    this.wake.abort();
    this.wake = new AbortController();
  }

  /** Takes another pass after delayMs (then runs `before`). */
  private observeLater(delayMs: number, before?: () => void): void {
    if (this.stopping()) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      before?.();
      this.poke();
    }, Math.max(delayMs, 0) || OBSERVE_EVERY_MS * 6);
    this.timer.unref();
  }

  private stopTimers(): void {
    clearTimeout(this.timer);
    this.interrupt();
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function formatSeconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))}s`;
}

function formatMinutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} s`;
}
