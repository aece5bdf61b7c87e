// `npm run conformance -- --url … --engine vllm|sglang` against the simulator speaking that engine:
// every case of docs/vllm-contract.md and docs/sglang-contract.md must run and pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ENGINE_CASES } from '../../scripts/conformance/engines/index.ts';
import { unsetNpmVariables } from '../helpers/npm-env.ts';
import { ROOT } from '../helpers/sim.ts';
import { startEngine, type Engine } from './engine-fixture.ts';

function runConformance(url: string, engine: Engine): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'conformance', '--', '--url', url, '--engine', engine], { cwd: ROOT, env: { ...process.env, ...unsetNpmVariables() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output })); // 'close': all output read
  });
}

const FLAGS: Record<Engine, string[]> = { vllm: ['--max-model-len', '512'], sglang: ['--context-length', '512', '--enable-metrics'] };

for (const engine of ['vllm', 'sglang'] as const) {
  test(`npm run conformance --engine ${engine} passes every case against the simulator`, { timeout: 120_000 }, async () => {
    const sim = await startEngine(engine, { model: `sim/conformance-${engine}`, args: FLAGS[engine] });
    try {
      const { code, output } = await runConformance(sim.url, engine);
      const count = ENGINE_CASES[engine].length;
      assert.equal(code, 0, output);
      assert.match(output, new RegExp(`^${count} cases: ${count} pass, 0 differ, 0 skipped$`, 'm'), output);
    } finally {
      await sim.stop();
    }
  });
}
