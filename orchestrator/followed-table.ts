import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { DeploymentFailure, DeploymentStateName, GatewaySettings, GpuInfo, ServedDeployment, ServedSpec, StateChange, Upstream } from '../gateway/types.ts';
import { DeploymentTable } from './deployment/table.ts';
import type { Logger } from './log.ts';
import { parseServedView, servedViewPath, type ServedDeploymentView, type ServedView } from './served-view.ts';

// A gateway replica's deployments: `up`'s, as it publishes them in <stateDir>/served.json
// (orchestrator/served-view.ts), followed without being owned. Nothing here starts, stops or adopts
// a server; the one local say is admission (in-flight counts of this gateway's own requests).

/** How often served.json is read besides its folder's change events (which some file systems miss). */
const POLL_MS = 1000;

/** There is no fleet to follow in the state dir (or not one this version can read). */
export class NoFleetToFollow extends Error {}

/** One of `up`'s deployments as this replica follows it. Emits 'state' (StateChange) when its state changes. */
export class FollowedDeployment extends EventEmitter implements ServedDeployment {
  readonly key: string;
  /** Swapped in place when `up`'s changes (as its supervisor's is), so in-flight counts carry over. */
  spec!: ServedSpec;
  state!: DeploymentStateName;
  phase?: string;
  since!: number;
  startedAt?: number;
  upstream?: Upstream;
  readonly instanceId = undefined;
  instanceName?: string;
  restarts!: number;
  attempts!: number;
  nextRetryAt?: number;
  lastFailure?: DeploymentFailure;
  tgiInfo?: Record<string, unknown>;
  inFlight = 0;

  constructor(view: ServedDeploymentView) {
    super();
    this.key = view.key;
    this.update(view);
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  admit(): boolean {
    if (!this.isReady) return false;
    this.inFlight += 1;
    return true;
  }

  release(): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
  }

  update(view: ServedDeploymentView): void {
    const from = this.state;
    Object.assign(this, {
      spec: view.spec,
      state: view.state,
      phase: view.phase,
      since: view.since,
      startedAt: view.startedAt,
      upstream: view.upstream,
      instanceName: view.instanceName,
      restarts: view.restarts,
      attempts: view.attempts,
      nextRetryAt: view.nextRetryAt,
      lastFailure: view.lastFailure,
      tgiInfo: view.tgiInfo,
    });
    if (from !== undefined && from !== view.state) {
      const change: StateChange = { key: this.key, from, to: view.state, at: view.since };
      this.emit('state', change);
    }
  }
}

/**
 * The replica's DeploymentDirectory and settings, kept in step with served.json: watched (its
 * folder, since it is replaced by a rename) and polled. When the `up` that writes it is gone, the
 * last known routes keep being served; that is logged once, and so is its return.
 */
export class FollowedTable {
  readonly table = new DeploymentTable<FollowedDeployment>();
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private lastText = '';
  private upGone = false;
  private unreadable = false;
  /** Told the settings of each new view `up` publishes (a replica follows gateway.keys_file with it). */
  onSettings?: (settings: GatewaySettings) => void | Promise<void>;
  /** One read at a time (the watcher and the poll both ask), so an older view never lands after a newer one. */
  private refreshing: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private view: ServedView,
    private readonly log: Logger,
  ) {}

  /** Reads served.json; NoFleetToFollow when there is none (no `up` has used the state dir). */
  static async open(stateDir: string, log: Logger): Promise<FollowedTable> {
    const file = servedViewPath(stateDir);
    const runUp = `run \`npm run up -- --state-dir ${stateDir}\` first`;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      throw new NoFleetToFollow(`no fleet in ${stateDir}: no \`npm run up\` has published its deployments there (${basename(file)} is missing); ${runUp}`);
    }
    const view = parseServedView(text, file);
    if (typeof view === 'string') throw new NoFleetToFollow(`${view}; ${runUp}`);
    const followed = new FollowedTable(file, view, log);
    followed.apply(view, text);
    return followed;
  }

  get settings(): GatewaySettings {
    return this.view.settings;
  }

  get gpus(): GpuInfo[] {
    return this.view.gpus ?? [];
  }

  get fleet(): string {
    return this.view.fleet;
  }

  /** The `up` whose view this is. */
  get upPid(): number {
    return this.view.pid;
  }

  start(): void {
    this.watcher = watch(dirname(this.file), (_event, name) => {
      if (name === basename(this.file)) void this.refresh();
    });
    this.poll = setInterval(() => void this.refresh(), POLL_MS);
    this.poll.unref();
  }

  stop(): void {
    this.watcher?.close();
    clearInterval(this.poll);
  }

  /** Reads served.json again and applies what changed; an unreadable file keeps the last view (said once). */
  refresh(): Promise<void> {
    this.refreshing = this.refreshing.then(() => this.readAndApply()).catch((error: Error) => this.log.error(`following ${this.file} failed (${error.message}); still serving the last known routes`));
    return this.refreshing;
  }

  private async readAndApply(): Promise<void> {
    this.checkUp();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      return this.cannotRead(`${this.file} could not be read (${(error as Error).message})`);
    }
    if (text === this.lastText) return;
    const view = parseServedView(text, this.file);
    if (typeof view === 'string') return this.cannotRead(view);
    this.unreadable = false;
    if (view.pid !== this.view.pid) {
      this.log.info(`following the deployments of up (pid ${view.pid}) of fleet "${view.fleet}"`);
      this.upGone = false;
    }
    this.view = view;
    this.apply(view, text);
    await this.onSettings?.(view.settings);
  }

  private apply(view: ServedView, text: string): void {
    this.lastText = text;
    const seen = new Set<string>();
    for (const d of view.deployments) {
      seen.add(d.key);
      const known = this.table.get(d.key);
      if (known) known.update(d);
      else this.table.add(new FollowedDeployment(d));
    }
    for (const d of this.table.all()) if (!seen.has(d.key)) this.table.remove(d);
    this.table.synced = view.synced;
  }

  private cannotRead(problem: string): void {
    if (!this.unreadable) this.log.error(`${problem}; still serving the last known routes (${this.table.all().length} deployment(s)) until it can be read`);
    this.unreadable = true;
  }

  /** Logs once when the `up` that publishes the view stops, and once when it (or a new one) is back. */
  private checkUp(): void {
    const alive = isAlive(this.view.pid);
    if (!alive && !this.upGone) {
      const routes = this.table.all().map((d) => `/${d.key}`);
      this.log.warn(`up (pid ${this.view.pid}) of fleet "${this.view.fleet}" is not running: serving the last known routes (${routes.join(', ') || 'none'}) as it left them until an up publishes again`);
    } else if (alive && this.upGone) {
      this.log.info(`up (pid ${this.view.pid}) of fleet "${this.view.fleet}" is running: following its deployments again`);
    }
    this.upGone = !alive;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
