import type { RuntimeKind } from '../config/types.ts';
import type { Deployment, Upstream } from '../deployment/deployment.ts';

/** A server instance that exists outside this process's memory (e.g. a container from an earlier `up`). */
export interface Instance {
  key: string;
  configHash: string;
  /** Container id (docker) or pid (process). */
  id: string;
  running: boolean;
  upstream?: Upstream;
}

export interface LogOptions {
  follow: boolean;
  /** Lines from the end to start with. */
  tail: number;
  signal?: AbortSignal;
}

/**
 * How deployments of one kind are run. A runtime owns the instance behind a Deployment and drives
 * its state: start() takes it through pulling/creating/loading to ready (or failed); afterwards it
 * watches the instance: a crash → down (restarts + 1) → loading → ready again, or failed on a crash loop.
 * The gateway never talks to a runtime; it only reads Deployment state and upstream.
 */
export interface Runtime {
  readonly kind: RuntimeKind;
  /** Instances left from an earlier run that can be adopted or must be removed (docker: by label). */
  discover(): Promise<Instance[]>;
  /** Creates and starts the instance; resolves once d is ready or failed (never rejects for server failures). */
  start(d: Deployment): Promise<void>;
  /** Takes over a running instance that discover() found with d's config hash, without restarting it. */
  adopt(d: Deployment, instance: Instance): Promise<void>;
  /** Stops (gracefully, then forcibly) and removes d's instance. Idempotent. */
  stop(d: Deployment): Promise<void>;
  /** Removes an instance that no deployment wants any more. */
  removeInstance(instance: Instance): Promise<void>;
  /** The instance's log lines. */
  logs(d: Deployment, options: LogOptions): AsyncIterable<string>;
  /**
   * Stops watching. Instances that outlive the orchestrator (containers) keep running;
   * instances that cannot (child processes) are stopped.
   */
  close(): Promise<void>;
}
