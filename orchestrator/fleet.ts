import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { createGateway, type Gateway } from '../gateway/server.ts';
import type { GatewayNotice } from '../gateway/types.ts';
import { formatIssues, rejectionHeadline } from './config/load.ts';
import type { FleetConfig, GatewaySettings, GpuInfo, RuntimeKind } from './config/types.ts';
import { DEFAULT_FLEET } from './config/expand.ts';
import { loadFleetConfig } from './load-fleet-config.ts';
import { RestartRecords } from './deployment/restart-records.ts';
import { DeploymentTable } from './deployment/table.ts';
import { GpuPoller } from './gpus.ts';
import { KeyUsageRecorder } from './key-usage.ts';
import { CredentialsWatch } from './credentials-watch.ts';
import { KeyStore, keysFileOf } from './keys.ts';
import { log } from './log.ts';
import { Ownership, portInUse } from './ownership.ts';
import { Reconciler } from './reconcile/reconciler.ts';
import { ServedViewPublisher } from './served-view.ts';
import type { RuntimeDriver } from './runtime/driver.ts';
import { commandDriver, simulatorDriver } from './runtime/local-runtimes.ts';
import { TokenStore } from './token.ts';

export interface FleetOptions {
  configFile: string;
  stateDir: string;
  /** Overrides gateway.port from the file. */
  port?: number;
  /** Overrides gateway.fleet from the file: whose containers and locks these are. */
  fleet?: string;
  /** A token to use instead of the stored or generated one (VALID_TOKEN in the environment). */
  token?: string;
}

export class ConfigInvalidError extends Error {
  constructor(readonly report: string, headline = 'models.yaml is invalid') {
    super(`${headline}:\n${report}`);
  }
}

/**
 * The running service, composed: the deployment table and its supervisors, the runtime drivers, the
 * reconciler that keeps converging on models.yaml, and the gateway in front (which sees the table
 * and the token only through the interfaces it declares). `npm run up` is a thin shell around this.
 */
export class Fleet {
  readonly table = new DeploymentTable();
  readonly events = new EventEmitter();
  private drivers = new Map<RuntimeKind, RuntimeDriver>();
  private reconciler: Reconciler;
  private watchers: FSWatcher[] = [];
  private gpuPoller?: GpuPoller;
  private keys!: KeyStore;
  private credentials?: CredentialsWatch;
  private usage?: KeyUsageRecorder;
  /** What gateway replicas (`npm run gateway`) follow: <stateDir>/served.json. */
  private servedView?: ServedViewPublisher;
  private configDigest = '';
  private reloadTimer?: NodeJS.Timeout;
  gateway!: Gateway;
  port = 0;
  /** This fleet's lock and its state dir's; released when the process exits. */
  ownership!: Ownership;

  private constructor(
    private readonly options: FleetOptions,
    public config: FleetConfig,
    readonly tokens: TokenStore,
    private gpuInventory: GpuInfo[],
  ) {
    this.events.setMaxListeners(50);
    this.reconciler = new Reconciler({
      table: this.table,
      driver: (kind) => {
        const driver = this.drivers.get(kind);
        if (!driver) throw new Error(`no ${kind} runtime prepared`);
        return driver;
      },
      records: RestartRecords.inStateDir(options.stateDir),
      drainTimeoutMs: () => this.config.gateway.drainTimeoutMs,
    });
  }

  /**
   * Validates models.yaml, takes ownership of the fleet and the state dir, opens the token, binds the
   * gateway port, and only then adopts or starts the deployments (in parallel). A start refused at any
   * step before the reconcile (StartRefused: owned by a running `up`, port taken) changes nothing.
   */
  static async start(options: FleetOptions): Promise<{ fleet: Fleet; settled: Promise<void> }> {
    const configFile = resolve(options.configFile);
    const loaded = await loadFleetConfig(configFile);
    if (!loaded.ok) throw new ConfigInvalidError(formatIssues(loaded.issues), rejectionHeadline('models.yaml', loaded.issues));
    const name = options.fleet ?? loaded.config.fleet;
    const port = options.port ?? loaded.config.gateway.port;
    const ownership = await Ownership.claim({ pid: process.pid, fleet: name, port, config: configFile, stateDir: options.stateDir, startedAt: new Date().toISOString() });
    try {
      const tokens = await TokenStore.open(options.stateDir, options.token);
      const fleet = new Fleet({ ...options, configFile, fleet: name }, loaded.config, tokens, loaded.gpus);
      fleet.ownership = ownership;
      fleet.keys = await KeyStore.open(keysFileOf(loaded.config.gateway, options.stateDir), (message) => log.error(message));
      fleet.configDigest = await digestFile(configFile);

      await fleet.prepareRuntimes(loaded.config);
      fleet.gateway = createGateway({
        table: fleet.table,
        settings: () => fleet.settings,
        tokens,
        keys: fleet.keys,
        gpus: () => fleet.gpuPoller?.latest() ?? fleet.gpuInventory,
        events: fleet.events,
        log,
      });
      // Listening comes before the reconcile, so a start that cannot serve leaves running containers alone;
      // /health answers 503 until table.synced.
      fleet.port = await fleet.gateway.listen(port, loaded.config.gateway.host).catch(async (error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE' ? await portInUse(port) : error;
      });
      if (fleet.port !== port) await ownership.update({ port: fleet.port });
      await fleet.writeStateFile();
      fleet.servedView = new ServedViewPublisher(
        options.stateDir,
        { table: fleet.table, settings: () => fleet.settings, gpus: () => fleet.gpuPoller?.latest() ?? fleet.gpuInventory, fleet: name },
        (message) => log.warn(message),
      );
      fleet.servedView.start();
      await fleet.reconciler.setDesired(loaded.config.deployments);
      fleet.servedView.schedule(); // synced now
      const settled = fleet.reconciler.settled();
      if (loaded.gpus.length) {
        fleet.gpuPoller = new GpuPoller();
        fleet.gpuPoller.start(5000);
      }
      fleet.usage = new KeyUsageRecorder(options.stateDir, fleet.events, (message) => log.warn(message));
      fleet.usage.start();
      fleet.watch();
      return { fleet, settled };
    } catch (error) {
      ownership.release();
      throw error;
    }
  }

  /** The fleet's name (`--fleet`, else gateway.fleet, else "default"). */
  get name(): string {
    return this.options.fleet ?? DEFAULT_FLEET;
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
      log.error(`reload (${reason}): ${rejectionHeadline(this.options.configFile, loaded.issues)}; the running configuration keeps serving:\n${report}`);
      this.notice('reload', `models.yaml rejected (${loaded.issues.length} problem(s)); still serving the previous configuration`);
      return unchanged;
    }
    await this.prepareRuntimes(loaded.config);
    this.config = loaded.config;
    if (loaded.gpus.length) this.gpuInventory = loaded.gpus;
    if (await this.credentials?.useKeysFile(keysFileOf(this.settings, this.options.stateDir))) log.info(`reload (${reason}): API keys are now those of ${this.keys.file}`);
    const actions = await this.reconciler.setDesired(loaded.config.deployments, { reload: true });
    this.servedView?.schedule(); // settings may have changed without any deployment changing
    const settled = this.reconciler.settled();
    const summary = actions.length ? actions.map((a) => a.kind).join(', ') : 'no changes';
    log.info(`reload (${reason}): ${summary} (${this.options.configFile})`);
    this.notice('reload', `models.yaml reloaded (${reason}): ${summary}`);
    return { applied: true, settled };
  }

  /** Stops accepting, drains in-flight requests, stops what cannot outlive this process. */
  async shutdown(): Promise<void> {
    clearTimeout(this.reloadTimer);
    for (const w of this.watchers) w.close();
    this.credentials?.close();
    this.gpuPoller?.stop();
    await this.gateway.close(this.config.gateway.drainTimeoutMs);
    await this.usage?.stop();
    this.reconciler.close();
    await Promise.all([...this.drivers.values()].map((driver) => driver.close()));
    await this.servedView?.stop();
  }

  /** Exiting at once: kills every local server's process group (containers keep running); how many. */
  killLocalServers(): number {
    let killed = 0;
    for (const driver of this.drivers.values()) killed += driver.killAll();
    return killed;
  }

  /** True when some deployment runs in Docker (so containers outlive this process). */
  get usesDocker(): boolean {
    return this.drivers.has('docker');
  }

  private async prepareRuntimes(config: FleetConfig): Promise<void> {
    for (const kind of new Set(config.deployments.map((d) => d.runtime))) {
      if (this.drivers.has(kind)) continue;
      if (kind === 'simulator') this.drivers.set(kind, simulatorDriver(this.options.stateDir));
      if (kind === 'process') this.drivers.set(kind, commandDriver(this.options.stateDir));
      if (kind === 'docker') {
        // Loaded on demand: a simulator-only demo needs neither dockerode nor a Docker engine.
        const { DockerDriver } = await import('./runtime/docker/docker-driver.ts');
        const { pingDocker } = await import('./runtime/docker/client.ts');
        await pingDocker();
        this.drivers.set(kind, new DockerDriver({ fleet: this.name }));
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
    );
    this.credentials = new CredentialsWatch(this.options.stateDir, this.tokens, this.keys, (message) => log.error(message));
  }

  private scheduleReload(): void {
    clearTimeout(this.reloadTimer);
    this.reloadTimer = setTimeout(async () => {
      const digest = await digestFile(this.options.configFile).catch(() => '');
      if (!digest || digest === this.configDigest) return; // same content (or mid-save): nothing to do
      this.configDigest = digest;
      await this.reload(`${basename(this.options.configFile)} changed`);
    }, 300);
  }

  private notice(kind: GatewayNotice['kind'], message: string): void {
    const notice: GatewayNotice = { kind, message, at: Date.now() };
    this.events.emit('notice', notice);
  }

  private async writeStateFile(): Promise<void> {
    await mkdir(this.options.stateDir, { recursive: true });
    const state = { pid: process.pid, port: this.port, config: this.options.configFile, fleet: this.name, stateDir: this.options.stateDir, startedAt: new Date().toISOString() };
    await writeFile(join(this.options.stateDir, 'gateway.json'), JSON.stringify(state, null, 2) + '\n');
  }
}

async function digestFile(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}
