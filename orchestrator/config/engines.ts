// The inference servers a model can run on, and what each one needs that TGI does not: its image, its
// port and cache folder inside the image, how it is started, and which models.yaml keys (TGI's launcher
// flags, the first-class keys of schema.ts) it has an equivalent of. docs/engines.md cites the source of
// every fact here.

export const ENGINES = ['tgi', 'vllm', 'sglang'] as const;
export type Engine = (typeof ENGINES)[number];

/** A models.yaml key this engine has: the engine's flag (snake case) and, for enums, the values it takes. */
export interface EngineKey {
  readonly flag: string;
  readonly values?: readonly string[];
}

export interface EngineFacts {
  /** How operators and errors call it. */
  readonly label: string;
  /** The default image for accelerator nvidia (no other accelerator has a default). */
  readonly image: string;
  /** Where the server listens inside the container, published on 127.0.0.1 only. */
  readonly containerPort: number;
  /** The Hugging Face cache (HF_HOME) inside the image: the host's hf_cache is bound there. */
  readonly hfCacheInContainer: string;
  /** The program the arguments (runtime/launcher-args.ts) follow; the simulator is given it too. */
  readonly program: readonly string[];
  /** The image's ENTRYPOINT is `program`, so a container's Cmd is the arguments alone. */
  readonly programIsEntrypoint: boolean;
  /** Environment every server of this engine starts with (defaults.env and the model's env win). */
  readonly envDefaults: Readonly<Record<string, string>>;
  /** Flags every server of this engine starts with, under engine_args' names (engine_args wins). */
  readonly argDefaults: Readonly<Record<string, string | number | boolean>>;
  /** The models.yaml keys it has, by name. */
  readonly keys: Readonly<Record<string, EngineKey>>;
  /** For keys it has not: the hint that names its equivalent (others get a generic hint). */
  readonly equivalents: Readonly<Record<string, string>>;
  /** Flags the orchestrator sets (engine_args may not): what to write instead. */
  readonly orchestratorFlags: Readonly<Record<string, string>>;
}

/** Quantization methods TGI's `quantize` names that vLLM and SGLang spell the same way. */
const SHARED_QUANTIZATION = ['awq', 'gptq', 'fp8', 'bitsandbytes', 'compressed-tensors'] as const;
const DTYPES = ['float16', 'bfloat16'] as const;

const SERVED_AS = 'it is the models.yaml `name` (the gateway routes by it)';
const SHARDS = 'it is the number of GPUs of each replica: write gpus: [[0, 1]] to shard over two';
const LISTEN = 'the orchestrator publishes the server on 127.0.0.1 and picks the host port';

const VLLM: EngineFacts = {
  label: 'vLLM',
  image: 'vllm/vllm-openai:v0.11.0',
  containerPort: 8000,
  hfCacheInContainer: '/root/.cache/huggingface',
  program: ['vllm', 'serve'],
  programIsEntrypoint: true,
  // vllm/usage/usage_lib.py reports every start to vLLM's usage service unless told not to (like TGI's USAGE_STATS).
  envDefaults: { VLLM_NO_USAGE_STATS: '1' },
  argDefaults: {},
  keys: {
    revision: { flag: 'revision' },
    max_total_tokens: { flag: 'max_model_len' },
    cuda_memory_fraction: { flag: 'gpu_memory_utilization' },
    max_batch_size: { flag: 'max_num_seqs' },
    quantize: { flag: 'quantization', values: SHARED_QUANTIZATION },
    dtype: { flag: 'dtype', values: DTYPES },
    trust_remote_code: { flag: 'trust_remote_code' },
  },
  equivalents: {
    max_batch_prefill_tokens: 'vLLM has --max-num-batched-tokens: put it in engine_args: { max-num-batched-tokens: 4096 }',
    max_batch_total_tokens: 'vLLM sizes its KV cache from cuda_memory_fraction (--gpu-memory-utilization); engine_args: { num-gpu-blocks-override: … } forces it',
    max_input_tokens: 'vLLM limits a request by max_total_tokens (--max-model-len) only: remove max_input_tokens',
    kv_cache_dtype: 'vLLM has --kv-cache-dtype (fp8, fp8_e4m3, fp8_e5m2): put it in engine_args: { kv-cache-dtype: fp8 }',
    cuda_graphs: 'vLLM has --enforce-eager to turn CUDA graphs off: put it in engine_args: { enforce-eager: true }',
    lora_adapters: 'vLLM has --enable-lora and --lora-modules: put them in engine_args',
    speculate: 'vLLM has --speculative-config: put it in engine_args',
    rope_scaling: 'vLLM takes RoPE scaling through --hf-overrides: put it in engine_args',
    rope_factor: 'vLLM takes RoPE scaling through --hf-overrides: put it in engine_args',
    payload_limit: 'vLLM has no request size limit of its own: the gateway limits bodies with gateway.max_body_size',
  },
  orchestratorFlags: {
    model: "it is the model's `model_id`",
    served_model_name: SERVED_AS,
    tensor_parallel_size: SHARDS,
    host: LISTEN,
    port: LISTEN,
  },
};

const SGLANG: EngineFacts = {
  label: 'SGLang',
  image: 'lmsysorg/sglang:v0.5.5',
  containerPort: 30000,
  hfCacheInContainer: '/root/.cache/huggingface',
  // The image has no ENTRYPOINT (docker/Dockerfile): the server is a Python module.
  program: ['python3', '-m', 'sglang.launch_server'],
  programIsEntrypoint: false,
  envDefaults: {},
  // SGLang serves /metrics only with --enable-metrics (python/sglang/srt/server_args.py, default off);
  // TGI and vLLM always do, and the gateway's Prometheus targets expect it. engine_args: { enable-metrics: false } turns it off.
  argDefaults: { enable_metrics: true },
  keys: {
    revision: { flag: 'revision' },
    max_total_tokens: { flag: 'context_length' },
    cuda_memory_fraction: { flag: 'mem_fraction_static' },
    max_batch_size: { flag: 'max_running_requests' },
    quantize: { flag: 'quantization', values: SHARED_QUANTIZATION },
    dtype: { flag: 'dtype', values: DTYPES },
    trust_remote_code: { flag: 'trust_remote_code' },
  },
  equivalents: {
    max_batch_prefill_tokens: 'SGLang has --chunked-prefill-size (and --max-prefill-tokens): put it in engine_args: { chunked-prefill-size: 4096 }',
    max_batch_total_tokens: 'SGLang has --max-total-tokens (the KV cache pool): put it in engine_args: { max-total-tokens: 16384 }',
    max_input_tokens: 'SGLang limits a request by max_total_tokens (--context-length) only: remove max_input_tokens',
    kv_cache_dtype: 'SGLang has --kv-cache-dtype (fp8_e5m2, fp8_e4m3): put it in engine_args: { kv-cache-dtype: fp8_e4m3 }',
    cuda_graphs: 'SGLang has --disable-cuda-graph and --cuda-graph-max-bs: put them in engine_args',
    lora_adapters: 'SGLang has --lora-paths: put it in engine_args',
    speculate: 'SGLang has --speculative-algorithm: put it in engine_args',
    payload_limit: 'SGLang has no request size limit of its own: the gateway limits bodies with gateway.max_body_size',
  },
  orchestratorFlags: {
    model_path: "it is the model's `model_id`",
    model: "it is the model's `model_id`",
    served_model_name: SERVED_AS,
    tp_size: SHARDS,
    tensor_parallel_size: SHARDS,
    host: LISTEN,
    port: LISTEN,
  },
};

/** vLLM and SGLang; TGI's own facts stay where they were (launcher-flags.ts, expand.ts, container-spec.ts). */
export const OTHER_ENGINES: Readonly<Record<Exclude<Engine, 'tgi'>, EngineFacts>> = { vllm: VLLM, sglang: SGLANG };

/**
 * What goes before the arguments when the engine's program is not the image's entrypoint or the
 * operator's `command`: nothing for TGI (its arguments are the whole CLI of its launcher).
 */
export function engineProgram(engine: Engine = 'tgi'): readonly string[] {
  return engine === 'tgi' ? [] : OTHER_ENGINES[engine].program;
}

/**
 * The arguments that put the server on `host`:`port`, in the engine's spelling (TGI's launcher says
 * --hostname, vLLM and SGLang --host). For runtimes that append them: the process driver should use it.
 */
export function listenArgs(engine: Engine | undefined, host: string, port: number): string[] {
  return ['--port', String(port), (engine ?? 'tgi') === 'tgi' ? '--hostname' : '--host', host];
}

/** The flag that holds a deployment's share of GPU memory (models.yaml `cuda_memory_fraction`). */
export function memoryShareFlag(engine: Engine = 'tgi'): string {
  return engine === 'tgi' ? 'cuda_memory_fraction' : OTHER_ENGINES[engine].keys.cuda_memory_fraction.flag;
}
