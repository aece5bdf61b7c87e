// The life of `vllm serve`: the start-up log of the API server and its engine core, loading
// (the port is bound but not listening, so connections are refused: api_server.py creates the
// socket before building the engine and uvicorn only listens once it is ready), then uvicorn's
// start-up lines ending in "Application startup complete.", and uvicorn's shutdown on SIGTERM/SIGINT.
import { setTimeout as sleep } from 'node:timers/promises';
import { withFailureKnobs } from '../shared/failure-knobs.ts';
import { createFastApiServer } from '../shared/fastapi-server.ts';
import { UvicornProcess } from '../shared/uvicorn-process.ts';
import { pythonDict } from '../shared/python-log.ts';
import { VLLM_VERSION, type VllmSettings } from './cli.ts';
import { vllmErrorBody, vllmInvalidJson } from './errors.ts';
import { uvicornLog, vllmLog } from './log.ts';
import { vllmRoutes } from './routes.ts';

/** What the engine core prints when loading runs out of GPU memory; the API server then exits 1. */
function failLoadingOutOfMemory(): never {
  const lines = [
    'EngineCore failed to start.',
    'Traceback (most recent call last):',
    '  File "/usr/local/lib/python3.12/dist-packages/vllm/v1/engine/core.py", line 699, in run_engine_core',
    '    engine_core = EngineCoreProc(*args, **kwargs)',
    'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 448.00 MiB. GPU 0 has a total capacity of 79.10 GiB of which 120.56 MiB is free.',
  ];
  for (const line of lines) vllmLog('core.py:708', line, 'ERROR');
  process.stderr.write('RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {}\n');
  process.exit(1);
}

/** SIM_CRASH_AFTER_REQUESTS: the engine core dies; the API server reports it and exits 1. */
function crashEngine(): never {
  vllmLog('core.py:720', 'EngineCore encountered a fatal error.', 'ERROR');
  vllmLog('async_llm.py:480', 'AsyncLLM output_handler failed.', 'ERROR');
  process.stderr.write('vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.\n');
  process.exit(1);
}

async function load(s: VllmSettings): Promise<void> {
  const total = s.knobs.loadSeconds * 1000;
  const step = (fraction: number) => sleep(total * fraction);
  vllmLog('api_server.py:1896', `vLLM API server version ${VLLM_VERSION}`);
  vllmLog('utils.py:328', `non-default args: ${pythonDict(s.nonDefault)}`);
  await step(0.1);
  vllmLog('model.py:547', 'Resolved architecture: Qwen3ForCausalLM');
  vllmLog('model.py:1510', `Using max model len ${s.maxModelLen}`);
  vllmLog('scheduler.py:205', 'Chunked prefill is enabled with max_num_batched_tokens=8192.');
  vllmLog(
    'core.py:77',
    `Initializing a V1 LLM engine (v${VLLM_VERSION}) with config: model='${s.model}', speculative_config=None, tokenizer='${s.model}', ` +
      `dtype=torch.bfloat16, max_seq_len=${s.maxModelLen}, tensor_parallel_size=${s.tensorParallelSize}, pipeline_parallel_size=1, served_model_name=${s.servedModelName}`,
  );
  await step(0.2);
  vllmLog('gpu_model_runner.py:2338', `Starting to load model ${s.model}...`);
  await step(0.3);
  if (s.knobs.crashOnLoad) failLoadingOutOfMemory();
  const loadSeconds = (total * 0.6) / 1000;
  vllmLog('default_loader.py:267', `Loading weights took ${(loadSeconds * 0.8).toFixed(2)} seconds`);
  vllmLog('gpu_model_runner.py:2392', `Model loading took 1.1243 GiB and ${loadSeconds.toFixed(6)} seconds`);
  await step(0.2);
  vllmLog('gpu_worker.py:298', `Available KV cache memory: ${(s.gpuMemoryUtilization * 70).toFixed(2)} GiB`);
  const kvTokens = Math.floor(s.gpuMemoryUtilization * 400_000);
  vllmLog('kv_cache_utils.py:1087', `GPU KV cache size: ${kvTokens.toLocaleString('en-US')} tokens`);
  vllmLog('kv_cache_utils.py:1091', `Maximum concurrency for ${s.maxModelLen.toLocaleString('en-US')} tokens per request: ${(kvTokens / s.maxModelLen).toFixed(2)}x`);
  await step(0.2);
  vllmLog('gpu_model_runner.py:3480', 'Graph capturing finished in 1 secs, took 0.45 GiB');
  vllmLog('core.py:210', `init engine (profile, create kv cache, warmup model) took ${(total / 1000).toFixed(2)} seconds`);
}

export async function runVllm(s: VllmSettings): Promise<void> {
  const uvicorn = new UvicornProcess(uvicornLog);
  await load(s);
  const { routes } = vllmRoutes(s, Math.floor(Date.now() / 1000));
  withFailureKnobs(routes, ['/v1/chat/completions', '/v1/completions'], s.knobs, crashEngine);
  const server = createFastApiServer({ routes, errorBody: vllmErrorBody, invalidJsonMessage: vllmInvalidJson, accessLog: uvicornLog });
  vllmLog('api_server.py:1971', `Starting vLLM API server 0 on http://${s.host}:${s.port}`);
  vllmLog('launcher.py:34', 'Available routes are:');
  for (const [path, methods] of Object.entries(routes)) vllmLog('launcher.py:42', `Route: ${path}, Methods: ${Object.keys(methods).join(', ')}`);
  await uvicorn.serve(server, s.port, s.host);
}
