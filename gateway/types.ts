import type { EventEmitter } from 'node:events';

// What the gateway (data plane) needs from the rest of the service, declared here so the gateway
// imports nothing from orchestrator/. The orchestrator, which composes the service, implements these.

/** Where a deployment's server listens. */
export interface Upstream {
  host: string;
  port: number;
  /** e.g. "http://127.0.0.1:32768" */
  url: string;
}

/** A deployment's lifecycle states, as the orchestrator's state machine names them. */
export type DeploymentStateName = 'pending' | 'pulling' | 'creating' | 'loading' | 'ready' | 'down' | 'failed' | 'draining' | 'stopped';

/** Per-deployment request limits enforced by the gateway. */
export interface Limits {
  /** Token bucket refill rate, per client (token + address) per deployment. */
  requestsPerSecond: number;
  /** Token bucket size. */
  burst: number;
  /** In-flight requests per deployment; beyond it a request waits in the model's queue (or gets 429). */
  maxConcurrentRequests: number;
  /** How long a request waits for a free slot when every ready replica is full; 0: 429 at once. */
  queueTimeoutMs: number;
  /** Requests that may wait per model; undefined: 4 × the model's total max_concurrent_requests. */
  queueMax?: number;
  /** Non-streaming request timeout; for streams, the longest silence between two events. */
  requestTimeoutMs: number;
}

/** The gateway-wide settings, read per request so a hot reload of models.yaml takes effect at once. */
export interface GatewaySettings {
  port: number;
  /** Address the gateway listens on (default 0.0.0.0). */
  host: string;
  limits: Limits;
  /** Whether GET /metrics needs the bearer token (default true). */
  metricsAuth: boolean;
  /** Largest request body accepted, in bytes (default 8 MiB: room for a 1024x1024 image in base64). */
  maxBodyBytes: number;
  /** How long removal/replacement/shutdown waits for in-flight requests (default 30 s). */
  drainTimeoutMs: number;
  /** How long a rotated-out token keeps working (default 1 h). */
  tokenGraceMs: number;
  /** Wrong tokens from one address within windowMs before that address is locked out for lockoutMs. */
  authLockout: { failures: number; windowMs: number; lockoutMs: number };
  /** Redis that keeps rate limits, token budgets, per-key concurrency and lockouts for every gateway of the fleet; undefined: in memory. */
  redisUrl?: string;
  /** Addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (default none). */
  trustedProxies: readonly string[];
  /** Open connections one client address may hold; more are closed at once (0: no cap; trusted proxies are exempt). */
  maxConnectionsPerClient: number;
  /** gateway.keys_file, absolute: where the API keys are kept instead of <state dir>/keys.json (read by the orchestrator, not the gateway). */
  keysFile?: string;
}

/** The parts of a deployment's configuration the gateway routes and limits by. */
export interface ServedSpec {
  /** "<model>/<gpuLabel>" */
  readonly key: string;
  readonly model: string;
  readonly gpuLabel: string;
  readonly gpus: readonly number[];
  /** Hugging Face model id. */
  readonly modelId: string;
  /** How it runs ("docker", "process", "simulator"), for /info and the dashboard. */
  readonly runtime: string;
  /** The inference server behind it; absent means tgi. */
  readonly engine?: 'tgi' | 'vllm' | 'sglang';
  /** Accepts images (the gateway translates <image>…</image> for it). */
  readonly vision: boolean;
  readonly limits: Limits;
  /** The GPU vendor ("nvidia", "amd", "intel"), for /info's model_device_type. */
  readonly accelerator: string;
  /** TGI launcher settings as models.yaml gives them (dtype, max_total_tokens, …); never secrets. */
  readonly launcher: Readonly<Record<string, string | number | boolean>>;
}

export interface DeploymentFailure {
  message: string;
  /** A known cause in operator terms, with what to do about it. */
  diagnosis?: string;
  /** The server's last log lines. */
  logTail: readonly string[];
}

export interface StateChange {
  key: string;
  from: DeploymentStateName;
  to: DeploymentStateName;
  detail?: string;
  at: number;
}

/**
 * One replica as the gateway sees it. Everything is read-only here: the orchestrator's supervisor
 * owns the state. The gateway's one say is admission: admit() before relaying, release() after.
 */
export interface ServedDeployment {
  readonly key: string;
  readonly spec: ServedSpec;
  readonly state: DeploymentStateName;
  readonly isReady: boolean;
  /** Loading detail: "downloading weights", "loading shards", "warming up". */
  readonly phase?: string;
  /** When the current state was entered (ms since epoch). */
  readonly since: number;
  /** When the server process last started (ms since epoch), when known; survives adoption. */
  readonly startedAt?: number;
  readonly upstream?: Upstream;
  /** The runtime's id of the running instance (a container id). */
  readonly instanceId?: string;
  /** The instance in operator terms: "container tgi-hermes-gpu0", "pid 4242". */
  readonly instanceName?: string;
  /** Requests admitted and not yet released. */
  readonly inFlight: number;
  /** Times the server exited unexpectedly (survives adoption). */
  readonly restarts: number;
  /** Failed start attempts since it was last ready (0 while healthy). */
  readonly attempts: number;
  /** When a failed deployment is tried again (ms since epoch); undefined when no retry is scheduled. */
  readonly nextRetryAt?: number;
  readonly lastFailure?: DeploymentFailure;
  /** The server's own GET /info, fetched once it is ready. */
  readonly tgiInfo?: Record<string, unknown>;
  /** Counts a request as in flight; false (and nothing counted) unless the deployment is ready. */
  admit(): boolean;
  /** Ends a request admit() counted. */
  release(): void;
}

/**
 * The live set of deployments, keyed by route. Events: 'added' (ServedDeployment),
 * 'removed' (ServedDeployment), 'state' (StateChange, from any deployment).
 */
export interface DeploymentDirectory extends Pick<EventEmitter, 'on' | 'off' | 'once'> {
  get(key: string): ServedDeployment | undefined;
  /** Every replica of a model, in configuration order. */
  replicas(model: string): readonly ServedDeployment[];
  all(): ServedDeployment[];
  models(): string[];
  /** False until the first reconcile has registered models.yaml's deployments (/health is 503 until then). */
  readonly synced: boolean;
}

/** Checks bearer tokens (constant time); `hint` tells an operator how to print the valid one. */
export interface TokenVerifier {
  /** `presented`: the presented token's secretDigest. */
  verify(presented: Buffer): boolean;
  /** e.g. "`npm run token -- --state-dir /srv/fleet` prints it" — for 401 messages and the banner. */
  readonly hint: string;
}

/** A named API key's own limits; an absent one is not limited by the key (the deployment's limits still apply). */
export interface KeyLimits {
  /** Token bucket refill rate across the key (all addresses, all deployments). */
  requestsPerSecond?: number;
  burst?: number;
  /** Prompt + generated tokens in any 60 s window. */
  tokensPerMinute?: number;
  /** Requests in flight across the key's deployments. */
  maxConcurrent?: number;
}

/** Who sent a request: the operator's token, or a named API key. */
export interface Caller {
  /** The key's name; "operator" for VALID_TOKEN. */
  readonly name: string;
  readonly operator: boolean;
  /** Model name patterns (`*` matches any run of characters); undefined = every model. */
  readonly models?: readonly string[];
  readonly limits: KeyLimits;
}

/** What a presented key is: a usable caller, a known key that no longer works, or nothing known (undefined). */
export type KeyMatch = { caller: Caller } | { refused: 'expired' | 'revoked' | 'rotated'; name: string; at: number };

/** Checks named API keys (stored hashed, compared in constant time); re-read when the keys file changes. */
export interface KeyVerifier {
  /** `presented`: the presented key's secretDigest. */
  identify(presented: Buffer): KeyMatch | undefined;
}

/** A GPU as nvidia-smi reports it. */
export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  utilizationPercent: number;
}

type LogFn = { (message: string): void; (fields: object, message: string): void };

/** The process's logger (pino-compatible subset). */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
}

/** Emitted on GatewayOptions.events as 'request' once a proxied request has finished (or was refused). */
export interface RequestRecord {
  /** Deployment key "<model>/<gpuLabel>", or undefined when no deployment was chosen (404). */
  key?: string;
  model: string;
  gpuLabel: string;
  status: number;
  durationMs: number;
  /** Streams only: time from request arrival to the first token event. */
  ttftMs?: number;
  generatedTokens: number;
  /** Prompt tokens as the upstream reported them (x-prompt-tokens, or a stream's final details/usage). */
  promptTokens?: number;
  /** Who sent it (key name, "operator"), once authenticated. */
  caller?: string;
  stream: boolean;
  /** Set when the gateway refused it: 'rate' | 'concurrency' | 'queue_full' | 'queue_timeout' | 'queue_left' | 'not_ready' | 'auth' … */
  refusedBy?: string;
  at: number;
}

/** Operator-visible happenings for the dashboard's event log (besides deployment state changes). */
export interface GatewayNotice {
  kind: 'reload' | 'rate_limited' | 'auth_lockout' | 'info' | 'error';
  message: string;
  at: number;
}

export interface GatewayOptions {
  table: DeploymentDirectory;
  /** Current settings; read per request so a hot reload of models.yaml takes effect at once. */
  settings: () => GatewaySettings;
  tokens: TokenVerifier;
  /** Named API keys besides the operator's token; without it only the token is accepted. */
  keys?: KeyVerifier;
  /** Latest GPU inventory (nvidia-smi polling); empty when there is none. */
  gpus: () => GpuInfo[];
  /** 'request' (RequestRecord) and 'notice' (GatewayNotice) are emitted here. */
  events: EventEmitter;
  log: Logger;
}
