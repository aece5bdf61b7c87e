// The TGI simulator's failure knobs work for vLLM and SGLang too: SIM_CRASH_ON_LOAD,
// SIM_CRASH_AFTER_REQUESTS, SIM_HANG (the env the orchestrator's simulator runtime passes).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, send } from './fixtures.ts';
import { startEngine, type Engine } from './engine-fixture.ts';

const CHAT = { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 };

for (const engine of ['vllm', 'sglang'] as const satisfies readonly Engine[]) {
  describe(`${engine}: failure knobs`, () => {
    test('SIM_CRASH_ON_LOAD: CUDA out of memory while loading, exit 1, never listens', async () => {
      const sim = await startEngine(engine, { waitReady: false, env: { SIM_CRASH_ON_LOAD: '1' } });
      assert.equal(await sim.exited, 1);
      assert.match(sim.output(), /torch\.OutOfMemoryError: CUDA out of memory/);
      assert.ok(!sim.output().includes('Application startup complete.'));
    });

    test('SIM_CRASH_AFTER_REQUESTS=1: the second generation request kills the engine (exit 1)', async () => {
      const sim = await startEngine(engine, { env: { SIM_CRASH_AFTER_REQUESTS: '1' } });
      assert.equal((await postJson(`${sim.url}/v1/chat/completions`, CHAT)).status, 200);
      assert.equal((await send(`${sim.url}/health`)).status, 200, 'health does not count');
      await assert.rejects(postJson(`${sim.url}/v1/chat/completions`, CHAT));
      assert.equal(await sim.exited, 1);
    });

    test('SIM_HANG: generation requests are never answered, /health stays 200', async () => {
      const sim = await startEngine(engine, { env: { SIM_HANG: '1' } });
      try {
        await assert.rejects(postJson(`${sim.url}/v1/completions`, { prompt: 'Hi', max_tokens: 1 }, AbortSignal.timeout(300)));
        assert.equal((await send(`${sim.url}/health`)).status, 200);
      } finally {
        await sim.stop();
      }
    });
  });
}

test('vLLM boolean options take their --no- form too', async () => {
  const sim = await startEngine('vllm', { args: ['--no-enable-prefix-caching', '--no-trust-remote-code', '--enforce-eager'] });
  assert.equal(await sim.stop(), 0);
});
