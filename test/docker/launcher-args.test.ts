import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launcherArgs } from '../../orchestrator/runtime/launcher-args.ts';
import { testSpec } from './spec.ts';

test('model id and one shard per pinned GPU come first', () => {
  const args = launcherArgs(testSpec({ model: 'm', gpus: [0, 1], launcher: {} }));
  assert.deepEqual(args, ['--model-id', 'sim/m', '--num-shard', '2']);
});

test('launcher settings become --kebab-case flags in name order; true is a bare flag, false is left out', () => {
  const args = launcherArgs(testSpec({
    model: 'm',
    gpus: [3],
    launcher: { max_input_tokens: 2048, max_total_tokens: 4096, quantize: 'awq', cuda_memory_fraction: 0.45, trust_remote_code: true, disable_custom_kernels: false, max_batch_prefill_tokens: 4096, cuda_graphs: '1,2,4' },
  }));
  assert.deepEqual(args, [
    '--model-id', 'sim/m', '--num-shard', '1',
    '--cuda-graphs', '1,2,4',
    '--cuda-memory-fraction', '0.45',
    '--max-batch-prefill-tokens', '4096',
    '--max-input-tokens', '2048',
    '--max-total-tokens', '4096',
    '--quantize', 'awq',
    '--trust-remote-code',
  ]);
});

test('launcher_args settings, kept in snake case by the config, are spelled as TGI spells them (launcher/src/main.rs Args)', () => {
  const args = launcherArgs(testSpec({ model: 'm', launcher: { max_top_n_tokens: 10, usage_stats: 'no-stack', env: true } }));
  assert.deepEqual(args.slice(4), ['--env', '--max-top-n-tokens', '10', '--usage-stats', 'no-stack']);
});

test('vLLM: the model positional after `vllm serve`, served as the models.yaml name, --tensor-parallel-size; false is --no-<flag>', () => {
  const args = launcherArgs({ ...testSpec({ model: 'm', gpus: [0, 1], launcher: { max_model_len: 4096, trust_remote_code: true, enable_prefix_caching: false } }), engine: 'vllm' });
  assert.deepEqual(args, ['sim/m', '--served-model-name', 'm', '--tensor-parallel-size', '2', '--no-enable-prefix-caching', '--max-model-len', '4096', '--trust-remote-code']);
});

test('SGLang: --model-path, --served-model-name, --tp-size; false is left out', () => {
  const args = launcherArgs({ ...testSpec({ model: 'm', gpus: [4], launcher: { mem_fraction_static: 0.8, enable_metrics: false } }), engine: 'sglang' });
  assert.deepEqual(args, ['--model-path', 'sim/m', '--served-model-name', 'm', '--tp-size', '1', '--mem-fraction-static', '0.8']);
});
