// The launcher's life: start-up log, loading (nothing listens), the failure knobs, serving, and a
// graceful stop on SIGTERM/SIGINT. Log lines come in TGI's order and wording, so the orchestrator's
// phase detection and failure diagnosis see what they would see from real TGI.
import { createServer as createHttpServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp, type App } from './app.ts';
import { sendText } from './http-io.ts';
import { createSimServer, type SimServer } from './server.ts';
import type { SimSettings } from './settings.ts';
import { BACKEND, emit, flushLog, LAUNCHER, ROUTER, rustDuration, useJsonOutput } from './tgi-log.ts';

const SHARD = 'shard-manager';

function quoted(value: string | undefined): string {
  return value === undefined ? 'None' : `Some(${JSON.stringify(value)})`;
}

function logStartup(s: SimSettings): void {
  emit({
    target: LAUNCHER,
    message:
      `Args { model_id: ${JSON.stringify(s.modelId)}, revision: ${quoted(s.revision)}, validation_workers: ${s.validationWorkers}, num_shard: Some(${s.numShard}), ` +
      `max_concurrent_requests: ${s.maxConcurrentRequests}, max_best_of: ${s.maxBestOf}, max_stop_sequences: ${s.maxStopSequences}, max_top_n_tokens: ${s.maxTopNTokens}, ` +
      `max_input_tokens: Some(${s.maxInputTokens}), max_total_tokens: Some(${s.maxTotalTokens}), max_batch_total_tokens: Some(${s.maxBatchTotalTokens}), ` +
      `hostname: ${JSON.stringify(s.hostname)}, port: ${s.port}, prometheus_port: ${s.prometheusPort ?? 'None'}, payload_limit: ${s.payloadLimit}, ` +
      `graceful_termination_timeout: ${s.gracefulTerminationSeconds}, json_output: ${s.jsonOutput} }`,
  });
  emit({
    target: LAUNCHER,
    message:
      `Simulator: model_id=${s.modelId} NUM_SHARD=${s.numShard} NVIDIA_VISIBLE_DEVICES=${s.nvidiaVisibleDevices ?? '<unset>'} CUDA_VISIBLE_DEVICES=${s.cudaVisibleDevices ?? '<unset>'} ` +
      `vision=${s.sim.vision} load_seconds=${s.sim.loadSeconds} tokens_per_second=${s.sim.tokensPerSecond}`,
  });
  if (s.numShard > 1) emit({ target: LAUNCHER, message: `Sharding model on ${s.numShard} processes` });
}

function ranks(s: SimSettings): number[] {
  return Array.from({ length: s.numShard }, (_, rank) => rank);
}

/** The launcher's last words: Rust's main returning Err prints `Error: <variant>` on stderr. */
function exitWithLauncherError(variant: string): never {
  flushLog();
  process.stderr.write(`Error: ${variant}\n`);
  process.exit(1);
}

/** What TGI prints when a shard runs out of GPU memory while loading; then the launcher exits 1. */
function failLoadingOutOfMemory(): never {
  const traceback = [
    'Traceback (most recent call last):',
    '  File "/usr/src/server/text_generation_server/server.py", line 268, in serve_inner',
    '    model = get_model_with_lora_adapters(',
    '  File "/usr/src/server/text_generation_server/models/flash_causal_lm.py", line 1285, in __init__',
    '    model = model_class(prefix, config, weights)',
    'torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 448.00 MiB. GPU 0 has a total capacity of 79.10 GiB of which 120.56 MiB is free. ' +
      `Process ${process.pid} has 78.97 GiB memory in use. Of the allocated memory 77.80 GiB is allocated by PyTorch, and 512.00 MiB is reserved by PyTorch but unallocated.`,
  ].join('\n');
  emit({ level: 'ERROR', span: SHARD, target: LAUNCHER, message: `Shard complete standard error output:\n\n${traceback}`, fields: { rank: 0 } });
  emit({ level: 'ERROR', target: LAUNCHER, message: 'Shard 0 failed to start' });
  emit({ target: LAUNCHER, message: 'Shutting down shards' });
  exitWithLauncherError('ShardCannotStart');
}

/** Weights and shards "load" over SIM_LOAD_SECONDS; the log lines are spread over that time. */
async function load(s: SimSettings): Promise<void> {
  const total = s.sim.loadSeconds * 1000;
  let elapsed = 0;
  const at = async (fraction: number) => {
    const wait = fraction * total - elapsed;
    if (wait > 0) await sleep(wait);
    elapsed = fraction * total;
  };
  emit({ span: 'download', target: LAUNCHER, message: `Starting check and download process for ${s.modelId}` });
  await at(0.1);
  emit({ target: LAUNCHER, message: 'Files are already present on the host. Skipping download.' });
  emit({ span: 'download', target: LAUNCHER, message: `Successfully downloaded weights for ${s.modelId}` });
  await at(0.15);
  const shardStart = performance.now();
  for (const rank of ranks(s)) emit({ span: SHARD, target: LAUNCHER, message: 'Starting shard', fields: { rank } });
  await at(0.2);
  for (const rank of ranks(s)) emit({ span: SHARD, target: LAUNCHER, message: 'Waiting for shard to be ready...', fields: { rank } });
  await at(0.5);
  if (s.sim.crashOnLoad) failLoadingOutOfMemory();
  await at(0.75);
  for (const rank of ranks(s)) {
    emit({ target: LAUNCHER, message: `Server started at unix:///tmp/text-generation-server-${rank}` });
    emit({ span: SHARD, target: LAUNCHER, message: `Shard ready in ${rustDuration(performance.now() - shardStart)}`, fields: { rank } });
  }
  await at(0.8);
  emit({ target: LAUNCHER, message: 'Starting Webserver' });
  await at(0.85);
  emit({ target: BACKEND, message: 'backends/v3/src/lib.rs:125: Warming up model' });
  await at(0.95);
  emit({ target: BACKEND, message: `backends/v3/src/lib.rs:137: Setting max batch total tokens to ${s.maxBatchTotalTokens}` });
  emit({ target: BACKEND, message: 'backends/v3/src/lib.rs:166: Using backend V3' });
  await at(1);
}

/** Binding failed: TGI's webserver crashes and the launcher exits 1. */
function failWebserver(error: NodeJS.ErrnoException, what: string): never {
  const reason = error.code === 'EADDRINUSE' ? 'Address already in use (os error 98)' : error.message;
  emit({ level: 'ERROR', target: ROUTER, message: `router/src/server.rs:2321: ${what}: ${reason}` });
  emit({ level: 'ERROR', target: LAUNCHER, message: 'Webserver Crashed' });
  emit({ target: LAUNCHER, message: 'Shutting down shards' });
  exitWithLauncherError('WebserverFailed');
}

function listen(server: Server, port: number, hostname: string, what: string): Promise<void> {
  return new Promise((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => failWebserver(error, what));
    server.listen(port, hostname, () => resolve());
  });
}

/** Since 3.3.0 the router also serves /metrics on PROMETHEUS_PORT; the simulator only when asked. */
async function startPrometheus(app: App): Promise<void> {
  const { prometheusPort, hostname } = app.settings;
  if (prometheusPort === undefined) return;
  const server = createHttpServer((_req, res) => sendText(res, 200, app.metrics.render()));
  await listen(server, prometheusPort, hostname, `Failed to bind the Prometheus exporter on port ${prometheusPort}`);
}

/** SIM_CRASH_AFTER_REQUESTS=N: generation request N+1 takes the shard down before it is answered. */
function crashCounter(s: SimSettings): () => void {
  let seen = 0;
  return () => {
    const limit = s.sim.crashAfterRequests;
    if (limit === undefined || ++seen <= limit) return;
    emit({ level: 'ERROR', span: SHARD, target: LAUNCHER, message: 'Shard process was signaled to shutdown with signal 9', fields: { rank: 0 } });
    emit({ level: 'ERROR', target: LAUNCHER, message: `Shard 0 crashed (simulated: SIM_CRASH_AFTER_REQUESTS=${limit} reached)` });
    emit({ target: LAUNCHER, message: 'Terminating webserver' });
    emit({ target: LAUNCHER, message: 'Shutting down shards' });
    exitWithLauncherError('ShardFailed');
  };
}

/** Stop accepting, let in-flight requests finish (up to the graceful timeout), exit 0. */
async function drain(s: SimSettings, sim: SimServer): Promise<never> {
  emit({ target: LAUNCHER, message: 'Terminating webserver' });
  emit({ target: LAUNCHER, message: 'Waiting for webserver to gracefully shutdown' });
  emit({ target: ROUTER, message: 'router/src/server.rs:2395: signal received, starting graceful shutdown' });
  sim.server.close();
  sim.server.closeIdleConnections();
  const timedOut = await Promise.race([sim.idle().then(() => false), sleep(s.gracefulTerminationSeconds * 1000).then(() => true)]);
  if (timedOut) emit({ level: 'WARN', target: LAUNCHER, message: `Webserver did not finish its ${sim.inFlight()} request(s) within ${s.gracefulTerminationSeconds}s, killing it` });
  emit({ target: LAUNCHER, message: 'webserver terminated' });
  emit({ target: LAUNCHER, message: 'Shutting down shards' });
  for (const rank of ranks(s)) {
    emit({ span: SHARD, target: LAUNCHER, message: 'Terminating shard', fields: { rank } });
    emit({ span: SHARD, target: LAUNCHER, message: 'shard terminated', fields: { rank } });
  }
  process.exit(0);
}

export async function runLauncher(s: SimSettings): Promise<void> {
  useJsonOutput(s.jsonOutput);
  logStartup(s);
  let stopping: (() => void) | undefined = () => {
    emit({ target: LAUNCHER, message: 'Shutting down shards' });
    process.exit(0);
  };
  // Every signal is named in the log (real TGI does not), so a test can tell which ones reached it.
  const onSignal = (signal: NodeJS.Signals) => {
    const stop = stopping;
    stopping = undefined; // a second signal while draining changes nothing
    emit({ target: LAUNCHER, message: stop ? `Received ${signal}; shutting down` : `Received ${signal}; already shutting down` });
    stop?.();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  await load(s);
  const app = createApp(s);
  await startPrometheus(app);
  const sim = createSimServer(app, { onGenerationRequest: crashCounter(s) });
  await listen(sim.server, s.port, s.hostname, `Failed to bind to ${s.hostname}:${s.port}`);
  emit({ target: ROUTER, message: 'router/src/server.rs:2298: Connected' });
  stopping = () => void drain(s, sim);
}
