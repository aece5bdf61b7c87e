import type { DeploymentSpec, RuntimeKind } from '../config/types.ts';
import type { Upstream } from '../../gateway/types.ts';

/** One server instance (a container, a child process) as its runtime sees it right now. */
export interface ObservedInstance {
  /** Container id, or the process driver's slot id. */
  id: string;
  /** Deployment key it was made for ("<model>/<gpuLabel>"). */
  key: string;
  /** The driver's hash of what it was created from (see RuntimeDriver.configHash). */
  configHash: string;
  /** For messages: the container name, or "pid 1234". */
  name: string;
  running: boolean;
  /** The runtime itself is about to start it again (Docker's restart policy). */
  restarting: boolean;
  upstream?: Upstream;
  /** Identifies one run of the instance: it changes every time the instance (re)starts. */
  runId?: string;
  /** When the current (or last) run started, ms since epoch. */
  startedAt?: number;
  /** Restarts the runtime did by itself (Docker's RestartCount). */
  runtimeRestarts: number;
  /** How the last run ended, when it has: "exit code 137, out of memory". */
  exit?: string;
}

/** Something happened to an instance or to the engine: the supervisors re-observe (level-based). */
export type DriverEvent =
  | { kind: 'instance'; id: string; what: 'start' | 'exit'; detail?: string }
  /** An instance of this fleet the driver knows nothing about appeared or vanished. */
  | { kind: 'unowned'; id: string }
  | { kind: 'engine'; reachable: boolean; detail: string };

export interface LogLinesOptions {
  follow: boolean;
  /** Lines from the end to start with. */
  tail?: number;
  /** Only lines from this run on (ObservedInstance.runId's start). */
  since?: number;
  /** Only lines up to this time, ms since epoch. */
  until?: number;
  signal?: AbortSignal;
}

/**
 * How instances of one runtime kind are made, started, stopped and observed. A driver holds no
 * deployment state: the supervisor (deployment/supervisor.ts) owns each deployment's lifecycle and
 * calls these. Every call is idempotent where it can be (stopping a stopped instance succeeds).
 */
export interface RuntimeDriver {
  readonly kind: RuntimeKind;
  /** True when the runtime restarts a crashed instance by itself (Docker's restart policy). */
  readonly restartsByItself: boolean;
  /** A hash over exactly what this driver would send to create spec's instance (never the host port). */
  configHash(spec: DeploymentSpec): string;
  /** The instances of this fleet that exist now (Docker: by label, stopped ones included). */
  list(): Promise<ObservedInstance[]>;
  /** One instance now; undefined when it no longer exists. Throws EngineUnreachable when the engine is away. */
  inspect(id: string): Promise<ObservedInstance | undefined>;
  /** Makes what create() needs present (pulls the image); calls onPulling just before a pull starts. */
  prepare(spec: DeploymentSpec, onPulling: () => void): Promise<void>;
  /** Creates and starts the instance. */
  create(spec: DeploymentSpec): Promise<ObservedInstance>;
  /** Starts an existing instance that is not running. */
  start(id: string): Promise<void>;
  /** Stops gracefully (then forcibly after the runtime's stop timeout). */
  stop(id: string): Promise<void>;
  /** Stops if needed and deletes the instance. */
  remove(id: string): Promise<void>;
  /** The instance's output as lines. */
  logLines(id: string, options: LogLinesOptions): AsyncIterable<string>;
  /** Subscribes to instance and engine events. */
  onEvent(listener: (event: DriverEvent) => void): void;
  /** Stops watching; instances that can outlive this process (containers) keep running, others are stopped. */
  close(): Promise<void>;
  /** Exiting at once (a second Ctrl-C): kills, without waiting, the instances that cannot outlive this process; how many. */
  killAll(): number;
}

/** The engine behind a driver cannot be reached: deployments are down (not failed) until it is back. */
export class EngineUnreachable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'EngineUnreachable';
  }
}
