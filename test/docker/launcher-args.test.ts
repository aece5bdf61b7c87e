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
    launcher: { max_input_tokens: 2048, max_total_tokens: 4096, quantize: 'awq', cuda_memory_fraction: 0.45, trust_remote_code: true, cuda_graphs: false, maxBatchPrefillTokens: 4096 },
  }));
  assert.deepEqual(args, [
    '--model-id', 'sim/m', '--num-shard', '1',
    '--cuda-memory-fraction', '0.45',
    '--max-batch-prefill-tokens', '4096',
    '--max-input-tokens', '2048',
    '--max-total-tokens', '4096',
    '--quantize', 'awq',
    '--trust-remote-code',
  ]);
});
