import type Dockerode from 'dockerode';
import type { DeploymentSpec } from '../../config/types.ts';
import { log } from '../../log.ts';
import { freePort } from '../../net.ts';
import { EngineUnreachable, type DriverEvent, type LogLinesOptions, type ObservedInstance, type RuntimeDriver } from '../driver.ts';
import { dockerClient, dockerEndpoint, dockerMessage, dockerStatus, dockerStep, dockerStepIdempotent, isUnreachable } from './client.ts';
import { ContainerEvents } from './container-events.ts';
import { containerLogLines } from './container-logs.ts';
import { TGI_STOP_TIMEOUT_SECONDS, containerHash, containerName, containerOptions, publishedHostPort } from './container-spec.ts';
import { DEFAULT_FLEET, LABEL, belongsToFleet, fleetLabelFilters } from './labels.ts';
import { ImagePuller } from './pull.ts';

export interface DockerDriverOptions {
  /** Default: the shared client (DOCKER_HOST honoured). */
  docker?: Dockerode;
  /** How long stop() lets TGI drain before Docker kills it (default 90 s, TGI's own limit). */
  stopTimeoutSeconds?: number;
  /** Whose containers these are (labels and names); default "default". */
  fleet?: string;
}

/** Creating a container can lose a race for its free host port; then it is tried again on another. */
const START_ATTEMPTS = 3;

/**
 * Containers as instances: one GPU-pinned TGI container per deployment (dockerode), labelled with
 * its fleet, deployment and config hash so a later `up` adopts it, restart policy `unless-stopped`.
 * One Docker events stream reports starts and exits of this fleet's containers; when it drops, the
 * engine is pinged, reported unreachable if it does not answer, and reported back once it does.
 */
export class DockerDriver implements RuntimeDriver {
  readonly kind = 'docker' as const;
  readonly restartsByItself = true;
  readonly fleet: string;
  private readonly docker: Dockerode;
  private readonly stopTimeoutSeconds: number;
  private readonly puller: ImagePuller;
  private readonly events: ContainerEvents;
  private readonly listeners: ((event: DriverEvent) => void)[] = [];
  /** Containers Docker reported out of memory, until their exit. */
  private readonly outOfMemory = new Set<string>();
  private engineDown = false;

  constructor(options: DockerDriverOptions = {}) {
    this.docker = options.docker ?? dockerClient();
    this.fleet = options.fleet ?? DEFAULT_FLEET;
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? TGI_STOP_TIMEOUT_SECONDS;
    this.puller = new ImagePuller(this.docker);
    this.events = new ContainerEvents(this.docker, fleetLabelFilters(this.fleet), {
      onEvent: (event) => this.onContainerEvent(event.id, event.action, event.exitCode),
      onDropped: (reason) => void this.checkEngine(reason),
      onConnected: () => this.engineBack(),
    });
  }

  configHash(spec: DeploymentSpec): string {
    return containerHash(spec, this.fleet);
  }

  async list(): Promise<ObservedInstance[]> {
    await this.watch();
    const containers = await this.call('listing containers', () => this.docker.listContainers({ all: true, filters: { label: fleetLabelFilters(this.fleet) } }));
    const observed = await Promise.all(containers.map((c) => this.inspect(c.Id)));
    return observed.filter((o): o is ObservedInstance => o !== undefined);
  }

  async inspect(id: string): Promise<ObservedInstance | undefined> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.call(`inspecting container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).inspect());
    } catch (error) {
      if (dockerStatus(error) === 404) return undefined;
      throw error;
    }
    return observedFrom(info);
  }

  async prepare(spec: DeploymentSpec, onPulling: () => void): Promise<void> {
    await this.watch();
    await this.call(`making image ${spec.image} present`, () => this.puller.ensure(spec.image, spec.pull, onPulling));
  }

  async create(spec: DeploymentSpec): Promise<ObservedInstance> {
    await this.watch(); // before the container exists, so none of its exits goes unseen
    const name = containerName(spec, this.fleet);
    for (let attempt = 1; ; attempt++) {
      const container = await this.createContainer(name, containerOptions(spec, await freePort(), this.fleet));
      try {
        await this.call(`starting container ${name}`, () => container.start());
      } catch (error) {
        await dockerStepIdempotent(`removing container ${name}`, () => container.remove({ force: true })).catch(() => undefined);
        if (error instanceof EngineUnreachable) throw error;
        if (attempt < START_ATTEMPTS && /port is already allocated|address already in use/i.test(dockerMessage(error))) continue;
        throw new Error(`starting container ${name} failed: ${dockerMessage(error)}`, { cause: error });
      }
      const observed = await this.inspect(container.id);
      if (!observed) throw new Error(`container ${name} vanished right after it was started (removed from outside?)`);
      return observed;
    }
  }

  async start(id: string): Promise<void> {
    await this.call(`starting container ${id.slice(0, 12)}`, () => dockerStepIdempotent(`starting container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).start()));
  }

  async stop(id: string): Promise<void> {
    await this.call(`stopping container ${id.slice(0, 12)}`, () => dockerStepIdempotent(`stopping container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).stop({ t: this.stopTimeoutSeconds })));
  }

  async remove(id: string): Promise<void> {
    await this.stop(id);
    await this.call(`removing container ${id.slice(0, 12)}`, () => dockerStepIdempotent(`removing container ${id.slice(0, 12)}`, () => this.docker.getContainer(id).remove({ force: true })));
  }

  async *logLines(id: string, options: LogLinesOptions): AsyncGenerator<string> {
    yield* containerLogLines(this.docker.getContainer(id), {
      follow: options.follow,
      tail: options.tail,
      since: options.since === undefined ? undefined : toUnixSeconds(options.since),
      until: options.until === undefined ? undefined : toUnixSeconds(options.until),
      signal: options.signal,
    });
  }

  onEvent(listener: (event: DriverEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Stops watching; the containers keep running (a later `up` adopts them, `npm run down` removes them). */
  async close(): Promise<void> {
    this.events.close();
  }

  /** Containers outlive this process: nothing to kill. */
  killAll(): number {
    return 0;
  }

  private watch(): Promise<void> {
    return this.call('subscribing to Docker events', () => this.events.connect());
  }

  /** Creates the container; a same-named container left by an earlier run of this fleet is removed first. */
  private async createContainer(name: string, options: Dockerode.ContainerCreateOptions): Promise<Dockerode.Container> {
    const create = () => this.call(`creating container ${name}`, () => this.docker.createContainer(options));
    try {
      return await create();
    } catch (error) {
      if (dockerStatus(error) !== 409) throw error;
    }
    const existing = await this.call(`inspecting container ${name}`, () => this.docker.getContainer(name).inspect());
    if (!belongsToFleet(existing.Config.Labels, this.fleet)) {
      throw new Error(`a container named ${name} already exists and is not one of this fleet's: remove it (docker rm -f ${name}) or rename the model`);
    }
    log.info(`removing container ${name} left by an earlier run`);
    await this.remove(existing.Id);
    return create();
  }

  /** Runs one Engine API call; "cannot connect" becomes EngineUnreachable, naming the endpoint. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await dockerStep(what, fn);
    } catch (error) {
      if (!isUnreachable(error)) throw error;
      throw new EngineUnreachable(`Docker is not reachable at ${dockerEndpoint(this.docker)} (${dockerMessage(error)}) — start dockerd or set DOCKER_HOST`, { cause: error });
    }
  }

  private onContainerEvent(id: string, action: string, exitCode?: number): void {
    if (action === 'oom') this.outOfMemory.add(id);
    if (action === 'die') {
      const oom = this.outOfMemory.delete(id) ? ', out of memory' : '';
      this.emit({ kind: 'instance', id, what: 'exit', detail: exitCode === undefined ? undefined : `exit code ${exitCode}${oom}` });
    }
    if (action === 'start') this.emit({ kind: 'instance', id, what: 'start' });
    else if (action === 'destroy' || action === 'create') this.emit({ kind: 'unowned', id });
  }

  /** The events stream dropped: is the engine gone, or was it only the stream? */
  private async checkEngine(reason: string): Promise<void> {
    if (this.engineDown) return;
    const reachable = await this.docker.ping().then(() => true, () => false);
    if (reachable || this.engineDown) return;
    this.engineDown = true;
    const detail = `Docker is not reachable at ${dockerEndpoint(this.docker)} (${reason})`;
    log.warn(`${detail}; deployments are down until it is back (reconnecting with backoff)`);
    this.emit({ kind: 'engine', reachable: false, detail });
  }

  private engineBack(): void {
    if (!this.engineDown) return;
    this.engineDown = false;
    log.info(`Docker at ${dockerEndpoint(this.docker)} answers again; looking at every container`);
    this.emit({ kind: 'engine', reachable: true, detail: 'Docker answers again' });
  }

  private emit(event: DriverEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

function observedFrom(info: Dockerode.ContainerInspectInfo): ObservedInstance {
  const labels = info.Config.Labels ?? {};
  const port = publishedHostPort(info.HostConfig.PortBindings);
  const state = info.State;
  const started = Date.parse(state.StartedAt);
  const everStarted = Number.isFinite(started) && started > 0;
  const exited = !state.Running && everStarted;
  return {
    id: info.Id,
    key: labels[LABEL.deployment] ?? '',
    configHash: labels[LABEL.configHash] ?? '',
    name: `container ${info.Name.replace(/^\//, '')}`,
    running: state.Running && !state.Restarting,
    restarting: state.Restarting,
    upstream: port ? { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } : undefined,
    runId: everStarted ? state.StartedAt : undefined,
    startedAt: everStarted ? started : undefined,
    runtimeRestarts: info.RestartCount ?? 0,
    exit: exited ? `exit code ${state.ExitCode}${state.OOMKilled ? ', out of memory' : ''}` : undefined,
  };
}

function toUnixSeconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}
