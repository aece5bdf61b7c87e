// The resolved configuration: what models.yaml means once it is parsed, validated, defaulted and
// expanded into one DeploymentSpec per replica. Everything downstream (runtimes, reconcile, gateway)
// works from these types only, never from raw YAML.

import type { GatewaySettings, Limits } from '../../gateway/types.ts';
import type { Engine } from './engines.ts';

// Limits, GatewaySettings and GpuInfo are declared by the gateway, which enforces and shows them.
export type { GatewaySettings, GpuInfo, Limits } from '../../gateway/types.ts';
export type { Engine } from './engines.ts';

export type RuntimeKind = 'docker' | 'process' | 'simulator';
export type Accelerator = 'nvidia' | 'amd' | 'intel';
export type PullPolicy = 'missing' | 'always' | 'never';

export interface SimulatorSettings {
  /** Seconds during which nothing listens, like TGI loading weights (0 = none). */
  loadSeconds: number;
  /** Streaming rate (0 = no delay). */
  tokensPerSecond: number;
  /** Failure knobs, for tests: crash after N requests, crash while loading, hang on requests. */
  crashAfterRequests?: number;
  crashOnLoad?: boolean;
  hang?: boolean;
}

/** One replica: one TGI server (one container or process), reachable at /<model>/<gpuLabel>. */
export interface DeploymentSpec {
  /** Route key and identity: "<model>/<gpuLabel>", e.g. "hermes-2-pro-tgi/gpu0" or "big/gpu0-1". */
  key: string;
  /** The models.yaml `name`. */
  model: string;
  /** "gpu0", or "gpu0-1" for a replica sharded over GPUs 0 and 1. */
  gpuLabel: string;
  /** Host GPU indices this replica is pinned to (NUM_SHARD = gpus.length). */
  gpus: number[];
  /** Hugging Face model id (--model-id). */
  modelId: string;
  runtime: RuntimeKind;
  /**
   * The inference server (`engine`). models.yaml always sets it; absent (hand-built specs) means tgi.
   * It decides the image's port, cache folder and argv; readiness is GET /health for all three.
   */
  engine?: Engine;
  accelerator: Accelerator;
  /** Accepts images (the gateway translates <image>…</image> for it). */
  vision: boolean;
  image: string;
  pull: PullPolicy;
  shmSizeBytes: number;
  /** Environment for the server, ${VAR} already expanded. May hold secrets: never log or label it. */
  env: Record<string, string>;
  /**
   * The server's flags in snake case: for TGI its launcher's (max_input_tokens, quantize, dtype,
   * revision, trust_remote_code, cuda_memory_fraction, max_batch_prefill_tokens, …), for vLLM and
   * SGLang their own (max_model_len, gpu_memory_utilization, … from the models.yaml keys they have,
   * and engine_args). Turned into `--kebab-case value` flags; `true` becomes a bare flag, `false` is
   * omitted (vLLM: `--no-<flag>`).
   */
  launcher: Record<string, string | number | boolean>;
  /** `process` runtime: the command to spawn (argv); launcher flags are appended. */
  command?: string[];
  /** `simulator` runtime (and the tgi-sim image): its knobs. */
  simulator: SimulatorSettings;
  /**
   * How long loading may go without progress (no new launcher log line) before the attempt counts as
   * failed: `load_timeout`, default 30 minutes.
   */
  loadTimeoutMs: number;
  /** Gateway limits in force for this deployment (model overrides over gateway defaults). */
  limits: Limits;
  /** Host folder with the Hugging Face cache, shared by all containers (TGI: at /data; vLLM, SGLang: at /root/.cache/huggingface). */
  hfCache: string;
}

export interface FleetConfig {
  /** Absolute path of the file it came from. */
  file: string;
  /** `gateway.fleet`, default "default": whose containers and locks these are (`up --fleet` overrides it). */
  fleet: string;
  gateway: GatewaySettings;
  deployments: DeploymentSpec[];
}

/** One problem in models.yaml, located precisely enough for an operator to fix it. */
export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  /** Dotted path of the key, e.g. "models[1].gpus". */
  path: string;
  message: string;
  hint?: string;
  /** A problem of this host (a GPU it lacks, an inventory it cannot read) rather than of the file. */
  kind?: 'host';
}
