// Launcher flags and env, the way text-generation-launcher takes them: every `--kebab-flag` also
// reads from its UPPER_SNAKE env var, and an explicit flag wins over the env. Flags the simulator
// does not act on (--quantize, --dtype, --cuda-memory-fraction, …) are accepted and ignored.
// Simulator knobs follow the same rule: `--sim-load-seconds` / SIM_LOAD_SECONDS.

export interface SimKnobs {
  /** Seconds during which nothing listens (weights "download" and shards "load"). */
  loadSeconds: number;
  /** Token pacing; 0 = no delay. */
  tokensPerSecond: number;
  /** Accept Markdown images in inputs. */
  vision: boolean;
  /** Input tokens one image costs. */
  imageTokens: number;
  /** Exit with code 1 when generation request N+1 arrives (before answering it). */
  crashAfterRequests?: number;
  /** Fail while loading like a CUDA out-of-memory, exit 1. */
  crashOnLoad: boolean;
  /** Accept generation requests but never answer them. */
  hang: boolean;
  /** Silence after which an SSE stream gets a `:` comment (TGI/axum: 15 s). */
  keepAliveSeconds: number;
}

export interface SimSettings {
  modelId: string;
  revision?: string;
  port: number;
  hostname: string;
  prometheusPort?: number;
  maxInputTokens: number;
  maxTotalTokens: number;
  maxBatchTotalTokens: number;
  maxConcurrentRequests: number;
  maxBestOf: number;
  maxStopSequences: number;
  maxTopNTokens: number;
  maxClientBatchSize: number;
  validationWorkers: number;
  numShard: number;
  payloadLimit: number;
  gracefulTerminationSeconds: number;
  jsonOutput: boolean;
  /** --enable-prefill-logprobs: without it, `decoder_input_details` yields `prefill: []`. */
  enablePrefillLogprobs: boolean;
  /** --disable-grammar-support: every `grammar` (and tools / response_format) is a 422. */
  disableGrammarSupport: boolean;
  /** --api-key: the generation routes then want `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** What the process sees, reported in /info and the start-up log. */
  nvidiaVisibleDevices: string | null;
  cudaVisibleDevices: string | null;
  sim: SimKnobs;
}

export type ParsedCommand = { kind: 'run'; settings: SimSettings } | { kind: 'help' } | { kind: 'version' };

/** A launcher argument problem; `exitCode` 2 for malformed values (like clap), 1 for inconsistent ones. */
export class SettingsError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2) {
    super(message);
  }
}

// Flags that never take a value, so `--trust-remote-code foo` cannot swallow `foo`.
const BOOLEAN_FLAGS = new Set([
  'help', 'version', 'trust-remote-code', 'disable-custom-kernels', 'json-output', 'disable-grammar-support',
  'disable-usage-stats', 'disable-crash-reports', 'enable-prefill-logprobs', 'sim-vision', 'sim-crash-on-load', 'sim-hang',
]);
const SHORT_FLAGS: Record<string, string> = { p: 'port', h: 'help', V: 'version' };

/** argv → flag name (kebab, without dashes) → value; a bare flag is `true`. */
function parseArgv(argv: string[]): Map<string, string | true> {
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    let name: string;
    if (arg.startsWith('--')) name = arg.slice(2);
    else if (/^-[A-Za-z]$/.test(arg)) name = SHORT_FLAGS[arg[1]] ?? arg[1];
    else continue; // a stray positional: TGI would reject it, the simulator keeps parsing simple
    const eq = name.indexOf('=');
    if (eq >= 0) {
      flags.set(name.slice(0, eq), name.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (!BOOLEAN_FLAGS.has(name) && next !== undefined && !next.startsWith('--')) {
      flags.set(name, next);
      i++;
    } else {
      flags.set(name, true);
    }
  }
  return flags;
}

function envName(flag: string): string {
  return flag.toUpperCase().replace(/-/g, '_');
}

class Source {
  constructor(private readonly flags: Map<string, string | true>, private readonly env: NodeJS.ProcessEnv) {}

  raw(flag: string, env = envName(flag)): string | true | undefined {
    const fromFlag = this.flags.get(flag);
    if (fromFlag !== undefined) return fromFlag;
    const fromEnv = this.env[env];
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  }

  has(flag: string, env?: string): boolean {
    return this.raw(flag, env) !== undefined;
  }

  string(flag: string): string | undefined {
    const value = this.raw(flag);
    return value === true ? undefined : value;
  }

  bool(flag: string): boolean {
    const value = this.raw(flag);
    if (value === undefined) return false;
    if (value === true) return true;
    return !['0', 'false', 'no', 'off'].includes(value.toLowerCase());
  }

  number(flag: string, fallback: number, options: { integer?: boolean; min?: number; env?: string } = {}): number {
    const value = this.raw(flag, options.env);
    if (value === undefined) return fallback;
    const parsed = value === true ? NaN : Number(value);
    const ok = Number.isFinite(parsed) && (!options.integer || Number.isInteger(parsed)) && parsed >= (options.min ?? 0);
    if (!ok) throw new SettingsError(`error: invalid value '${value === true ? '' : value}' for '--${flag} <${envName(flag)}>': expected ${options.integer ? 'an integer' : 'a number'} >= ${options.min ?? 0}`, 2);
    return parsed;
  }

  optionalNumber(flag: string, options: { integer?: boolean; min?: number; env?: string } = {}): number | undefined {
    return this.has(flag, options.env) ? this.number(flag, 0, options) : undefined;
  }
}

/** The number of GPUs the launcher would shard over when NUM_SHARD is not given (TGI's find_num_shards). */
function countVisibleDevices(env: NodeJS.ProcessEnv): number | undefined {
  const devices = env.CUDA_VISIBLE_DEVICES ?? env.NVIDIA_VISIBLE_DEVICES ?? env.ZE_AFFINITY_MASK;
  return devices === undefined ? undefined : devices.split(',').length;
}

function resolveNumShard(source: Source, env: NodeJS.ProcessEnv): number {
  const numShard = source.optionalNumber('num-shard', { integer: true, min: 1 });
  const sharded = source.has('sharded') ? source.bool('sharded') : undefined;
  if (sharded === true) {
    const count = numShard ?? countVisibleDevices(env);
    if (count === undefined) throw new SettingsError('Error: NotEnoughCUDADevices("--num-shard and CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES/ZE_AFFINITY_MASK are not set")', 1);
    if (count <= 1) throw new SettingsError('Error: ArgumentValidation("`sharded` is true but `num_shard` <= 1")', 1);
    return count;
  }
  if (sharded === false) return numShard ?? 1;
  return numShard ?? countVisibleDevices(env) ?? 1;
}

function resolveTokenLimits(source: Source): { maxInputTokens: number; maxTotalTokens: number } {
  if (source.has('max-input-tokens') && source.has('max-input-length')) {
    const both = `\`max_input_tokens\` (${source.string('max-input-tokens')}) and \`max_input_length\` (${source.string('max-input-length')})`;
    throw new SettingsError(`Error: ArgumentValidation("Both ${both} are set. Please define only \`max_input_tokens\` as \`max_input_length is deprecated for naming consistency.")`, 1);
  }
  const givenInput = source.optionalNumber('max-input-tokens', { integer: true, min: 1 }) ?? source.optionalNumber('max-input-length', { integer: true, min: 1 });
  const givenTotal = source.optionalNumber('max-total-tokens', { integer: true, min: 2 });
  // Real TGI derives the defaults from the model's max_position_embeddings; the simulator's "model" has 4096.
  const maxTotalTokens = givenTotal ?? Math.max(4096, (givenInput ?? 0) + 1);
  const maxInputTokens = givenInput ?? maxTotalTokens - 1;
  if (maxInputTokens >= maxTotalTokens) {
    throw new SettingsError(`Error: ArgumentValidation("\`max_input_tokens\`(${maxInputTokens}) must be < \`max_total_tokens\`(${maxTotalTokens})")`, 1);
  }
  return { maxInputTokens, maxTotalTokens };
}

export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): ParsedCommand {
  const flags = parseArgv(argv);
  if (flags.has('help')) return { kind: 'help' };
  if (flags.has('version')) return { kind: 'version' };
  const source = new Source(flags, env);
  const { maxInputTokens, maxTotalTokens } = resolveTokenLimits(source);
  const crashAfter = source.optionalNumber('sim-crash-after-requests', { integer: true, min: 0 });
  const maxBatchTotalTokens = source.number('max-batch-total-tokens', maxTotalTokens * 16, { integer: true, min: 1 });
  if (maxTotalTokens > maxBatchTotalTokens) {
    throw new SettingsError(`Error: ArgumentValidation("\`max_total_tokens\` must be <= \`max_batch_total_tokens\`. Given: ${maxTotalTokens} and ${maxBatchTotalTokens}")`, 1);
  }
  const settings: SimSettings = {
    modelId: source.string('model-id') ?? 'bigscience/bloom-560m',
    revision: source.string('revision'),
    port: source.number('port', 80, { integer: true }),
    hostname: source.string('hostname') ?? '0.0.0.0',
    prometheusPort: source.optionalNumber('prometheus-port', { integer: true }),
    maxInputTokens,
    maxTotalTokens,
    maxBatchTotalTokens,
    maxConcurrentRequests: source.number('max-concurrent-requests', 128, { integer: true, min: 1 }),
    maxBestOf: source.number('max-best-of', 2, { integer: true, min: 1 }),
    maxStopSequences: source.number('max-stop-sequences', 4, { integer: true }),
    maxTopNTokens: source.number('max-top-n-tokens', 5, { integer: true }),
    maxClientBatchSize: source.number('max-client-batch-size', 4, { integer: true, min: 1 }),
    validationWorkers: source.number('validation-workers', 2, { integer: true, min: 1 }),
    numShard: resolveNumShard(source, env),
    payloadLimit: source.number('payload-limit', 2_000_000, { integer: true, min: 1 }),
    gracefulTerminationSeconds: source.number('graceful-termination-timeout', 90),
    jsonOutput: source.bool('json-output'),
    enablePrefillLogprobs: source.bool('enable-prefill-logprobs'),
    disableGrammarSupport: source.bool('disable-grammar-support'),
    apiKey: source.string('api-key'),
    nvidiaVisibleDevices: env.NVIDIA_VISIBLE_DEVICES ?? null,
    cudaVisibleDevices: env.CUDA_VISIBLE_DEVICES ?? null,
    sim: {
      loadSeconds: source.number('sim-load-seconds', 3),
      tokensPerSecond: source.number('sim-tokens-per-second', 30),
      vision: source.bool('sim-vision'),
      imageTokens: source.number('sim-image-tokens', 64, { integer: true, min: 1 }),
      crashAfterRequests: crashAfter,
      crashOnLoad: source.bool('sim-crash-on-load'),
      hang: source.bool('sim-hang'),
      keepAliveSeconds: source.number('sim-keep-alive-seconds', 15),
    },
  };
  return { kind: 'run', settings };
}

export const USAGE = `Text Generation Inference simulator (tgi-sim): a stand-in for text-generation-launcher 3.3.x

Usage: tgi-sim [OPTIONS]

Every option also reads its env var (--max-total-tokens / MAX_TOTAL_TOKENS); a flag wins over the env.

Options acted on:
      --model-id <MODEL_ID>                        [default: bigscience/bloom-560m]
  -p, --port <PORT>                                [default: 80]
      --hostname <HOSTNAME>                        [default: 0.0.0.0]
      --prometheus-port <PROMETHEUS_PORT>          bound only when given
      --max-input-tokens <MAX_INPUT_TOKENS>        (legacy: --max-input-length)  [default: max-total-tokens - 1]
      --max-total-tokens <MAX_TOTAL_TOKENS>        [default: 4096]
      --max-batch-total-tokens <N>                 [default: 16 x max-total-tokens]
      --max-concurrent-requests <N>                [default: 128]
      --max-best-of <N>                            [default: 2]
      --max-stop-sequences <N>                     [default: 4]
      --max-top-n-tokens <N>                       [default: 5]
      --max-client-batch-size <N>                  [default: 4]
      --validation-workers <N>                     [default: 2]
      --num-shard <N>, --sharded <true|false>      [default: from CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES, else 1]
      --payload-limit <BYTES>                      [default: 2000000]
      --graceful-termination-timeout <SECONDS>     [default: 90]
      --json-output                                log JSON lines
      --enable-prefill-logprobs                    decoder_input_details returns the prompt's logprobs (else prefill: [])
      --disable-grammar-support                    grammar, tools and response_format are refused
      --api-key <KEY>                              generation routes want Authorization: Bearer <KEY>
  Any other TGI option (--quantize, --dtype, --revision, --trust-remote-code, …) is accepted and ignored.

Simulator knobs (flag or env):
      --sim-load-seconds / SIM_LOAD_SECONDS                   nothing listens while loading [default: 3]
      --sim-tokens-per-second / SIM_TOKENS_PER_SECOND         0 = no delay [default: 30]
      --sim-vision / SIM_VISION=1                             accept Markdown images ![](data:image/…;base64,…)
      --sim-image-tokens / SIM_IMAGE_TOKENS                   input tokens per image [default: 64]
      --sim-crash-after-requests / SIM_CRASH_AFTER_REQUESTS=N exit 1 when generation request N+1 arrives
      --sim-crash-on-load / SIM_CRASH_ON_LOAD=1               fail loading with CUDA out of memory, exit 1
      --sim-hang / SIM_HANG=1                                 accept generation requests, never answer
      --sim-keep-alive-seconds / SIM_KEEP_ALIVE_SECONDS       SSE keep-alive interval [default: 15]
  -h, --help       Print help
  -V, --version    Print version
`;
