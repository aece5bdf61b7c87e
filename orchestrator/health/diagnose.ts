// Known causes of a server (TGI, vLLM, SGLang) failing to start or run, in operator terms with the fix, and whether
// the failure can heal by itself. A failed deployment is retried with backoff (10 s doubling to 5 min)
// unless its cause is permanent: then it waits for an edit of models.yaml (or SIGHUP).
interface Cause {
  test: RegExp;
  diagnosis: string;
  /** Cannot heal without a change of models.yaml (or of the host the operator makes and then reloads). */
  permanent?: boolean | ((context: CauseContext) => boolean);
}

interface CauseContext {
  /** The deployment's environment as configured (HF_TOKEN set or not). */
  env?: Record<string, string>;
}

const CAUSES: Cause[] = [
  // clap (TGI's launcher) refuses its arguments with "error: …" and exit code 2 before anything loads.
  { test: /^error: (invalid value|unexpected argument|the argument .* cannot be used|a value is required|unrecognized subcommand|the following required arguments)/im, diagnosis: 'TGI\'s launcher refused its arguments (see the log line above): fix that setting of the model in models.yaml.', permanent: true },
  { test: /pull: never forbids pulling/, diagnosis: 'The image is not on the Docker engine and pull: never forbids pulling it: build or load it there (docker build / docker load), or set pull: missing.', permanent: true },
  { test: /could not select device driver "(nvidia)?" with capabilities: \[\[gpu\]\]/i, diagnosis: 'Docker cannot give containers a GPU: the NVIDIA container toolkit is not installed or not configured. Install nvidia-container-toolkit, run `nvidia-ctk runtime configure --runtime=docker`, and restart dockerd.' },
  // vLLM and SGLang parse their CLI with argparse: "<prog>: error: …" and exit code 2 before anything loads.
  { test: /: error: (unrecognized arguments|argument -|the following arguments are required)/i, diagnosis: "The engine refused its arguments (see the log line above): fix that setting or engine_args of the model in models.yaml (the engine's --help lists its flags).", permanent: true },
  // vLLM (vllm/config, v1/core/kv_cache_utils.py) and SGLang (model_config.py) refuse a context longer than the model's.
  { test: /User-specified (max_model_len|context_length) \(\d+\) is greater than the derived/i, diagnosis: "max_total_tokens is longer than the model's context: lower it (or drop it to use the model's own).", permanent: true },
  {
    test: /is less than desired GPU memory utilization/i,
    diagnosis: 'Less GPU memory is free than this deployment\'s share (vLLM reserves cuda_memory_fraction of the whole GPU at start): another process holds some. Free the GPU (nvidia-smi), or lower cuda_memory_fraction.',
  },
  {
    test: /No available memory for the cache blocks|larger than the available KV cache memory|Not enough memory\. Please try to increase --mem-fraction-static/i,
    diagnosis: "The KV cache does not fit in this deployment's share of GPU memory: raise cuda_memory_fraction (if no other deployment shares the GPU), lower max_total_tokens, quantize, shard over more GPUs (gpus: [[0, 1]]), or free the GPU.",
  },
  { test: /CUDA out of memory|OutOfMemoryError|Not enough memory to handle|out of memory/i, diagnosis: 'CUDA out of memory: the model does not fit on its GPU(s). Lower max_total_tokens / max_batch_prefill_tokens, quantize (quantize: awq|gptq|bitsandbytes-nf4…), shard over more GPUs (gpus: [[0, 1]]), or free the GPU.' },
  { test: /gated repo|GatedRepoError|401 Client Error|Access to model .* is restricted|Cannot access gated repo/i, diagnosis: 'The model is gated on Hugging Face: accept its licence on the model page and set HF_TOKEN in the environment (defaults.env.HF_TOKEN: "${HF_TOKEN}").', permanent: ({ env }) => !env?.HF_TOKEN },
  { test: /RepositoryNotFoundError|404 Client Error|does not appear to have a file named|is not a valid model identifier/i, diagnosis: 'The model id was not found on Hugging Face: check model_id (and revision), or set HF_TOKEN if it is private.' },
  { test: /no CUDA-capable device|No CUDA GPUs are available|Failed to infer device type|CUDA driver version is insufficient|NVIDIA-SMI has failed|invalid device ordinal|unknown device/i, diagnosis: 'The GPU this deployment is pinned to is not present or not usable: check `nvidia-smi` and the gpus: of this model.' },
  { test: /address already in use|port is already allocated|EADDRINUSE/i, diagnosis: 'The port is already in use by another process: stop it, or let the orchestrator pick another port (restart `npm run up`).' },
  { test: /pull access denied|manifest unknown|not found: manifest|repository does not exist|No such image/i, diagnosis: 'The image could not be found or pulled: check `image:` and your registry login (`docker login`).' },
  { test: /connect ENOENT .*docker\.sock|Cannot connect to the Docker daemon|ECONNREFUSED.*docker|connect EACCES .*docker\.sock/i, diagnosis: 'Docker is not reachable: start dockerd (or set DOCKER_HOST) and make sure this user may use its socket.' },
  { test: /Shard \d+ failed to start|ShardCannotStart|WebserverFailed|DownloadError/i, diagnosis: 'TGI could not start the model: see the log lines above for the cause.' },
];

export interface Diagnosis {
  /** The known cause with its fix; undefined when the cause is unknown. */
  diagnosis?: string;
  /** True when retrying cannot help: the deployment waits for an edit of models.yaml. */
  permanent: boolean;
}

type DiagnoseInput = { error?: unknown; logTail?: readonly string[] } & CauseContext;

function findCause(input: DiagnoseInput): Cause | undefined {
  const text = [input.error instanceof Error ? input.error.message : input.error ? String(input.error) : '', ...(input.logTail ?? [])].join('\n');
  return CAUSES.find((cause) => cause.test.test(text));
}

/** The diagnosis for an error and/or a server's last log lines, or undefined when the cause is unknown. */
export function diagnose(input: DiagnoseInput): string | undefined {
  return findCause(input)?.diagnosis;
}

/** The diagnosis and whether the failure can heal by itself (unknown causes are retried). */
export function classifyFailure(input: DiagnoseInput): Diagnosis {
  const cause = findCause(input);
  const permanent = typeof cause?.permanent === 'function' ? cause.permanent(input) : Boolean(cause?.permanent);
  return { diagnosis: cause?.diagnosis, permanent };
}
