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
