// Known causes of a TGI server failing to start or run, in operator terms with the fix.
interface Cause {
  test: RegExp;
  diagnosis: string;
}

const CAUSES: Cause[] = [
  { test: /could not select device driver "(nvidia)?" with capabilities: \[\[gpu\]\]/i, diagnosis: 'Docker cannot give containers a GPU: the NVIDIA container toolkit is not installed or not configured. Install nvidia-container-toolkit, run `nvidia-ctk runtime configure --runtime=docker`, and restart dockerd.' },
  { test: /CUDA out of memory|OutOfMemoryError|Not enough memory to handle|out of memory/i, diagnosis: 'CUDA out of memory: the model does not fit on its GPU(s). Lower max_total_tokens / max_batch_prefill_tokens, quantize (quantize: awq|gptq|bitsandbytes-nf4…), shard over more GPUs (gpus: [[0, 1]]), or free the GPU.' },
  { test: /gated repo|GatedRepoError|401 Client Error|Access to model .* is restricted|Cannot access gated repo/i, diagnosis: 'The model is gated on Hugging Face: accept its licence on the model page and set HF_TOKEN in the environment (defaults.env.HF_TOKEN: "${HF_TOKEN}").' },
  { test: /RepositoryNotFoundError|404 Client Error|does not appear to have a file named|is not a valid model identifier/i, diagnosis: 'The model id was not found on Hugging Face: check model_id (and revision), or set HF_TOKEN if it is private.' },
  { test: /no CUDA-capable device|CUDA driver version is insufficient|NVIDIA-SMI has failed|invalid device ordinal|unknown device/i, diagnosis: 'The GPU this deployment is pinned to is not present or not usable: check `nvidia-smi` and the gpus: of this model.' },
  { test: /address already in use|port is already allocated|EADDRINUSE/i, diagnosis: 'The port is already in use by another process: stop it, or let the orchestrator pick another port (restart `npm run up`).' },
  { test: /pull access denied|manifest unknown|not found: manifest|repository does not exist|No such image/i, diagnosis: 'The image could not be found or pulled: check `image:` and your registry login (`docker login`).' },
  { test: /connect ENOENT .*docker\.sock|Cannot connect to the Docker daemon|ECONNREFUSED.*docker|connect EACCES .*docker\.sock/i, diagnosis: 'Docker is not reachable: start dockerd (or set DOCKER_HOST) and make sure this user may use its socket.' },
  { test: /Shard \d+ failed to start|ShardCannotStart|WebserverFailed|DownloadError/i, diagnosis: 'TGI could not start the model: see the log lines above for the cause.' },
];

/** The diagnosis for an error and/or a server's last log lines, or undefined when the cause is unknown. */
export function diagnose(input: { error?: unknown; logTail?: string[] }): string | undefined {
  const text = [input.error instanceof Error ? input.error.message : input.error ? String(input.error) : '', ...(input.logTail ?? [])].join('\n');
  return CAUSES.find((cause) => cause.test.test(text))?.diagnosis;
}
