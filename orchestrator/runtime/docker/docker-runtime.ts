import type Dockerode from 'dockerode';
import type { Deployment, Upstream } from '../../deployment/deployment.ts';
import { CrashLoopDetector } from '../../health/crash-loop.ts';
import { diagnose } from '../../health/diagnose.ts';
import { LogTail } from '../../health/log-tail.ts';
import { phaseFromLogLine } from '../../health/phase.ts';
import { fetchInfo, probeHealth, waitUntilHealthy } from '../../health/ready.ts';
import { log } from '../../log.ts';
import { freePort } from '../../net.ts';
import type { Instance, LogOptions, Runtime } from '../runtime.ts';
import { dockerClient, dockerMessage, dockerStatus, dockerStep, dockerStepIdempotent, explainDockerError } from './client.ts';
import { ContainerEvents, type ContainerEvent } from './container-events.ts';
import { containerLogLines } from './container-logs.ts';
import { CONTAINER_PORT, TGI_STOP_TIMEOUT_SECONDS, containerName, containerOptions } from './container-spec.ts';
import { DEFAULT_FLEET, LABEL, belongsToFleet, fleetLabelFilters } from './labels.ts';
import { ImagePuller } from './pull.ts';

export interface DockerRuntimeOptions {
  /** Default: the shared client (DOCKER_HOST honoured). */
  docker?: Dockerode;
  /** How long stop() lets TGI drain before Docker kills it (default 90 s, TGI's own limit). */
  stopTimeoutSeconds?: number;
  /** Which fleet's containers this runtime manages (labels and names); default "default". */
  fleet?: string;
  /** Longest wait for a container to become healthy before its deployment is failed (default 30 min: first runs download weights). */
  loadTimeoutMs?: number;
}

/** A container of this fleet as discover() finds it. */
export interface DockerInstance extends Instance {
  name: string;
  /** Host GPU indices, as labelled: "0" or "0,1". */
  gpus: string;
  hostPort?: number;
  /** Docker's own words: "Up 5 minutes", "Restarting (1) 3 seconds ago", "Exited (137) 1 minute ago". */
  status: string;
  /** ms since epoch. */
  createdAt: number;
}

const CRASH_LOOP_EXITS = 3;
const CRASH_LOOP_WINDOW_MS = 5 * 60_000;
const FAILURE_LOG_LINES = 15;
/** Creating a container can lose a race for its free host port; then it is tried again on another. */
const START_ATTEMPTS = 3;

interface Exit {
  /** "exit code 137" (", out of memory" when Docker reported an OOM kill). */
  how: string;
  /** When it exited, as the logs API's `until` takes it. */
  time: string;
}

type LoadOutcome = { kind: 'ready' } | { kind: 'exited'; exit: Exit } | { kind: 'timeout' } | { kind: 'aborted' };

/** What this runtime knows about the container behind one deployment. */
interface Tracked {
  d: Deployment;
  container: Dockerode.Container;
  name: string;
  upstream: Upstream;
  logTail: LogTail;
  crashLoop: CrashLoopDetector;
  /** start() has not reached ready yet: an exit fails the deployment instead of counting as a crash. */
  firstLoad: boolean;
  /** stop() or a failure took over: exits are expected and nothing restarts it. */
  stopping: boolean;
  oomKilled: boolean;
  /** The current wait for health; aborted when the container exits or is stopped. */
  loadAttempt?: AbortController;
  /** Ends the current load attempt when the container exits. */
  exited?: (exit: Exit) => void;
  logFollower?: AbortController;
}

function upstreamAt(port: number): Upstream {
  return { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
}

function publishedPort(info: Dockerode.ContainerInspectInfo): number | undefined {
  const binding = info.HostConfig.PortBindings?.[CONTAINER_PORT]?.find((b: { HostIp?: string }) => b.HostIp === '127.0.0.1');
  return binding?.HostPort ? Number(binding.HostPort) : undefined;
}

/**
 * Runs each deployment as a GPU-pinned TGI container (dockerode). Containers carry labels naming the
 * fleet, the deployment and its config hash, so a later `up` can adopt them; they outlive this process.
 * One Docker events stream watches them all: an exit marks the deployment down at once; Docker's restart
 * policy (or this runtime, when Docker will not, e.g. after `docker kill`) brings it back; 3 exits in
 * 5 minutes fail it with its last log lines.
 */
export class DockerRuntime implements Runtime {
  readonly kind = 'docker' as const;
  private readonly docker: Dockerode;
  private readonly fleet: string;
  private readonly stopTimeoutSeconds: number;
  private readonly loadTimeoutMs: number;
  private readonly puller: ImagePuller;
  private readonly events: ContainerEvents;
  private readonly byDeployment = new Map<Deployment, Tracked>();
  private readonly byContainer = new Map<string, Tracked>();
  /** Deployments stop() was called for: a start() still under way gives up quietly. */
  private readonly stopRequested = new WeakSet<Deployment>();

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker = options.docker ?? dockerClient();
    this.fleet = options.fleet ?? DEFAULT_FLEET;
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? TGI_STOP_TIMEOUT_SECONDS;
    this.loadTimeoutMs = options.loadTimeoutMs ?? 30 * 60_000;
    this.puller = new ImagePuller(this.docker);
    this.events = new ContainerEvents(this.docker, fleetLabelFilters(this.fleet), (event) => this.onEvent(event));
  }

  async discover(): Promise<DockerInstance[]> {
    let containers: Dockerode.ContainerInfo[];
    try {
      containers = await dockerStep('listing containers', () => this.docker.listContainers({ all: true, filters: { label: fleetLabelFilters(this.fleet) } }));
    } catch (error) {
      throw explainDockerError(error, this.docker);
    }
    return containers.map((c) => {
      const hostPort = c.Ports.find((p) => p.PrivatePort === 80 && p.IP === '127.0.0.1' && p.PublicPort)?.PublicPort;
      return {
        key: c.Labels[LABEL.deployment],
        configHash: c.Labels[LABEL.configHash],
        id: c.Id,
        running: c.State === 'running',
        upstream: hostPort ? upstreamAt(hostPort) : undefined,
        name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
        gpus: c.Labels[LABEL.gpus] ?? '',
        hostPort,
        status: c.Status,
        createdAt: c.Created * 1000,
      };
    });
  }

  async start(d: Deployment): Promise<void> {
    this.stopRequested.delete(d);
    let tracked: Tracked | undefined;
    try {
      const previous = this.byDeployment.get(d); // a failed deployment started again
      if (previous) {
        this.release(previous);
        await this.stopAndRemove(previous.container, previous.name);
      }
      await this.events.connect(); // before the container exists, so none of its exits goes unseen
      await this.puller.ensure(d.spec.image, d.spec.pull, () => d.transition('pulling'));
      if (this.stopRequested.has(d)) return;
      d.transition('creating');
      tracked = await this.createAndStart(d);
      if (!tracked) return;
      d.transition('loading', `container ${tracked.name} on 127.0.0.1:${tracked.upstream.port}`);
      const outcome = await this.load(tracked, {});
      if (outcome.kind === 'exited') await this.failStart(tracked, `container ${tracked.name} exited (${outcome.exit.how}) while loading`, outcome.exit.time);
      if (outcome.kind === 'timeout') await this.failStart(tracked, `container ${tracked.name} was not healthy after ${this.loadTimeoutMs / 60_000} minutes`);
    } catch (error) {
      if (this.stopRequested.has(d)) return;
      const explained = explainDockerError(error, this.docker);
      if (tracked) await this.failStart(tracked, explained.message);
      else d.fail({ message: explained.message, diagnosis: diagnose({ error: explained }), logTail: [] });
    }
  }

  async adopt(d: Deployment, instance: Instance): Promise<void> {
    this.stopRequested.delete(d);
    try {
      await this.events.connect();
      const container = this.docker.getContainer(instance.id);
      const info = await dockerStep(`inspecting container ${instance.id.slice(0, 12)}`, () => container.inspect());
      const name = info.Name.replace(/^\//, '');
      const hostPort = instance.upstream?.port ?? publishedPort(info);
      if (!hostPort) throw new Error(`container ${name} publishes no port on 127.0.0.1, so it cannot be adopted: remove it (npm run down) and start again`);
      const tracked = this.track(d, container, name, upstreamAt(hostPort), false);
      if (info.State.Running && (await probeHealth(tracked.upstream))) {
        this.followLogs(tracked, { tail: FAILURE_LOG_LINES });
        d.tgiInfo = await fetchInfo(tracked.upstream);
        d.tryTransition('ready', `adopted container ${name}`);
        return;
      }
      if (!info.State.Running && !info.State.Restarting) await dockerStep(`starting container ${name}`, () => container.start());
      d.tryTransition('loading', `adopted container ${name}`);
      const outcome = await this.load(tracked, { tail: FAILURE_LOG_LINES });
      if (outcome.kind === 'timeout') await this.giveUp(tracked, `container ${name} was not healthy after ${this.loadTimeoutMs / 60_000} minutes`);
    } catch (error) {
      if (this.stopRequested.has(d)) return;
      const explained = explainDockerError(error, this.docker);
      d.fail({ message: explained.message, diagnosis: diagnose({ error: explained }), logTail: [] });
    }
  }

  async stop(d: Deployment): Promise<void> {
    this.stopRequested.add(d);
    const tracked = this.byDeployment.get(d);
    if (tracked) this.release(tracked);
    const container = tracked?.container ?? (d.instanceId ? this.docker.getContainer(d.instanceId) : undefined);
    if (!container) return;
    await this.stopAndRemove(container, tracked?.name ?? containerName(d.spec, this.fleet));
  }

  async removeInstance(instance: Instance): Promise<void> {
    const tracked = this.byContainer.get(instance.id);
    if (tracked) this.release(tracked);
    await this.stopAndRemove(this.docker.getContainer(instance.id), (instance as Partial<DockerInstance>).name ?? instance.key);
  }

  async *logs(d: Deployment, options: LogOptions): AsyncGenerator<string> {
    yield* containerLogLines(await this.containerOf(d), options);
  }

  /** Stops watching; the containers keep running (a later `up` adopts them, `npm run down` removes them). */
  async close(): Promise<void> {
    this.events.close();
    for (const tracked of [...this.byDeployment.values()]) this.release(tracked);
  }

  private async createAndStart(d: Deployment): Promise<Tracked | undefined> {
    const name = containerName(d.spec, this.fleet);
    for (let attempt = 1; ; attempt++) {
      const hostPort = await freePort();
      const container = await this.create(name, containerOptions(d.spec, hostPort, this.fleet));
      const tracked = this.track(d, container, name, upstreamAt(hostPort), true);
      if (this.stopRequested.has(d)) {
        this.release(tracked);
        await this.stopAndRemove(container, name);
        return undefined;
      }
      try {
        await dockerStep(`starting container ${name}`, () => container.start());
        return tracked;
      } catch (error) {
        this.release(tracked);
        await dockerStepIdempotent(`removing container ${name}`, () => container.remove({ force: true }));
        if (attempt < START_ATTEMPTS && /port is already allocated|address already in use/i.test(dockerMessage(error))) continue;
        throw new Error(`starting container ${name} failed: ${dockerMessage(error)}`, { cause: error });
      }
    }
  }

  /** Creates the container; a same-named container left by an earlier run of this fleet is removed first. */
  private async create(name: string, options: Dockerode.ContainerCreateOptions): Promise<Dockerode.Container> {
    const create = () => dockerStep(`creating container ${name}`, () => this.docker.createContainer(options));
    try {
      return await create();
    } catch (error) {
      if (dockerStatus(error) !== 409) throw error;
    }
    const existing = await this.docker.getContainer(name).inspect();
    if (!belongsToFleet(existing.Config.Labels, this.fleet)) {
      throw new Error(`a container named ${name} already exists and is not one of this fleet's: remove it (docker rm -f ${name}) or rename the model`);
    }
    if (this.byContainer.get(existing.Id)?.stopping === false) throw new Error(`container ${name} still serves another deployment: stop that one first`);
    log.info(`removing container ${name} left by an earlier run`);
    await dockerStepIdempotent(`removing container ${name}`, () => this.docker.getContainer(existing.Id).remove({ force: true }));
    return create();
  }

  private track(d: Deployment, container: Dockerode.Container, name: string, upstream: Upstream, firstLoad: boolean): Tracked {
    const tracked: Tracked = { d, container, name, upstream, logTail: new LogTail(), crashLoop: new CrashLoopDetector(CRASH_LOOP_EXITS, CRASH_LOOP_WINDOW_MS), firstLoad, stopping: false, oomKilled: false };
    this.byDeployment.set(d, tracked);
    this.byContainer.set(container.id, tracked);
    d.upstream = upstream;
    d.instanceId = container.id;
    return tracked;
  }

  /** Stops watching one container: its exits are expected from now on. */
  private release(tracked: Tracked): void {
    tracked.stopping = true;
    tracked.loadAttempt?.abort();
    tracked.logFollower?.abort();
    if (this.byDeployment.get(tracked.d) === tracked) this.byDeployment.delete(tracked.d);
    this.byContainer.delete(tracked.container.id);
  }

  private async stopAndRemove(container: Dockerode.Container, name: string): Promise<void> {
    try {
      await dockerStepIdempotent(`stopping container ${name}`, () => container.stop({ t: this.stopTimeoutSeconds }));
      await dockerStepIdempotent(`removing container ${name}`, () => container.remove({ force: true }));
    } catch (error) {
      throw explainDockerError(error, this.docker);
    }
  }

  /**
   * Waits until the container answers /health (then fetches /info and marks the deployment ready),
   * exits, times out, or is stopped. Follows its log meanwhile for the loading phase.
   */
  private async load(tracked: Tracked, logsFrom: { since?: string; tail?: number }): Promise<LoadOutcome> {
    tracked.loadAttempt?.abort();
    const attempt = new AbortController();
    tracked.loadAttempt = attempt;
    const exited = new Promise<Exit>((resolve) => (tracked.exited = resolve));
    this.followLogs(tracked, logsFrom);
    const timeout = AbortSignal.timeout(this.loadTimeoutMs);
    let outcome: { kind: 'healthy' } | { kind: 'exited'; exit: Exit };
    try {
      outcome = await Promise.race([
        waitUntilHealthy(tracked.upstream, AbortSignal.any([attempt.signal, timeout])).then(() => ({ kind: 'healthy' }) as const),
        exited.then((exit) => ({ kind: 'exited', exit }) as const),
      ]);
    } catch {
      return attempt.signal.aborted ? { kind: 'aborted' } : { kind: 'timeout' };
    } finally {
      attempt.abort();
    }
    if (outcome.kind === 'exited') return outcome;
    if (tracked.stopping) return { kind: 'aborted' };
    tracked.firstLoad = false; // from here on an exit is a crash
    const { d } = tracked;
    d.tgiInfo = await fetchInfo(tracked.upstream);
    if (d.state === 'loading' && !tracked.stopping) d.transition('ready');
    return { kind: 'ready' };
  }

  private followLogs(tracked: Tracked, from: { since?: string; tail?: number }): void {
    tracked.logFollower?.abort();
    const follower = new AbortController();
    tracked.logFollower = follower;
    const { d } = tracked;
    void (async () => {
      try {
        for await (const line of containerLogLines(tracked.container, { follow: true, ...from, signal: follower.signal })) {
          tracked.logTail.push(line);
          const phase = phaseFromLogLine(line);
          if (phase && phase !== 'connected' && d.state === 'loading') d.setPhase(phase);
        }
      } catch (error) {
        if (!follower.signal.aborted) log.debug(`stopped following the log of ${tracked.name}: ${dockerMessage(error)}`);
      }
    })();
  }

  /** The container's last log lines, up to `until` (an exit's time) so a restart's lines do not mix in. */
  private async lastLogLines(tracked: Tracked, until?: string): Promise<string[]> {
    try {
      const lines: string[] = [];
      for await (const line of containerLogLines(tracked.container, { follow: false, tail: FAILURE_LOG_LINES, until })) lines.push(line);
      if (lines.length) return lines;
    } catch (error) {
      log.debug(`reading the log of ${tracked.name}: ${dockerMessage(error)}`);
    }
    return tracked.logTail.lines(FAILURE_LOG_LINES);
  }

  /** The first start failed: report it with the last log lines and remove the container. */
  private async failStart(tracked: Tracked, message: string, until?: string): Promise<void> {
    this.release(tracked);
    const logTail = await this.lastLogLines(tracked, until);
    await dockerStepIdempotent(`removing container ${tracked.name}`, () => tracked.container.remove({ force: true })).catch((error) => log.warn(`could not remove container ${tracked.name}: ${dockerMessage(error)}`));
    tracked.d.fail({ message, diagnosis: diagnose({ error: message, logTail }), logTail });
  }

  /** A running deployment cannot be kept up (crash loop, removed, never healthy): fail it and stop its container, kept for inspection. */
  private async giveUp(tracked: Tracked, message: string, until?: string): Promise<void> {
    tracked.stopping = true;
    tracked.loadAttempt?.abort();
    const logTail = await this.lastLogLines(tracked, until);
    tracked.d.fail({ message, diagnosis: diagnose({ error: message, logTail }), logTail });
    await dockerStepIdempotent(`stopping container ${tracked.name}`, () => tracked.container.stop({ t: this.stopTimeoutSeconds })).catch((error) => log.warn(`could not stop container ${tracked.name}: ${dockerMessage(error)}`));
  }

  private onEvent(event: ContainerEvent): void {
    const tracked = this.byContainer.get(event.id);
    if (!tracked) return;
    if (event.action === 'oom') tracked.oomKilled = true;
    else if (event.action === 'die') this.onDie(tracked, event);
    else this.onStart(tracked, event);
  }

  private onDie(tracked: Tracked, event: ContainerEvent): void {
    const exit: Exit = { how: `exit code ${event.exitCode ?? 'unknown'}${tracked.oomKilled ? ', out of memory' : ''}`, time: event.time };
    tracked.oomKilled = false;
    tracked.exited?.(exit);
    if (tracked.stopping || tracked.firstLoad) return;
    const { d } = tracked;
    d.restarts += 1;
    d.tryTransition('down', exit.how);
    if (tracked.crashLoop.recordExit()) {
      void this.giveUp(tracked, `crash loop: container ${tracked.name} exited ${CRASH_LOOP_EXITS} times within ${CRASH_LOOP_WINDOW_MS / 60_000} minutes (last: ${exit.how})`, exit.time);
    } else {
      void this.restartIfDockerWillNot(tracked);
    }
  }

  /**
   * The restart policy restarts a crashed container, but not one stopped or killed from outside
   * (`docker stop`, `docker kill`): Docker counts those as wanted. The fleet still wants it running.
   */
  private async restartIfDockerWillNot(tracked: Tracked): Promise<void> {
    try {
      const info = await tracked.container.inspect();
      if (tracked.stopping || info.State.Running || info.State.Restarting) return;
      log.warn(`${tracked.d.key}: container ${tracked.name} was stopped from outside the orchestrator; starting it again`);
      await dockerStepIdempotent(`starting container ${tracked.name}`, () => tracked.container.start());
    } catch (error) {
      if (tracked.stopping) return;
      const why = dockerStatus(error) === 404 ? `container ${tracked.name} was removed from outside the orchestrator` : `restarting container ${tracked.name} failed: ${explainDockerError(error, this.docker).message}`;
      await this.giveUp(tracked, why);
    }
  }

  private onStart(tracked: Tracked, event: ContainerEvent): void {
    if (tracked.stopping || tracked.firstLoad) return;
    if (!tracked.d.tryTransition('loading', `container ${tracked.name} restarted`)) return;
    void this.load(tracked, { since: event.time }).then((outcome) => {
      if (outcome.kind === 'timeout') return this.giveUp(tracked, `container ${tracked.name} was not healthy after ${this.loadTimeoutMs / 60_000} minutes`);
    });
  }

  private async containerOf(d: Deployment): Promise<Dockerode.Container> {
    const tracked = this.byDeployment.get(d);
    if (tracked) return tracked.container;
    if (d.instanceId) return this.docker.getContainer(d.instanceId);
    const [found] = await this.docker.listContainers({ all: true, filters: { label: [...fleetLabelFilters(this.fleet), `${LABEL.deployment}=${d.key}`] } });
    if (!found) throw new Error(`no container for ${d.key}: it is not running (see npm run status)`);
    return this.docker.getContainer(found.Id);
  }
}
