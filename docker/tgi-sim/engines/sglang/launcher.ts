// The life of `python -m sglang.launch_server`: server_args, the schedulers loading weights and
// allocating the KV cache (nothing listens yet), uvicorn's start-up ("Uvicorn running on …"), then
// the warm-up: GET /get_model_info and a short POST /generate against itself, after which
// /health turns 200 and "The server is fired up and ready to roll!" is logged
// (http_server.py launch_server and _wait_and_warmup).
import { setTimeout as sleep } from 'node:timers/promises';
import { WARMUP_HEADER, withFailureKnobs } from '../shared/failure-knobs.ts';
import { createFastApiServer } from '../shared/fastapi-server.ts';
import { UvicornProcess } from '../shared/uvicorn-process.ts';
import { type SglangSettings } from './cli.ts';
import { sglangErrorBody, sglangInvalidJson } from './errors.ts';
import { schedulerLog, sglangLog, uvicornLog } from './log.ts';
import { maxTotalTokens, sglangRoutes, type Readiness } from './routes.ts';

function ranks(s: SglangSettings): number[] {
  return Array.from({ length: s.tpSize }, (_, rank) => rank);
}

/** A scheduler that runs out of GPU memory while loading: its traceback, then the launcher exits 1. */
function failLoadingOutOfMemory(): never {
  schedulerLog(0, 'Scheduler hit an exception: Traceback (most recent call last):\n  File "/sgl-workspace/sglang/python/sglang/srt/managers/scheduler.py", line 2710, in run_scheduler_process\n' +
    'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 448.00 MiB. GPU 0 has a total capacity of 79.10 GiB of which 120.56 MiB is free.');
  process.stderr.write('Exception: Rank 0 scheduler is dead. Please check if there are relevant logs.\n');
  process.exit(1);
}

/** SIM_CRASH_AFTER_REQUESTS: a scheduler dies; SGLang kills its process tree. */
function crashScheduler(): never {
  schedulerLog(0, 'Scheduler hit an exception: Traceback (most recent call last):\nRuntimeError: CUDA error: an illegal memory access was encountered');
  sglangLog('Received sigquit from a child process. It usually means the child failed.');
  process.exit(1);
}

async function load(s: SglangSettings): Promise<void> {
  const total = s.knobs.loadSeconds * 1000;
  const step = (fraction: number) => sleep(total * fraction);
  sglangLog(
    `server_args=ServerArgs(model_path='${s.modelPath}', tokenizer_path='${s.modelPath}', host='${s.host}', port=${s.port}, context_length=${s.contextLength}, ` +
      `mem_fraction_static=${s.memFractionStatic}, max_running_requests=${s.maxRunningRequests}, tp_size=${s.tpSize}, served_model_name='${s.servedModelName}', enable_metrics=${s.enableMetrics ? 'True' : 'False'})`,
  );
  await step(0.1);
  for (const rank of ranks(s)) schedulerLog(rank, 'Init torch distributed begin.');
  for (const rank of ranks(s)) schedulerLog(rank, 'Init torch distributed ends. mem usage=0.00 GB');
  await step(0.1);
  for (const rank of ranks(s)) schedulerLog(rank, 'Load weight begin. avail mem=78.68 GB');
  await step(0.4);
  if (s.knobs.crashOnLoad) failLoadingOutOfMemory();
  for (const rank of ranks(s)) schedulerLog(rank, `Load weight end. type=Qwen3ForCausalLM, dtype=torch.bfloat16, avail mem=77.52 GB, mem usage=1.16 GB.`);
  await step(0.1);
  const tokens = maxTotalTokens(s);
  for (const rank of ranks(s)) schedulerLog(rank, `KV Cache is allocated. #tokens: ${tokens}, K size: 26.01 GB, V size: 26.01 GB`);
  for (const rank of ranks(s)) schedulerLog(rank, 'Capture cuda graph begin. This can take up to several minutes. avail mem=25.40 GB');
  await step(0.2);
  for (const rank of ranks(s)) schedulerLog(rank, 'Capture cuda graph end. Time elapsed: 1.02 s. mem usage=0.31 GB. avail mem=25.09 GB.');
  for (const rank of ranks(s)) {
    schedulerLog(rank, `max_total_num_tokens=${tokens}, chunked_prefill_size=8192, max_prefill_tokens=16384, max_running_requests=${s.maxRunningRequests}, context_len=${s.contextLength}, available_gpu_mem=25.09 GB`);
  }
  await step(0.1);
}

/** The warm-up SGLang sends itself once uvicorn runs; the server is ready when it is answered. */
async function warmUp(s: SglangSettings, readiness: Readiness): Promise<void> {
  const base = `http://${s.host === '0.0.0.0' ? '127.0.0.1' : s.host}:${s.port}`;
  const headers: Record<string, string> = { 'content-type': 'application/json', [WARMUP_HEADER]: '1', ...(s.apiKey ? { authorization: `Bearer ${s.apiKey}` } : {}) };
  await sleep(s.knobs.warmupSeconds * 500);
  await fetch(`${base}/get_model_info`, { headers });
  await sleep(s.knobs.warmupSeconds * 500);
  const answer = await fetch(`${base}/generate`, { method: 'POST', headers, body: JSON.stringify({ text: 'The capital city of France is', sampling_params: { temperature: 0, max_new_tokens: 8 } }) });
  await answer.text();
  readiness.ready = true;
  sglangLog('The server is fired up and ready to roll!');
}

export async function runSglang(s: SglangSettings): Promise<void> {
  const uvicorn = new UvicornProcess(uvicornLog);
  await load(s);
  const readiness: Readiness = { ready: false };
  const routes = sglangRoutes(s, readiness, Math.floor(Date.now() / 1000));
  withFailureKnobs(routes, ['/v1/chat/completions', '/v1/completions', '/generate'], s.knobs, crashScheduler);
  const server = createFastApiServer({ routes, errorBody: sglangErrorBody, invalidJsonMessage: sglangInvalidJson, accessLog: uvicornLog });
  await uvicorn.serve(server, s.port, s.host);
  uvicornLog(`Uvicorn running on http://${s.host}:${s.port} (Press CTRL+C to quit)`);
  await warmUp(s, readiness);
}
