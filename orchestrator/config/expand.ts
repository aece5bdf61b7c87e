import { homedir } from 'node:os';
import path from 'node:path';
import { OTHER_ENGINES, type Engine } from './engines.ts';
import { LAUNCHER_KEYS, type RawDefaults, type RawGateway, type RawModel } from './schema.ts';
import type { Accelerator, DeploymentSpec, GatewaySettings, Limits } from './types.ts';

// Raw (validated) models.yaml → resolved settings: built-in defaults, then `defaults:`, then the model's
// own keys; env maps are merged key by key; per-model limits override the gateway's.

const DEFAULT_IMAGE = 'ghcr.io/huggingface/text-generation-inference:3.3.6';
const IMAGE_FOR_ACCELERATOR: Record<Accelerator, string> = {
  nvidia: DEFAULT_IMAGE,
  amd: `${DEFAULT_IMAGE}-rocm`,
  intel: `${DEFAULT_IMAGE}-intel-xpu`,
};
/** TGI's own --max-concurrent-requests when not given. */
const TGI_DEFAULT_MAX_CONCURRENT_REQUESTS = 128;
/**
 * Environment every TGI server (docker and process runtimes) starts with, under defaults.env and the
 * model's env. USAGE_STATS=off: TGI's router otherwise reports every start, stop and crash of a
 * container, with the host's GPU inventory, to Hugging Face (router/src/usage_stats.rs), which an
 * operator of a private host does not expect; `env: { USAGE_STATS: on }` (or no-stack) turns it back on.
 */
export const TGI_ENV_DEFAULTS: Readonly<Record<string, string>> = { USAGE_STATS: 'off' };
/** load_timeout when not set: a large model on a slow link can go minutes between log lines. */
export const DEFAULT_LOAD_TIMEOUT_MS = 30 * 60_000;

/**
 * queue_timeout when not set: as long as the default request_timeout, so a burst that lasts a few
 * request lengths is absorbed, while sustained overload turns into 429s (with Retry-After) that make
 * clients back off, well before their own timeouts (often 60 s and more) would fire.
 */
export const DEFAULT_QUEUE_TIMEOUT_MS = 30_000;

const GATEWAY_DEFAULTS: GatewaySettings = {
  port: 8000,
  host: '0.0.0.0',
  limits: { requestsPerSecond: 10, burst: 25, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: DEFAULT_QUEUE_TIMEOUT_MS },
  metricsAuth: true,
  maxBodyBytes: 8 * 1024 ** 2,
  drainTimeoutMs: 30_000,
  tokenGraceMs: 3_600_000,
  authLockout: { failures: 10, windowMs: 60_000, lockoutMs: 300_000 },
  trustedProxies: [],
  maxConnectionsPerClient: 256,
};

/** The fleet of a file without `gateway.fleet` (and of `up`, `down`, … without --fleet). */
export const DEFAULT_FLEET = 'default';

export function resolveFleet(raw: RawGateway | null | undefined): string {
  return raw?.fleet ?? DEFAULT_FLEET;
}

/** `configDir`: the folder of models.yaml, which a relative keys_file is relative to. */
export function resolveGateway(raw: RawGateway | null | undefined, configDir = process.cwd(), env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  const d = GATEWAY_DEFAULTS;
  return {
    port: raw?.port ?? d.port,
    host: raw?.host ?? d.host,
    limits: {
      requestsPerSecond: raw?.rate_limit?.requests_per_second ?? d.limits.requestsPerSecond,
      burst: raw?.rate_limit?.burst ?? d.limits.burst,
      maxConcurrentRequests: raw?.max_concurrent_requests ?? d.limits.maxConcurrentRequests,
      requestTimeoutMs: raw?.request_timeout ?? d.limits.requestTimeoutMs,
      queueTimeoutMs: raw?.queue_timeout ?? d.limits.queueTimeoutMs,
      ...(raw?.queue_max !== undefined && { queueMax: raw.queue_max }),
    },
    metricsAuth: raw?.metrics_auth ?? d.metricsAuth,
    maxBodyBytes: raw?.max_body_size ?? d.maxBodyBytes,
    drainTimeoutMs: raw?.drain_timeout ?? d.drainTimeoutMs,
    tokenGraceMs: raw?.token_grace_period ?? d.tokenGraceMs,
    authLockout: {
      failures: raw?.auth_lockout?.failures ?? d.authLockout.failures,
      windowMs: raw?.auth_lockout?.window ?? d.authLockout.windowMs,
      lockoutMs: raw?.auth_lockout?.duration ?? d.authLockout.lockoutMs,
    },
    ...(raw?.redis_url !== undefined && { redisUrl: raw.redis_url }),
    trustedProxies: raw?.trusted_proxies ?? d.trustedProxies,
    maxConnectionsPerClient: raw?.max_connections_per_client ?? d.maxConnectionsPerClient,
    ...(raw?.keys_file !== undefined && { keysFile: resolveConfigPath(raw.keys_file, configDir, env) }),
  };
}

/**
 * The host folder mounted at /data: `defaults.hf_cache`, else $HF_HOME, else ~/.cache/huggingface
 * (the layout TGI's HF_HOME=/data expects, so weights downloaded on the host are reused).
 * `~` is the home folder; a relative path is relative to the folder of models.yaml.
 */
export function resolveHfCache(defaults: RawDefaults | null | undefined, env: NodeJS.ProcessEnv, configDir: string): string {
  return resolveConfigPath(defaults?.hf_cache ?? env.HF_HOME ?? '~/.cache/huggingface', configDir, env);
}

/** A path written in models.yaml: `~` is the home folder; a relative path is relative to the folder of models.yaml. */
export function resolveConfigPath(written: string, configDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || homedir();
  const expanded = written === '~' ? home : written.startsWith('~/') ? path.join(home, written.slice(2)) : written;
  return path.resolve(configDir, expanded);
}

/** One models.yaml entry with every setting resolved; its GPUs are placed separately (placement.ts). */
export type ResolvedModel = Omit<DeploymentSpec, 'key' | 'model' | 'gpuLabel' | 'gpus' | 'hfCache'> & {
  /** Position in `models:`. */
  index: number;
  raw: RawModel;
  name: string;
  /**
   * Settings whose value could not be read (a schema error in this model or in defaults): they are
   * left out, not defaulted, and rules that need them are skipped, so one mistake is reported once.
   */
  uncertain: ReadonlySet<string>;
};

export function resolveModel(
  raw: RawModel,
  index: number,
  defaults: RawDefaults | null | undefined,
  gateway: GatewaySettings,
  uncertain: ReadonlySet<string> = new Set(),
): ResolvedModel {
  const accelerator = raw.accelerator ?? defaults?.accelerator ?? 'nvidia';
  const own = raw.limits;
  const limits: Limits = {
    requestsPerSecond: own?.rate_limit?.requests_per_second ?? own?.requests_per_second ?? gateway.limits.requestsPerSecond,
    burst: own?.rate_limit?.burst ?? own?.burst ?? gateway.limits.burst,
    maxConcurrentRequests: own?.max_concurrent_requests ?? gateway.limits.maxConcurrentRequests,
    requestTimeoutMs: own?.request_timeout ?? gateway.limits.requestTimeoutMs,
    queueTimeoutMs: own?.queue_timeout ?? gateway.limits.queueTimeoutMs,
  };
  const queueMax = own?.queue_max ?? gateway.limits.queueMax;
  if (queueMax !== undefined) limits.queueMax = queueMax;
  const simulator = { ...defaults?.simulator, ...raw.simulator };
  const runtime = raw.runtime ?? defaults?.runtime ?? 'docker';
  const engine: Engine = raw.engine ?? defaults?.engine ?? 'tgi';
  const envDefaults = runtime === 'simulator' ? {} : engine === 'tgi' ? TGI_ENV_DEFAULTS : OTHER_ENGINES[engine].envDefaults;
  return {
    index,
    raw,
    name: raw.name,
    uncertain,
    modelId: raw.model_id,
    runtime,
    engine,
    accelerator,
    vision: raw.vision ?? false,
    // defaults.image is an image of the defaults' engine: a model on another engine gets that engine's.
    image: raw.image ?? (engine === (defaults?.engine ?? 'tgi') ? defaults?.image : undefined) ?? defaultImage(engine, accelerator),
    pull: raw.pull ?? defaults?.pull ?? 'missing',
    shmSizeBytes: raw.shm_size ?? defaults?.shm_size ?? 1024 ** 3,
    loadTimeoutMs: raw.load_timeout ?? defaults?.load_timeout ?? DEFAULT_LOAD_TIMEOUT_MS,
    env: { ...envDefaults, ...defaults?.env, ...raw.env },
    launcher: engine === 'tgi' ? launcherSettings(raw, defaults, limits, uncertain) : engineSettings(engine, raw, defaults, uncertain),
    command: raw.command,
    simulator: {
      loadSeconds: simulator.load_seconds ?? 3,
      tokensPerSecond: simulator.tokens_per_second ?? 30,
      ...(simulator.crash_after_requests !== undefined && { crashAfterRequests: simulator.crash_after_requests }),
      ...(simulator.crash_on_load !== undefined && { crashOnLoad: simulator.crash_on_load }),
      ...(simulator.hang !== undefined && { hang: simulator.hang }),
    },
    limits,
  };
}

/**
 * launcher_args (kebab case turned to snake), then the first-class launcher keys, defaults first.
 * TGI rejects requests beyond its own --max-concurrent-requests (default 128) with 429: when the
 * operator did not set it and the gateway admits more, it is raised to the gateway's cap. It is not
 * set below 128, so lowering the gateway cap never changes the server (nor its config hash).
 */
function launcherSettings(raw: RawModel, defaults: RawDefaults | null | undefined, limits: Limits, uncertain: ReadonlySet<string>): Record<string, string | number | boolean> {
  const launcher: Record<string, string | number | boolean> = {};
  for (const args of [defaults?.launcher_args, raw.launcher_args]) {
    for (const [flag, value] of Object.entries(args ?? {})) launcher[flag.replaceAll('-', '_')] = value as string | number | boolean;
  }
  for (const key of LAUNCHER_KEYS) {
    if (uncertain.has(key)) continue;
    const value = raw[key] ?? defaults?.[key];
    if (value !== undefined) launcher[key] = value;
  }
  if (launcher.max_concurrent_requests === undefined && limits.maxConcurrentRequests > TGI_DEFAULT_MAX_CONCURRENT_REQUESTS) {
    launcher.max_concurrent_requests = limits.maxConcurrentRequests;
  }
  return launcher;
}

/**
 * vLLM's or SGLang's flags: the models.yaml keys the engine has, under its own names, then engine_args
 * (kebab case turned to snake). A key of `defaults` the engine has no equivalent of is not for it (it
 * serves the TGI models of the file) and is left out; the same key on the model is an error (engine-rules.ts).
 */
function engineSettings(engine: Exclude<Engine, 'tgi'>, raw: RawModel, defaults: RawDefaults | null | undefined, uncertain: ReadonlySet<string>): Record<string, string | number | boolean> {
  const settings: Record<string, string | number | boolean> = { ...OTHER_ENGINES[engine].argDefaults };
  for (const [key, { flag }] of Object.entries(OTHER_ENGINES[engine].keys)) {
    if (uncertain.has(key)) continue;
    const value = raw[key as keyof RawModel] ?? defaults?.[key as keyof RawDefaults];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') settings[flag] = value;
  }
  for (const [flag, value] of Object.entries(raw.engine_args ?? {})) settings[flag.replace(/^-+/, '').replaceAll('-', '_')] = value;
  return settings;
}

/** The image when `image` is not set: TGI has one per accelerator, vLLM and SGLang one for nvidia. */
function defaultImage(engine: Engine, accelerator: Accelerator): string {
  return engine === 'tgi' ? IMAGE_FOR_ACCELERATOR[accelerator] : OTHER_ENGINES[engine].image;
}

/** "gpu0" for one GPU, "gpu0-1" for a replica sharded over GPUs 0 and 1. */
export function gpuLabel(gpus: readonly number[]): string {
  return `gpu${gpus.join('-')}`;
}

/** One DeploymentSpec per replica; `replicaGpus` holds each replica's GPUs (sorted). */
export function toDeployments(model: ResolvedModel, replicaGpus: readonly number[][], hfCache: string): DeploymentSpec[] {
  return replicaGpus.map((gpus) => {
    const label = gpuLabel(gpus);
    const spec: DeploymentSpec = {
      key: `${model.name}/${label}`,
      model: model.name,
      gpuLabel: label,
      gpus: [...gpus],
      modelId: model.modelId,
      runtime: model.runtime,
      engine: model.engine,
      accelerator: model.accelerator,
      vision: model.vision,
      image: model.image,
      pull: model.pull,
      shmSizeBytes: model.shmSizeBytes,
      env: { ...model.env },
      launcher: { ...model.launcher },
      ...(model.command && { command: [...model.command] }),
      simulator: { ...model.simulator },
      loadTimeoutMs: model.loadTimeoutMs,
      limits: { ...model.limits },
      hfCache,
    };
    return spec;
  });
}
