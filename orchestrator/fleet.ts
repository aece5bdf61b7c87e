import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { createGateway, type Gateway } from '../gateway/server.ts';
import type { GatewayNotice } from '../gateway/types.ts';
import { formatIssues } from './config/load.ts';
import type { FleetConfig, GatewaySettings, GpuInfo, RuntimeKind } from './config/types.ts';
import { loadFleetConfig } from './load-fleet-config.ts';
import { DeploymentTable } from './deployment/table.ts';
import { GpuPoller } from './gpus.ts';
import { log } from './log.ts';
import { Reconciler } from './reconcile/reconciler.ts';
import { commandRuntime, simulatorRuntime } from './runtime/local-runtimes.ts';
import type { Instance, Runtime } from './runtime/runtime.ts';
import { TokenStore } from './token.ts';

export interface FleetOptions {
  configFile: string;
  stateDir: string;
  /** Overrides gateway.port from the file. */
  port?: number;
  /** A token to use instead of the stored or generated one (VALID_TOKEN in the environment). */
  token?: string;
}

export class ConfigInvalidError extends Error {
  constructor(readonly report: string) {
    super(`models.yaml is invalid:\n${report}`);
  }
}

/**
 * The running service: the deployments, the runtimes that run them, the reconciler that follows
 * models.yaml, and the gateway in front. `npm run up` is a thin shell around this.
 */
export class Fleet {
  readonly table = new DeploymentTable();
  readonly events = new EventEmitter();
  private runtimes = new Map<RuntimeKind, Runtime>();
  private reconciler: Reconciler;
  private watchers: FSWatcher[] = [];
  private gpuPoller?: GpuPoller;
  private configDigest = '';
  private reloadTimer?: NodeJS.Timeout;
  gateway!: Gateway;
  port = 0;

  private constructor(
    private readonly options: FleetOptions,
    public config: FleetConfig,
    readonly tokens: TokenStore,
    private gpuInventory: GpuInfo[],
  ) {
    this.events.setMaxListeners(50);
    this.reconciler = new Reconciler({
      table: this.table,
      runtime: (kind) => {
        const runtime = this.runtimes.get(kind);
        if (!runtime) throw new Error(`no ${kind} runtime prepared`);
        return runtime;
      },
      drainTimeoutMs: () => this.config.gateway.drainTimeoutMs,
    });
  }

  /** Validates models.yaml, opens the token, starts the gateway and then the deployments (in parallel). */
  static async start(options: FleetOptions): Promise<{ fleet: Fleet; settled: Promise<void> }> {
    const configFile = resolve(options.configFile);
    const loaded = await loadFleetConfig(configFile);
    if (!loaded.ok) throw new ConfigInvalidError(formatIssues(loaded.issues));
    const tokens = await TokenStore.open(options.stateDir, options.token);
    const fleet = new Fleet({ ...options, configFile }, loaded.config, tokens, loaded.gpus);
    fleet.configDigest = await digestFile(configFile);

    await fleet.prepareRuntimes(loaded.config);
    fleet.gateway = createGateway({
      table: fleet.table,
      settings: () => fleet.settings,
      tokens,
      gpus: () => fleet.gpuPoller?.latest() ?? fleet.gpuInventory,
      events: fleet.events,
    });
    // The table is filled before the gateway listens, so /health never reports an empty fleet as healthy.
    const discovered: Instance[] = fleet.runtimes.has('docker') ? await fleet.runtimes.get('docker')!.discover() : [];
    const { settled } = await fleet.reconciler.apply(loaded.config.deployments, discovered);
    fleet.port = await fleet.gateway.listen(options.port ?? loaded.config.gateway.port, loaded.config.gateway.host);
    await fleet.writeStateFile();
    if (loaded.gpus.length) {
      fleet.gpuPoller = new GpuPoller();
      fleet.gpuPoller.start(5000);
    }
    fleet.watch();
    return { fleet, settled };
  }

  get settings(): GatewaySettings {
    return this.config.gateway;
  }

  /** Re-reads models.yaml: an invalid file changes nothing; a valid one is reconciled. */
  async reload(reason: string): Promise<{ applied: boolean; settled: Promise<void> }> {
    const unchanged = { applied: false, settled: Promise.resolve() };
    const running = this.table.all().map((d) => ({ model: d.spec.model, gpus: d.spec.gpus }));
    const loaded = await loadFleetConfig(this.options.configFile, running);
    if (!loaded.ok) {
      const report = formatIssues(loaded.issues);
      log.error(`reload (${reason}): models.yaml is invalid; the running configuration keeps serving:\n${report}`);
      this.notice('reload', `models.yaml rejected (${loaded.issues.length} problem(s)); still serving the previous configuration`);
      return unchanged;
    }
    await this.prepareRuntimes(loaded.config);
    this.config = loaded.config;
    if (loaded.gpus.length) this.gpuInventory = loaded.gpus;
    const { actions, settled } = await this.reconciler.apply(loaded.config.deployments);
    const summary = actions.length ? actions.map((a) => a.kind).join(', ') : 'no changes';
    log.info(`reload (${reason}): ${summary}`);
    this.notice('reload', `models.yaml reloaded (${reason}): ${summary}`);
    return { applied: true, settled };
  }

  /** Stops accepting, drains in-flight requests, stops what cannot outlive this process. */
  async shutdown(): Promise<void> {
    clearTimeout(this.reloadTimer);
    for (const w of this.watchers) w.close();
    this.gpuPoller?.stop();
    await this.gateway.close(this.config.gateway.drainTimeoutMs);
    await Promise.all([...this.runtimes.values()].map((r) => r.close()));
  }

  /** True when some deployment runs in Docker (so containers outlive this process). */
  get usesDocker(): boolean {
    return this.runtimes.has('docker');
  }

  private async prepareRuntimes(config: FleetConfig): Promise<void> {
    const logDir = join(this.options.stateDir, 'logs');
    for (const kind of new Set(config.deployments.map((d) => d.runtime))) {
      if (this.runtimes.has(kind)) continue;
      if (kind === 'simulator') this.runtimes.set(kind, simulatorRuntime(logDir));
      if (kind === 'process') this.runtimes.set(kind, commandRuntime(logDir));
      if (kind === 'docker') {
        // Loaded on demand: a simulator-only demo needs neither dockerode nor a Docker engine.
        const { DockerRuntime } = await import('./runtime/docker/docker-runtime.ts');
        const { pingDocker } = await import('./runtime/docker/client.ts');
        await pingDocker();
        this.runtimes.set(kind, new DockerRuntime());
      }
    }
  }

  private watch(): void {
    const file = this.options.configFile;
    // Editors save by writing a temp file and renaming it over the original: watch the folder.
    this.watchers.push(
      watch(dirname(file), (_event, name) => {
        if (name === basename(file)) this.scheduleReload();
      }),
      watch(this.options.stateDir, (_event, name) => {
        if (name === basename(TokenStore.path(this.options.stateDir))) void this.tokens.reload(this.options.stateDir);
      }),
    );
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(async () => {
      const digest = await digestFile(this.options.configFile).catch(() => '');
      if (!digest || digest === this.configDigest) return; // same content (or mid-save): nothing to do
      this.configDigest = digest;
      await this.reload('models.yaml changed');
    }, 300);
  }

  private notice(kind: GatewayNotice['kind'], message: string): void {
    const notice: GatewayNotice = { kind, message, at: Date.now() };
    this.events.emit('notice', notice);
  }

  private async writeStateFile(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true });
    const state = { pid: process.pid, port: this.port, config: this.options.configFile, startedAt: new Date().toISOString() };
    await writeFile(join(this.options.stateDir, 'gateway.json'), JSON.stringify(state, null, 2) + '\n');
  }
}

async function digestFile(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}
