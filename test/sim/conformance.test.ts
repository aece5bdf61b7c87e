// The conformance suite (scripts/conformance, the cases of docs/tgi-contract.md) run as CI runs it
// against any TGI: `npm run conformance -- --url …`, here against the simulator. Its settings make
// every case applicable, so all of them must run and pass.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { CASES } from '../../scripts/conformance/cases/index.ts';
import { unsetNpmVariables } from '../helpers/npm-env.ts';
import { ROOT, startSim, type SimProcess } from '../helpers/sim.ts';

let sim: SimProcess;

before(async () => {
  // max_total_tokens ≤ 1024 and max_input_tokens < max_total_tokens − 1: no case has to skip.
  sim = await startSim({ modelId: 'sim/conformance', args: ['--max-total-tokens', '512', '--max-input-tokens', '256', '--payload-limit', '100000'] });
});
after(() => sim.stop());

function runConformance(url: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'conformance', '--', '--url', url, '--payload-limit', '100000'], { cwd: ROOT, env: { ...process.env, ...unsetNpmVariables() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output })); // 'close': all output read
  });
}

test('npm run conformance passes every case of the contract against the simulator', { timeout: 120_000 }, async () => {
  const { code, output } = await runConformance(sim.url);
  assert.equal(code, 0, output);
  assert.match(output, new RegExp(`^${CASES.length} cases: ${CASES.length} pass, 0 differ, 0 skipped$`, 'm'), output);
  assert.ok(CASES.length >= 60, `only ${CASES.length} cases`);
});
