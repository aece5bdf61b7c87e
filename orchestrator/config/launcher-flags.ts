// Every flag of TGI 3.3.6's `text-generation-launcher` (launcher/src/main.rs, `struct Args`), in the order
// it declares them. The one table behind the models.yaml launcher keys (schema.ts), the launcher_args and
// env checks (tgi-rules.ts), the launcher's argv (runtime/launcher-args.ts) and models.schema.json.
// docs/tgi-contract.md lists the same flags with TGI's own checks.

/** What a flag takes, as clap parses it, and how models.yaml writes it. */
export type FlagType =
  /** usize, u32, u16, u64: `min` is TGI's own lower limit where it refuses less (or ours where 0 is nonsense). */
  | { readonly kind: 'integer'; readonly min: number; readonly max?: number }
  /** f32. */
  | { readonly kind: 'number'; readonly positive?: true; readonly max?: number }
  /** A bare switch (`--trust-remote-code`): true passes it, false leaves it out. */
  | { readonly kind: 'boolean' }
  /** `Option<bool>`: the flag takes `true` or `false` as its value (`--sharded true`). */
  | { readonly kind: 'boolean-value' }
  /** A clap ValueEnum: exactly these spellings (case-sensitive). */
  | { readonly kind: 'enum'; readonly values: readonly string[] }
  | { readonly kind: 'text' }
  /** `Vec<usize>` with `value_delimiter = ','`; models.yaml writes a list (or 0). */
  | { readonly kind: 'integers' }
  /** A number of bytes; models.yaml writes a size like 2mb. */
  | { readonly kind: 'size' };

/**
 * Who sets a flag: its own models.yaml key, `launcher_args`, the orchestrator (from other keys, or
 * itself), or nobody (TGI behind this gateway would break).
 */
export type FlagOwner = 'key' | 'launcher_args' | 'orchestrator' | 'refused';

export interface LauncherFlag {
  /** The field's Rust type in `Args`. */
  readonly rust: string;
  /** The environment variable clap also reads (`#[clap(env)]`: the field name in upper case). */
  readonly env?: string;
  readonly type: FlagType;
  /** TGI's value when the flag is absent (clap's default_value, or what main.rs computes). */
  readonly default?: string;
  readonly owner: FlagOwner;
  /** For `orchestrator` and `refused`: why, and what to write instead. */
  readonly why?: string;
  /** What it does, in a line (models.schema.json descriptions, hints). */
  readonly summary: string;
  /** A value to show in hints and editor completion. */
  readonly example?: string | number | boolean | readonly number[];
  /** Where TGI defines its values or checks it, beyond the `Args` field itself. */
  readonly source?: string;
  /** Value spellings people reach for that TGI does not take, with what to write instead. */
  readonly confusions?: Readonly<Record<string, string>>;
}

const QUANTIZATION = ['awq', 'compressed-tensors', 'eetq', 'exl2', 'gptq', 'marlin', 'bitsandbytes', 'bitsandbytes-nf4', 'bitsandbytes-fp4', 'fp8'] as const;

export const LAUNCHER_FLAGS = {
  model_id: { rust: 'String', env: 'MODEL_ID', type: { kind: 'text' }, default: 'bigscience/bloom-560m', owner: 'orchestrator', why: "it is the model's `model_id`", summary: 'Hugging Face model id or local folder to serve' },
  revision: { rust: 'Option<String>', env: 'REVISION', type: { kind: 'text' }, owner: 'key', summary: 'branch, tag or commit of the model repository (pin it with trust_remote_code)', example: 'main' },
  validation_workers: { rust: 'usize', env: 'VALIDATION_WORKERS', type: { kind: 'integer', min: 1 }, default: '2', owner: 'launcher_args', summary: 'tokenizer workers that validate and truncate requests', example: 2, source: 'launcher/src/main.rs main() and backends/v3/src/main.rs main(): refused when 0' },
  sharded: { rust: 'Option<bool>', env: 'SHARDED', type: { kind: 'boolean-value' }, owner: 'orchestrator', why: 'it follows from gpus: write gpus: [[0, 1]] for one replica sharded over GPUs 0 and 1', summary: 'shard the model over several GPUs', source: 'launcher/src/main.rs find_num_shards(): sharded=true with num_shard <= 1 is refused' },
  num_shard: { rust: 'Option<usize>', env: 'NUM_SHARD', type: { kind: 'integer', min: 1 }, owner: 'orchestrator', why: 'it is the number of GPUs of each replica: write gpus: [[0, 1]] to shard over two', summary: 'number of shards (one per GPU)', source: 'launcher/src/main.rs find_num_shards(): refused when < 1' },
  quantize: {
    rust: 'Option<Quantization>', env: 'QUANTIZE', type: { kind: 'enum', values: QUANTIZATION }, owner: 'key', summary: 'quantization method; pre-quantized models declare theirs in config.json', example: 'awq', source: 'launcher/src/main.rs enum Quantization; server/text_generation_server/cli.py class Quantization',
    confusions: { none: 'leave quantize unset for no quantization', int8: 'TGI 3.3 calls 8-bit quantization `eetq` (or `bitsandbytes`)', int4: 'TGI 3.3 has `bitsandbytes-nf4` for 4-bit on any model, or `awq`/`gptq` for pre-quantized ones', nf4: 'write `bitsandbytes-nf4`', fp4: 'write `bitsandbytes-fp4`', bnb: 'write `bitsandbytes` (or bitsandbytes-nf4, bitsandbytes-fp4)' },
  },
  speculate: { rust: 'Option<usize>', env: 'SPECULATE', type: { kind: 'integer', min: 0 }, owner: 'key', summary: 'input ids to speculate on (Medusa heads, or n-gram speculation)', example: 2 },
  dtype: {
    rust: 'Option<Dtype>', env: 'DTYPE', type: { kind: 'enum', values: ['float16', 'bfloat16'] }, owner: 'key', summary: 'dtype forced on the weights; not with a quantize other than bitsandbytes', example: 'bfloat16', source: 'launcher/src/main.rs enum Dtype; server/text_generation_server/cli.py serve()',
    confusions: { fp16: 'write `float16`', half: 'write `float16`', bf16: 'write `bfloat16`', float32: "TGI 3.3's launcher takes only float16 or bfloat16", fp32: "TGI 3.3's launcher takes only float16 or bfloat16", auto: 'leave dtype unset to use the model\'s own' },
  },
  kv_cache_dtype: {
    rust: 'Option<KVCacheDtype>', env: 'KV_CACHE_DTYPE', type: { kind: 'enum', values: ['fp8_e4m3fn', 'fp8_e5m2'] }, owner: 'key', summary: 'dtype of the key-value cache (default: the model dtype)', example: 'fp8_e4m3fn', source: 'launcher/src/main.rs enum KVCacheDtype',
    confusions: { fp8: 'TGI 3.3 names the FP8 formats: write `fp8_e4m3fn` (or `fp8_e5m2`)', e4m3: 'write `fp8_e4m3fn`', e5m2: 'write `fp8_e5m2`', auto: 'leave kv_cache_dtype unset to use the model dtype' },
  },
  trust_remote_code: { rust: 'bool', env: 'TRUST_REMOTE_CODE', type: { kind: 'boolean' }, owner: 'key', summary: 'run modelling code from the model repository (pin `revision` too)', example: true },
  max_concurrent_requests: { rust: 'usize', env: 'MAX_CONCURRENT_REQUESTS', type: { kind: 'integer', min: 1 }, default: '128', owner: 'launcher_args', summary: "TGI's own cap on requests in flight; beyond it TGI answers 429 (raised to the gateway's cap when that is higher)", example: 128 },
  max_best_of: { rust: 'usize', env: 'MAX_BEST_OF', type: { kind: 'integer', min: 1 }, default: '2', owner: 'key', summary: 'largest `best_of` a client may ask for', example: 2 },
  max_stop_sequences: { rust: 'usize', env: 'MAX_STOP_SEQUENCES', type: { kind: 'integer', min: 0 }, default: '4', owner: 'key', summary: 'most `stop` sequences a client may send', example: 4 },
  max_top_n_tokens: { rust: 'u32', env: 'MAX_TOP_N_TOKENS', type: { kind: 'integer', min: 0, max: 4294967295 }, default: '5', owner: 'launcher_args', summary: 'largest `top_n_tokens` a client may ask for', example: 5 },
  max_input_tokens: { rust: 'Option<usize>', env: 'MAX_INPUT_TOKENS', type: { kind: 'integer', min: 1 }, default: 'min(max allocatable, max_position_embeddings) - 1', owner: 'key', summary: 'longest prompt, in tokens; must be below max_total_tokens', example: 2048, source: 'launcher/src/main.rs main(): must be < max_total_tokens' },
  max_input_length: { rust: 'Option<usize>', env: 'MAX_INPUT_LENGTH', type: { kind: 'integer', min: 1 }, owner: 'refused', why: 'it is the legacy name of max_input_tokens (the launcher refuses both together): write `max_input_tokens`', summary: 'legacy name of max_input_tokens', source: 'launcher/src/main.rs main(): refused together with max_input_tokens' },
  max_total_tokens: { rust: 'Option<usize>', env: 'MAX_TOTAL_TOKENS', type: { kind: 'integer', min: 1 }, default: 'min(max allocatable, max_position_embeddings)', owner: 'key', summary: 'prompt + generated tokens of one request: the memory budget of each request', example: 4096 },
  waiting_served_ratio: { rust: 'f32', env: 'WAITING_SERVED_RATIO', type: { kind: 'number', positive: true }, default: '0.3', owner: 'key', summary: 'waiting/running request ratio at which waiting requests are added to the running batch', example: 0.3 },
  max_batch_prefill_tokens: { rust: 'Option<u32>', env: 'MAX_BATCH_PREFILL_TOKENS', type: { kind: 'integer', min: 1, max: 4294967295 }, default: 'computed from the GPU and model (4096 when unknown), at most max_position_embeddings', owner: 'key', summary: 'tokens of one prefill batch; at least max_input_tokens unless the model supports chunked prefill', example: 4096, source: 'launcher/src/main.rs main() (default); backends/v3/src/main.rs main() (checks)' },
  max_batch_total_tokens: { rust: 'Option<u32>', env: 'MAX_BATCH_TOTAL_TOKENS', type: { kind: 'integer', min: 1, max: 4294967295 }, default: 'inferred at warm-up (Flash Attention models ignore a given value)', owner: 'key', summary: 'tokens of all requests in a batch; at least max_total_tokens', example: 16384, source: 'launcher/src/main.rs main(); backends/v3/src/lib.rs connect_backend()' },
  max_waiting_tokens: { rust: 'usize', env: 'MAX_WAITING_TOKENS', type: { kind: 'integer', min: 1 }, default: '20', owner: 'key', summary: 'decode steps after which waiting requests are forced into the batch', example: 20 },
  max_batch_size: { rust: 'Option<usize>', env: 'MAX_BATCH_SIZE', type: { kind: 'integer', min: 1 }, owner: 'key', summary: 'most requests in one batch', example: 32, source: 'backends/v3/src/main.rs main(): refused when 0' },
  cuda_graphs: { rust: 'Option<Vec<usize>>', env: 'CUDA_GRAPHS', type: { kind: 'integers' }, default: '1,2,4,8,16,32 (none with bitsandbytes or exl2)', owner: 'key', summary: 'batch sizes to capture CUDA graphs for, or 0 to disable them', example: [1, 2, 4, 8], source: 'launcher/src/main.rs main(): zeros are dropped' },
  hostname: { rust: 'String', env: 'HOSTNAME', type: { kind: 'text' }, default: '0.0.0.0', owner: 'orchestrator', why: 'the orchestrator picks the address', summary: 'address the router listens on' },
  port: { rust: 'u16', env: 'PORT', type: { kind: 'integer', min: 0, max: 65535 }, default: '3000 (the image sets PORT=80)', owner: 'orchestrator', why: 'the orchestrator picks the port', summary: 'port the router listens on' },
  prometheus_port: { rust: 'u16', env: 'PROMETHEUS_PORT', type: { kind: 'integer', min: 0, max: 65535 }, default: '9000', owner: 'launcher_args', summary: 'separate Prometheus port (metrics are served on /metrics of the main port either way)', example: 9000 },
  shard_uds_path: { rust: 'String', env: 'SHARD_UDS_PATH', type: { kind: 'text' }, default: '/tmp/text-generation-server', owner: 'launcher_args', summary: 'Unix socket path prefix between router and shards', example: '/tmp/text-generation-server' },
  master_addr: { rust: 'String', env: 'MASTER_ADDR', type: { kind: 'text' }, default: 'localhost', owner: 'launcher_args', summary: 'torch.distributed master address of a sharded replica', example: 'localhost' },
  master_port: { rust: 'usize', env: 'MASTER_PORT', type: { kind: 'integer', min: 0, max: 65535 }, default: '29500', owner: 'launcher_args', summary: 'torch.distributed master port of a sharded replica', example: 29500 },
  huggingface_hub_cache: { rust: 'Option<String>', env: 'HUGGINGFACE_HUB_CACHE', type: { kind: 'text' }, owner: 'launcher_args', summary: 'Hugging Face hub cache inside the container (default: under HF_HOME=/data, the mounted hf_cache)', example: '/data/hub' },
  weights_cache_override: { rust: 'Option<String>', env: 'WEIGHTS_CACHE_OVERRIDE', type: { kind: 'text' }, owner: 'launcher_args', summary: 'folder to load weights from instead of the hub cache', example: '/data/weights' },
  disable_custom_kernels: { rust: 'bool', env: 'DISABLE_CUSTOM_KERNELS', type: { kind: 'boolean' }, owner: 'key', summary: "turn off TGI's custom CUDA kernels (tested on A100 only)", example: true },
  cuda_memory_fraction: { rust: 'f32', env: 'CUDA_MEMORY_FRACTION', type: { kind: 'number', positive: true, max: 1 }, default: '1.0', owner: 'key', summary: 'share of the GPU memory this server may use; each model sharing a GPU sets it (sum at most 1)', example: 0.5 },
  rope_scaling: { rust: 'Option<RopeScaling>', env: 'ROPE_SCALING', type: { kind: 'enum', values: ['linear', 'dynamic'] }, owner: 'key', summary: 'RoPE scaling for longer prompts, with rope_factor (default factor 1.0)', example: 'dynamic', source: 'launcher/src/main.rs enum RopeScaling, shard_manager()' },
  rope_factor: { rust: 'Option<f32>', env: 'ROPE_FACTOR', type: { kind: 'number', positive: true }, owner: 'key', summary: 'RoPE scaling factor (linear scaling when rope_scaling is unset)', example: 2.0, source: 'launcher/src/main.rs shard_manager()' },
  json_output: { rust: 'bool', env: 'JSON_OUTPUT', type: { kind: 'boolean' }, owner: 'launcher_args', summary: 'launcher logs as JSON lines', example: true },
  otlp_endpoint: { rust: 'Option<String>', env: 'OTLP_ENDPOINT', type: { kind: 'text' }, owner: 'launcher_args', summary: 'OpenTelemetry collector to send traces to', example: 'http://otel-collector:4317' },
  otlp_service_name: { rust: 'String', env: 'OTLP_SERVICE_NAME', type: { kind: 'text' }, default: 'text-generation-inference.router', owner: 'launcher_args', summary: 'service name in the traces', example: 'tgi' },
  cors_allow_origin: { rust: 'Vec<String>', env: 'CORS_ALLOW_ORIGIN', type: { kind: 'text' }, owner: 'launcher_args', summary: "CORS origin TGI allows (clients reach the gateway, not TGI, so it rarely matters)", example: 'https://example.com' },
  api_key: { rust: 'Option<String>', env: 'API_KEY', type: { kind: 'text' }, owner: 'refused', why: 'TGI would then answer 401 to every request from the gateway, which authenticates clients itself (VALID_TOKEN) and does not forward their Authorization header', summary: 'bearer token TGI requires on its generation routes', source: 'router/src/server.rs start()' },
  watermark_gamma: { rust: 'Option<f32>', env: 'WATERMARK_GAMMA', type: { kind: 'number' }, owner: 'launcher_args', summary: 'watermarking gamma', example: 0.5 },
  watermark_delta: { rust: 'Option<f32>', env: 'WATERMARK_DELTA', type: { kind: 'number' }, owner: 'launcher_args', summary: 'watermarking delta', example: 2.0 },
  ngrok: { rust: 'bool', env: 'NGROK', type: { kind: 'boolean' }, owner: 'refused', why: "TGI 3.3.6's router panics at start with it (its ngrok support is disabled), and a tunnel would bypass the gateway", summary: 'serve through an ngrok tunnel', source: 'router/src/server.rs start(); launcher/src/main.rs main()' },
  ngrok_authtoken: { rust: 'Option<String>', env: 'NGROK_AUTHTOKEN', type: { kind: 'text' }, owner: 'refused', why: 'it only goes with ngrok, which TGI 3.3.6 cannot run', summary: 'ngrok authentication token' },
  ngrok_edge: { rust: 'Option<String>', env: 'NGROK_EDGE', type: { kind: 'text' }, owner: 'refused', why: 'it only goes with ngrok, which TGI 3.3.6 cannot run', summary: 'ngrok edge' },
  tokenizer_config_path: { rust: 'Option<String>', env: 'TOKENIZER_CONFIG_PATH', type: { kind: 'text' }, owner: 'launcher_args', summary: "tokenizer_config.json to use instead of the model's (e.g. for another chat_template)", example: '/data/tokenizer_config.json' },
  disable_grammar_support: { rust: 'bool', env: 'DISABLE_GRAMMAR_SUPPORT', type: { kind: 'boolean' }, owner: 'launcher_args', summary: 'turn off grammar-constrained generation', example: true },
  env: { rust: 'bool', type: { kind: 'boolean' }, owner: 'launcher_args', summary: 'log the runtime environment at start (the one flag without an environment variable)', example: true },
  max_client_batch_size: { rust: 'usize', env: 'MAX_CLIENT_BATCH_SIZE', type: { kind: 'integer', min: 1 }, default: '4', owner: 'key', summary: 'most inputs a client may send in one request', example: 4 },
  lora_adapters: { rust: 'Option<String>', env: 'LORA_ADAPTERS', type: { kind: 'text' }, owner: 'key', summary: 'LoRA adapters to load: id[@revision] or name=path, separated by commas', example: 'org/adapter-a,org/adapter-b@main', source: 'launcher/src/main.rs main(): an adapter with more than one @ is refused' },
  usage_stats: { rust: 'UsageStatsLevel', env: 'USAGE_STATS', type: { kind: 'enum', values: ['on', 'off', 'no-stack'] }, default: 'on (this orchestrator sets USAGE_STATS=off)', owner: 'launcher_args', summary: "TGI's usage telemetry to Hugging Face: on, off, or no-stack (crash events without the error)", example: 'off', source: 'launcher/src/main.rs enum UsageStatsLevel; router/src/usage_stats.rs' },
  payload_limit: { rust: 'usize', env: 'PAYLOAD_LIMIT', type: { kind: 'size' }, default: '2000000 (bytes)', owner: 'key', summary: "largest request body TGI accepts; images in base64 need room", example: '8mb' },
  enable_prefill_logprobs: { rust: 'bool', env: 'ENABLE_PREFILL_LOGPROBS', type: { kind: 'boolean' }, owner: 'launcher_args', summary: 'let clients ask for prompt logprobs (costs GPU memory)', example: true },
  graceful_termination_timeout: { rust: 'u64', env: 'GRACEFUL_TERMINATION_TIMEOUT', type: { kind: 'integer', min: 0 }, default: '90 (seconds)', owner: 'launcher_args', summary: 'seconds TGI waits for its router and shards to stop on SIGTERM', example: 90 },
} as const satisfies Record<string, LauncherFlag>;

export type FlagName = keyof typeof LAUNCHER_FLAGS;
type Flags = typeof LAUNCHER_FLAGS;

/** The flags that are models.yaml keys of their own (`max_total_tokens: 4096`). */
export type KeyFlagName = { [K in FlagName]: Flags[K]['owner'] extends 'key' ? K : never }[FlagName];
/** The flags `launcher_args` may carry. */
export type ArgsFlagName = { [K in FlagName]: Flags[K]['owner'] extends 'launcher_args' ? K : never }[FlagName];

const entries = Object.entries(LAUNCHER_FLAGS) as [FlagName, LauncherFlag][];
export const KEY_FLAGS = entries.filter(([, f]) => f.owner === 'key').map(([name]) => name) as KeyFlagName[];
export const ARGS_FLAGS = entries.filter(([, f]) => f.owner === 'launcher_args').map(([name]) => name) as ArgsFlagName[];

/** The flag a setting names, in snake or kebab case (`max-top-n-tokens`), if TGI's launcher has it. */
export function launcherFlag(setting: string): (LauncherFlag & { name: FlagName }) | undefined {
  const name = setting.replaceAll('-', '_');
  return Object.hasOwn(LAUNCHER_FLAGS, name) ? { ...(LAUNCHER_FLAGS[name as FlagName] as LauncherFlag), name: name as FlagName } : undefined;
}

/** `max_total_tokens` → `--max-total-tokens`. */
export function flagSpelling(name: string): string {
  return `--${name.replaceAll('_', '-')}`;
}

/** The flag whose environment variable this is (`MAX_TOTAL_TOKENS` → max_total_tokens). */
export function flagOfEnv(variable: string): (LauncherFlag & { name: FlagName }) | undefined {
  const found = entries.find(([, f]) => f.env === variable);
  return found && { ...found[1], name: found[0] };
}
