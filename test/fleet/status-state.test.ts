import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineOf, liveState } from '../../orchestrator/cli/status.ts';

// The STATE and ENGINE columns of `npm run status`, from the gateway's /info (whose retry and engine
// fields older gateways lack).

test('a ready deployment is just "ready", with or without the retry fields', () => {
  assert.equal(liveState({ state: 'ready' }), 'ready');
  assert.equal(liveState({ state: 'ready', phase: null, attempts: 0, next_retry_at: null }), 'ready');
});

test('a failed deployment shows its failed attempts and when it is retried', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(liveState({ state: 'failed', attempts: 3, next_retry_at: '2025-01-01T00:00:40Z' }, now), 'failed (3 failed attempts, retry in 40s)');
  assert.equal(liveState({ state: 'loading', phase: 'warming up', attempts: 1 }, now), 'loading (warming up, 1 failed attempt)');
});

test("the engine is the gateway's; a gateway that does not say ran TGI; Docker's view alone does not know it", () => {
  assert.equal(engineOf({ engine: 'vllm' }), 'vllm');
  assert.equal(engineOf({ engine: 'sglang' }), 'sglang');
  assert.equal(engineOf({}), 'tgi');
  assert.equal(engineOf(undefined), '-');
});
