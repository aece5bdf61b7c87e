import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { launcherArgs } from '../../orchestrator/runtime/launcher-args.ts';
import { simulatorEnv } from '../../orchestrator/runtime/local-runtimes.ts';
import { phaseFromLogLine } from '../../orchestrator/health/phase.ts';
import { classifyFailure } from '../../orchestrator/health/diagnose.ts';
import { engineProgram, listenArgs } from '../../orchestrator/config/engines.ts';
import { invalid, issueAt, valid, yaml } from './support.ts';

// `engine: vllm | sglang`: the models.yaml keys each has (under its own flag names), the ones it refuses
// with the equivalent, engine_args, and the argv in the engine's own CLI. docs/engines.md has the sources.

/** One docker model `a` on `engine`, GPU 0, with more settings, each line indented under it. */
const model = (engine: string, ...more: string[]) => ['models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', `    engine: ${engine}`, ...more.map((line) => `    ${line}`)];

const deployment = (text: string) => valid(text).config.deployments[0];

describe('engine', () => {
  test('defaults to tgi: a model without it is what it always was', () => {
    const spec = deployment(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0]', '    max_total_tokens: 4096'));
    assert.equal(spec.engine, 'tgi');
    assert.equal(spec.image, 'ghcr.io/huggingface/text-generation-inference:3.3.6');
    assert.deepEqual(spec.env, { USAGE_STATS: 'off' });
    assert.deepEqual(launcherArgs(spec), ['--model-id', 'org/model', '--num-shard', '1', '--max-total-tokens', '4096']);
  });

  test('comes from defaults, the model winning', () => {
    const { config } = valid(yaml('defaults:', '  engine: vllm', 'models:', '  - name: a', '    model_id: org/a', '    gpus: [0]', '  - name: b', '    model_id: org/b', '    gpus: [1]', '    engine: sglang'));
    assert.deepEqual(config.deployments.map((d) => d.engine), ['vllm', 'sglang']);
  });

  test("defaults.image is an image of the defaults' engine: a model on another engine gets its own engine's", () => {
    const { config } = valid(yaml('defaults:', '  image: my/tgi:1', 'models:', '  - name: a', '    model_id: org/a', '    gpus: [0]', '  - name: b', '    model_id: org/b', '    gpus: [1]', '    engine: vllm', '  - name: c', '    model_id: org/c', '    gpus: [2]', '    engine: sglang', '    image: my/sglang:2'));
    assert.deepEqual(config.deployments.map((d) => d.image), ['my/tgi:1', 'vllm/vllm-openai:v0.11.0', 'my/sglang:2']);
  });

  test('an unknown engine is refused at its line and column, naming the choices', () => {
    const issue = issueAt(invalid(yaml(...model('tensorrt'))), 'models[0].engine');
    assert.equal(issue.line, 5);
    assert.match(`${issue.message} ${issue.hint ?? ''}`, /tgi.*vllm.*sglang/);
  });
});

describe('vLLM (vllm serve)', () => {
  test('image, env and argv: the model positional, served as its models.yaml name, one shard per GPU', () => {
    const spec = deployment(yaml(...model('vllm')));
    assert.equal(spec.image, 'vllm/vllm-openai:v0.11.0');
    assert.deepEqual(spec.env, { VLLM_NO_USAGE_STATS: '1' });
    assert.deepEqual(launcherArgs(spec), ['org/model', '--served-model-name', 'a', '--tensor-parallel-size', '1']);
  });

  test('the keys it has, under its flag names', () => {
    const spec = deployment(
      yaml(...model('vllm', 'gpus: [[0, 1]]', 'revision: v2', 'max_total_tokens: 8192', 'cuda_memory_fraction: 0.8', 'max_batch_size: 64', 'quantize: awq', 'dtype: float16', 'trust_remote_code: true')).replace('    gpus: [0]\n', ''),
    );
    assert.deepEqual(launcherArgs(spec), [
      'org/model', '--served-model-name', 'a', '--tensor-parallel-size', '2',
      '--dtype', 'float16', '--gpu-memory-utilization', '0.8', '--max-model-len', '8192', '--max-num-seqs', '64', '--quantization', 'awq', '--revision', 'v2', '--trust-remote-code',
    ]);
  });

  test('engine_args in snake or kebab case; false is --no-<flag> (argparse BooleanOptionalAction)', () => {
    const spec = deployment(yaml(...model('vllm', 'engine_args:', '  max-num-batched-tokens: 4096', '  enable_prefix_caching: false', '  enforce-eager: true')));
    assert.deepEqual(launcherArgs(spec).slice(5), ['--no-enable-prefix-caching', '--enforce-eager', '--max-num-batched-tokens', '4096']);
  });

  test('a TGI key it has not is refused at the key, naming the equivalent', () => {
    const issue = issueAt(invalid(yaml(...model('vllm', 'max_batch_prefill_tokens: 4096'))), 'models[0].max_batch_prefill_tokens');
    assert.equal(issue.line, 6);
    assert.equal(issue.column, 5);
    assert.match(issue.message, /TGI setting that vLLM does not have/);
    assert.match(issue.hint!, /vLLM has --max-num-batched-tokens: put it in engine_args/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'payload_limit: 8mb'))), 'models[0].payload_limit').hint!, /max_body_size/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'max_client_batch_size: 4'))), 'models[0].max_client_batch_size').hint!, /engine_args/);
  });

  test("the same key in defaults serves the file's TGI models and is left out for vLLM", () => {
    const { config } = valid(yaml('defaults:', '  max_input_tokens: 2048', '  max_total_tokens: 4096', 'models:', '  - name: a', '    model_id: org/a', '    gpus: [0]', '    engine: vllm'));
    assert.deepEqual(config.deployments[0].launcher, { max_model_len: 4096 });
  });

  test('launcher_args, a quantize it spells otherwise, and flags the orchestrator sets are refused', () => {
    assert.match(issueAt(invalid(yaml(...model('vllm', 'launcher_args: { max-top-n-tokens: 5 }'))), 'models[0].launcher_args').hint!, /engine_args/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'quantize: eetq'))), 'models[0].quantize').hint!, /awq, gptq, fp8/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'engine_args: { tensor-parallel-size: 2 }'))), 'models[0].engine_args.tensor-parallel-size').hint!, /gpus: \[\[0, 1\]\]/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'engine_args: { port: 9000 }'))), 'models[0].engine_args.port').hint!, /127\.0\.0\.1/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'engine_args: { max-model-len: 9000 }'))), 'models[0].engine_args.max-model-len').hint!, /max_total_tokens/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'env: { CUDA_VISIBLE_DEVICES: "1" }'))), 'models[0].env.CUDA_VISIBLE_DEVICES').hint!, /gpus/);
    assert.match(issueAt(invalid(yaml(...model('vllm', 'accelerator: amd'))), 'models[0].accelerator').hint!, /set image:/);
  });

  test('engine_args on a TGI model is refused, pointing to launcher_args', () => {
    assert.match(issueAt(invalid(yaml(...model('tgi', 'engine_args: { enforce-eager: true }'))), 'models[0].engine_args').hint!, /launcher_args/);
  });

  test('GPU sharing reads its gpu_memory_utilization like TGI cuda_memory_fraction', () => {
    const two = (fraction: number) =>
      yaml('models:', '  - name: a', '    model_id: org/a', '    gpus: [0]', '    engine: vllm', `    cuda_memory_fraction: ${fraction}`, '  - name: b', '    model_id: org/b', '    gpus: [0]', '    cuda_memory_fraction: 0.4');
    valid(two(0.5));
    assert.match(invalid(two(0.7)).map((i) => i.message).join('\n'), /sum to 1\.1/);
  });
});

describe('SGLang (python3 -m sglang.launch_server)', () => {
  test('image and argv: --model-path, --served-model-name, --tp-size, then its flags', () => {
    const spec = deployment(yaml(...model('sglang', 'max_total_tokens: 8192', 'cuda_memory_fraction: 0.85', 'max_batch_size: 32', 'engine_args: { chunked-prefill-size: 4096 }')));
    assert.equal(spec.image, 'lmsysorg/sglang:v0.5.5');
    assert.deepEqual(spec.env, {});
    assert.deepEqual(launcherArgs(spec), [
      '--model-path', 'org/model', '--served-model-name', 'a', '--tp-size', '1',
      '--chunked-prefill-size', '4096', '--context-length', '8192', '--enable-metrics', '--max-running-requests', '32', '--mem-fraction-static', '0.85',
    ]);
  });

  test('refusals name its equivalents; --enable-metrics unless engine_args turns it off (false is left out)', () => {
    assert.match(issueAt(invalid(yaml(...model('sglang', 'max_batch_prefill_tokens: 4096'))), 'models[0].max_batch_prefill_tokens').hint!, /SGLang has --chunked-prefill-size/);
    assert.match(issueAt(invalid(yaml(...model('sglang', 'engine_args: { tp-size: 2 }'))), 'models[0].engine_args.tp-size').hint!, /gpus/);
    assert.deepEqual(launcherArgs(deployment(yaml(...model('sglang', 'engine_args: { enable-metrics: false }')))).length, 6);
  });
});

describe('the simulator', () => {
  test('runtime: simulator gets SIM_ENGINE and the engine CLI', () => {
    const spec = deployment(yaml('defaults:', '  runtime: simulator', ...model('vllm', 'max_total_tokens: 4096')));
    assert.equal(simulatorEnv(spec).SIM_ENGINE, 'vllm');
    assert.deepEqual(spec.env, {}, 'no engine env defaults for the simulator');
    assert.deepEqual(launcherArgs(spec), ['org/model', '--served-model-name', 'a', '--tensor-parallel-size', '1', '--max-model-len', '4096']);
    assert.equal(simulatorEnv(deployment(yaml('defaults:', '  runtime: simulator', ...model('tgi')))).SIM_ENGINE, 'tgi');
  });
});

describe('log lines', () => {
  test('loading phases per engine; TGI lines read as before', () => {
    assert.equal(phaseFromLogLine('INFO text_generation_launcher: Starting shard rank=0'), 'loading shards');
    assert.equal(phaseFromLogLine('INFO 04-30 17:50:01 [gpu_model_runner.py:1595] Starting to load model org/model...', 'vllm'), 'loading shards');
    assert.equal(phaseFromLogLine('INFO 04-30 17:52:13 [gpu_worker.py:298] Available KV cache memory: 51.45 GiB'), 'warming up');
    assert.equal(phaseFromLogLine('INFO 04-30 17:52:43 [api_server.py:1090] Starting vLLM API server on http://0.0.0.0:8000'), 'connected');
    assert.equal(phaseFromLogLine('[2026-09-22 19:51:23] Load weight begin. avail mem=113.93 GB', 'sglang'), 'loading shards');
    assert.equal(phaseFromLogLine('[2026-09-22 19:53:30 TP0] Capture cuda graph begin. This can take up to several minutes.'), 'warming up');
    assert.equal(phaseFromLogLine('[2026-05-06 19:11:22] The server is fired up and ready to roll!'), 'connected');
    assert.equal(phaseFromLogLine('INFO 04-30 17:52:43 [api_server.py:1090] Starting vLLM API server on http://0.0.0.0:8000', 'tgi'), undefined);
  });

  test('failures from the engines\' own messages', () => {
    const argparse = classifyFailure({ logTail: ['usage: vllm serve [model_tag] [options]', 'vllm serve: error: unrecognized arguments: --max-input-tokens 10'] });
    assert.equal(argparse.permanent, true);
    assert.match(argparse.diagnosis!, /engine_args/);
    const kv = classifyFailure({ logTail: ['ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.'] });
    assert.match(kv.diagnosis!, /cuda_memory_fraction/);
    assert.equal(kv.permanent, false);
    assert.match(classifyFailure({ logTail: ['ValueError: Free memory on device cuda:0 (7.34/15.49 GiB) on startup is less than desired GPU memory utilization (0.8, 12.39 GiB).'] }).diagnosis!, /another process/);
    assert.match(classifyFailure({ logTail: ['RuntimeError: Not enough memory. Please try to increase --mem-fraction-static.'] }).diagnosis!, /KV cache/);
    assert.match(classifyFailure({ logTail: ['ValueError: User-specified max_model_len (100000) is greater than the derived max_model_len (max_position_embeddings=32768 in model\'s config.json).'] }).diagnosis!, /max_total_tokens/);
    assert.match(classifyFailure({ logTail: ['torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB'] }).diagnosis!, /CUDA out of memory/);
    assert.match(classifyFailure({ logTail: ['huggingface_hub.errors.GatedRepoError: 401 Client Error.'] }).diagnosis!, /gated/);
    assert.match(classifyFailure({ logTail: ['RuntimeError: Failed to infer device type'] }).diagnosis!, /not present or not usable/);
  });
});

describe('where to listen', () => {
  test("each engine's spelling: TGI --hostname (as the process driver always sent), vLLM and SGLang --host", () => {
    assert.deepEqual(listenArgs(undefined, '127.0.0.1', 9000), ['--port', '9000', '--hostname', '127.0.0.1']);
    assert.deepEqual(listenArgs('tgi', '127.0.0.1', 9000), ['--port', '9000', '--hostname', '127.0.0.1']);
    assert.deepEqual(listenArgs('vllm', '127.0.0.1', 9000), ['--port', '9000', '--host', '127.0.0.1']);
    assert.deepEqual(engineProgram('sglang'), ['python3', '-m', 'sglang.launch_server']);
    assert.deepEqual(engineProgram(undefined), []);
  });
});
