import type { DeploymentStateName, GatewayOptions, ServedDeployment } from '../types.ts';
import type { KeyUsageTally, KeyUsageView } from './key-usage.ts';
import type { RequestStats, StatsSummary } from './stats.ts';

// The page's view of the fleet, as JSON. Only what the page shows: no env, no upstream address, no log tail.

export interface DeploymentView {
  key: string;
  model: string;
  gpuLabel: string;
  gpus: readonly number[];
  modelId: string;
  runtime: string;
  /** The inference server behind it. */
  engine: 'tgi' | 'vllm' | 'sglang';
  vision: boolean;
  state: DeploymentStateName;
  phase?: string;
  /** When the current state was entered (ms since epoch). */
  since: number;
  /** When the server process last started (ms since epoch), when known: uptime while ready. */
  startedAt?: number;
  restarts: number;
  /** Failed start attempts since it was last ready (0 while healthy). */
  attempts: number;
  /** When a failed deployment is tried again (ms since epoch), when a retry is scheduled. */
  nextRetryAt?: number;
  inFlight: number;
  failure?: { message: string; diagnosis?: string };
  /** Rates and latencies over the last minute. */
  lastMinute: StatsSummary;
  /** 5xx responses over the last 15 minutes. */
  errors15m: number;
}

export interface GpuView {
  index: number;
  name?: string;
  memoryUsedMiB?: number;
  memoryTotalMiB?: number;
  utilizationPercent?: number;
  /** Keys of the deployments pinned to it. */
  deployments: string[];
}

export interface Overview {
  now: number;
  deployments: DeploymentView[];
  gpus: GpuView[];
  /** False when the orchestrator has no nvidia-smi readings (no NVIDIA GPU, or the demo). */
  gpuTelemetry: boolean;
  /** Usage per API key since the gateway started ("operator" for VALID_TOKEN). */
  keys: KeyUsageView[];
}

const MINUTE = 60_000;
const QUARTER_HOUR = 15 * MINUTE;

function deploymentView(d: ServedDeployment, stats: RequestStats): DeploymentView {
  return {
    key: d.key,
    model: d.spec.model,
    gpuLabel: d.spec.gpuLabel,
    gpus: d.spec.gpus,
    modelId: d.spec.modelId,
    runtime: d.spec.runtime,
    engine: d.spec.engine ?? 'tgi',
    vision: d.spec.vision,
    state: d.state,
    phase: d.phase,
    since: d.since,
    startedAt: d.startedAt,
    restarts: d.restarts,
    attempts: d.attempts,
    nextRetryAt: d.nextRetryAt,
    inFlight: d.inFlight,
    failure: d.lastFailure && { message: d.lastFailure.message, diagnosis: d.lastFailure.diagnosis },
    lastMinute: stats.summary(d.key, MINUTE),
    errors15m: stats.summary(d.key, QUARTER_HOUR).errors,
  };
}

/** Every GPU nvidia-smi reports, plus any GPU a deployment is pinned to that it does not (the demo has none). */
function gpuViews(options: GatewayOptions, deployments: readonly ServedDeployment[]): GpuView[] {
  const views = new Map<number, GpuView>();
  for (const g of options.gpus()) {
    views.set(g.index, { index: g.index, name: g.name, memoryUsedMiB: g.memoryUsedMiB, memoryTotalMiB: g.memoryTotalMiB, utilizationPercent: g.utilizationPercent, deployments: [] });
  }
  for (const d of deployments) {
    for (const index of d.spec.gpus) {
      let view = views.get(index);
      if (!view) views.set(index, (view = { index, deployments: [] }));
      view.deployments.push(d.key);
    }
  }
  return [...views.values()].sort((a, b) => a.index - b.index);
}

export function overview(options: GatewayOptions, stats: RequestStats, keyUsage?: KeyUsageTally): Overview {
  const deployments = options.table.all();
  return {
    now: Date.now(),
    deployments: deployments.map((d) => deploymentView(d, stats)),
    gpus: gpuViews(options, deployments),
    gpuTelemetry: options.gpus().length > 0,
    keys: keyUsage?.views() ?? [],
  };
}
