import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../orchestrator/config/load.ts';
import { launcherArgs } from '../../orchestrator/runtime/launcher-args.ts';
import { simulatorEnv } from '../../orchestrator/runtime/local-runtimes.ts';
import { h100s } from './support.ts';

const file = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));

test('models.yaml validates against a 4-GPU host and gives the routes of the issue', async () => {
  const result = await loadConfig(file('models.yaml'), { gpus: h100s(), env: { HF_TOKEN: 'hf_secret' } });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.warnings, []);
  const { config } = result;
  assert.equal(config.file, file('models.yaml'));
  assert.equal(config.gateway.port, 8000);
  assert.deepEqual(
    config.deployments.map((d) => [d.key, d.gpus, d.vision, d.runtime]),
    [
      ['hermes-2-pro-tgi/gpu0', [0], false, 'docker'],
      ['hermes-2-pro-tgi/gpu1', [1], false, 'docker'],
      ['llava-v1.6-mistral-7b-tgi/gpu2', [2], true, 'docker'],
    ],
  );
  const hermes = config.deployments[0];
  assert.equal(hermes.modelId, 'NousResearch/Hermes-2-Pro-Llama-3-8B');
  assert.equal(hermes.image, 'ghcr.io/huggingface/text-generation-inference:3.3.6');
  assert.deepEqual(hermes.launcher, { max_input_tokens: 2048, max_total_tokens: 4096 });
  assert.deepEqual(hermes.env, { HF_TOKEN: 'hf_secret', USAGE_STATS: 'off' });
  assert.equal(hermes.loadTimeoutMs, 30 * 60_000);
  assert.equal(hermes.shmSizeBytes, 1024 ** 3);
});

test('models.yaml without HF_TOKEN is valid: HF_TOKEN is left out, with a note that gated models will fail', async () => {
  const result = await loadConfig(file('models.yaml'), { gpus: h100s(), env: {} });
  assert.ok(result.ok);
  assert.equal(result.warnings.length, 1);
  assert.equal(result.warnings[0].path, 'defaults.env.HF_TOKEN');
  assert.equal(result.warnings[0].message, 'HF_TOKEN is not set: gated models will fail');
  assert.ok(result.config.deployments.every((d) => !('HF_TOKEN' in d.env)));
});

test('models.demo.yaml runs the simulator for every deployment, TGI-flavoured and one vLLM-flavoured, sharing GPUs', async () => {
  const result = await loadConfig(file('models.demo.yaml'), { env: {} });
  assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.issues));
  assert.deepEqual(result.warnings, []);
  const { deployments } = result.config;
  assert.deepEqual(
    deployments.map((d) => [d.key, d.engine]),
    [['hermes-2-pro-tgi/gpu0', 'tgi'], ['hermes-2-pro-tgi/gpu1', 'tgi'], ['llava-v1.6-mistral-7b-tgi/gpu0', 'tgi'], ['qwen3-8b-vllm/gpu1', 'vllm']],
  );
  assert.ok(deployments.every((d) => d.runtime === 'simulator' && d.simulator.tokensPerSecond === 30 && d.simulator.loadSeconds <= 3));
  assert.equal(deployments[2].vision, true);
  assert.equal(deployments[2].modelId, 'llava-hf/llava-v1.6-mistral-7b-hf');
  // The simulator speaks vLLM for it: SIM_ENGINE=vllm and `vllm serve`'s argv, served under its models.yaml name.
  const vllm = deployments[3];
  assert.deepEqual([vllm.modelId, vllm.vision, simulatorEnv(vllm).SIM_ENGINE], ['Qwen/Qwen3-8B', false, 'vllm']);
  assert.deepEqual(launcherArgs(vllm), ['Qwen/Qwen3-8B', '--served-model-name', 'qwen3-8b-vllm', '--tensor-parallel-size', '1', '--max-model-len', '4096']);
});
