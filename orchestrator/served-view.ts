import { join } from 'node:path';
import type { DeploymentDirectory, DeploymentFailure, DeploymentStateName, GatewaySettings, GpuInfo, ServedSpec, Upstream } from '../gateway/types.ts';
import { writePrivateJson } from './private-json-file.ts';

// What `up` serves, published for gateway replicas (`npm run gateway`): the gateway settings and every
// deployment as the gateway sees it, in <stateDir>/served.json. `up` owns the deployments and is the
// only writer; replicas only read it (orchestrator/followed-table.ts). Rewritten atomically shortly
// after every state change, add/remove and reload, and whenever a periodic look finds it out of date
// (loading phases and TGI's /info change without a state event). Mode 0600 like token.json: the
// settings may hold a password in gateway.redis_url.

export const SERVED_VIEW_VERSION = 1;

export interface ServedDeploymentView {
  key: string;
  spec: ServedSpec;
  state: DeploymentStateName;
  phase?: string;
  since: number;
  startedAt?: number;
  upstream?: Upstream;
  instanceName?: string;
  restarts: number;
  attempts: number;
  nextRetryAt?: number;
  lastFailure?: DeploymentFailure;
  tgiInfo?: Record<string, unknown>;
}

export interface ServedView {
  version: number;
  fleet: string;
  /** The `up` process that writes it. */
  pid: number;
  /** False until `up`'s first reconcile has registered models.yaml's deployments. */
  synced: boolean;
  settings: GatewaySettings;
  /** The host's GPUs as `up` last polled them (for the replica's dashboard and metrics). */
  gpus: GpuInfo[];
  deployments: ServedDeploymentView[];
}

export function servedViewPath(stateDir: string): string {
  return join(stateDir, 'served.json');
}

/** served.json's text as a view, or why it cannot be one. */
export function parseServedView(text: string, file: string): ServedView | string {
  let view: ServedView;
  try {
    view = JSON.parse(text) as ServedView;
  } catch {
    return `${file} is not valid JSON (damaged? \`up\` rewrites it whole on its next change)`;
  }
  if (view.version !== SERVED_VIEW_VERSION || !Array.isArray(view.deployments) || !view.settings) {
    return `${file} was written by another version of this project (view version ${view.version}, this gateway reads ${SERVED_VIEW_VERSION}); run the same version for up and its replicas`;
  }
  return view;
}

/** Changes that come close together are written once, this long after the first. */
const DEBOUNCE_MS = 100;
/** How often the view is compared with the table for changes no event announces. */
const REFRESH_MS = 1000;

export class ServedViewPublisher {
  private readonly file: string;
  private writing: Promise<void> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private refresh?: NodeJS.Timeout;
  private written = '';
  private readonly changed = () => this.schedule();

  constructor(
    stateDir: string,
    private readonly source: { table: DeploymentDirectory; settings: () => GatewaySettings; gpus: () => GpuInfo[]; fleet: string },
    private readonly onError: (message: string) => void,
  ) {
    this.file = servedViewPath(stateDir);
  }

  start(): void {
    const { table } = this.source;
    for (const event of ['added', 'removed', 'state'] as const) table.on(event, this.changed);
    this.refresh = setInterval(() => this.publish(), REFRESH_MS);
    this.refresh.unref();
    this.publish();
  }

  /** Writes the view soon (a reload that changed only settings announces itself here). */
  schedule(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.publish();
    }, DEBOUNCE_MS);
  }

  /** Stops following the table; the last view stays on disk, so replicas keep serving it. */
  async stop(): Promise<void> {
    const { table } = this.source;
    for (const event of ['added', 'removed', 'state'] as const) table.off(event, this.changed);
    clearTimeout(this.timer);
    clearInterval(this.refresh);
    this.publish();
    await this.writing;
  }

  private publish(): void {
    const view = this.view();
    const text = JSON.stringify(view);
    if (text === this.written) return;
    this.written = text;
    // One write after another (temp file, rename), so a replica never reads half a file and the last view wins.
    this.writing = this.writing.then(() => writePrivateJson(this.file, view)).catch((error: Error) => {
      this.written = ''; // the next look writes it again
      this.onError(`${this.file} could not be written (${error.message}); gateway replicas keep serving the view before; check the state dir's permissions and free space`);
    });
  }

  private view(): ServedView {
    const { table, settings, gpus, fleet } = this.source;
    return {
      version: SERVED_VIEW_VERSION,
      fleet,
      pid: process.pid,
      synced: table.synced,
      settings: settings(),
      gpus: gpus(),
      deployments: table.all().map((d) => ({
        key: d.key,
        spec: servedSpecOf(d.spec),
        state: d.state,
        phase: d.phase,
        since: d.since,
        startedAt: d.startedAt,
        upstream: d.upstream,
        instanceName: d.instanceName,
        restarts: d.restarts,
        attempts: d.attempts,
        nextRetryAt: d.nextRetryAt,
        lastFailure: d.lastFailure,
        tgiInfo: d.tgiInfo,
      })),
    };
  }
}

/** Only the ServedSpec fields: the supervisor's spec also holds the server's environment, which may carry secrets. */
function servedSpecOf(spec: ServedSpec): ServedSpec {
  const { key, model, gpuLabel, gpus, modelId, runtime, engine, vision, limits, accelerator, launcher } = spec;
  return { key, model, gpuLabel, gpus, modelId, runtime, engine, vision, limits, accelerator, launcher };
}
