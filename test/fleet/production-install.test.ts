// `npm ci --omit=dev && npm run demo` on a fresh clone: a copy of this checkout's files (tracked and
// untracked-but-not-ignored, as they are on disk) installed with the production dependencies only
// builds the dashboard, runs the demo, answers the service API document's curl examples, and runs
// the other operator commands. A run-time import of a devDependency fails here.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { unsetNpmVariables } from '../helpers/npm-env.ts';
import {
  assertNonStreamingAnswer,
  assertStreamingAnswer,
  assertVisionAnswer,
  curlExamples,
  documentedPortIfFree,
  exampleWorkDir,
  runExample,
} from '../helpers/seed-examples.ts';
import { ROOT } from '../helpers/sim.ts';
import { runUp, type RunningUp } from '../helpers/up.ts';

const run = promisify(execFile);
const env = { ...process.env, ...unsetNpmVariables() };

async function registryReachable(): Promise<boolean> {
  try {
    await run('npm', ['ping'], { env, timeout: 20_000 });
    return true;
  } catch {
    return false;
  }
}

const skip = !process.env.CI && !(await registryReachable()) ? 'the npm registry is not reachable (CI never skips this)' : false;

/** What a fresh clone would hold once the working tree is committed: tracked and new files, deleted ones left out. */
async function checkoutFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 1 << 24 });
  return [...new Set(stdout.split('\0').filter(Boolean))].filter((file) => existsSync(join(ROOT, file)));
}

/** Runs `npm run <script> -- <args>` in the copy; resolves with its exit code and output. */
async function npmRun(cwd: string, script: string, args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run('npm', ['run', '--silent', script, '--', ...args], { cwd, env: { ...env, ...extraEnv }, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, output: `${e.stdout}${e.stderr}` };
  }
}

describe('npm ci --omit=dev on a fresh clone', { skip }, () => {
  let copy: string;
  let service: RunningUp | undefined;
  let workDir: string | undefined;

  before(async () => {
    copy = await mkdtemp(join(tmpdir(), 'fleet-clone-'));
    for (const file of await checkoutFiles()) await cp(join(ROOT, file), join(copy, file), { verbatimSymlinks: true });
    await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: copy, env, timeout: 150_000, maxBuffer: 1 << 24 });
  });

  after(async () => {
    await service?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
    if (copy) await rm(copy, { recursive: true, force: true });
  });

  test('only production dependencies are installed, and prepare built the dashboard with them', () => {
    assert.ok(!existsSync(join(copy, 'node_modules/typescript')), 'devDependencies were left out');
    assert.ok(existsSync(join(copy, 'node_modules/tsx')));
    assert.ok(existsSync(join(copy, 'gateway/dashboard/dist/index.html')));
  });

  test('npm run demo serves the document\'s curl examples', { timeout: 120_000 }, async () => {
    service = await runUp({ config: 'models.demo.yaml', command: ['npm', 'run', 'demo', '--'], cwd: copy, port: await documentedPortIfFree(), env: unsetNpmVariables() });
    await service.waitHealthy(90_000);
    workDir = await exampleWorkDir();
    const examples = await curlExamples();
    assert.equal(examples.length, 3);
    const target = { port: service.port, token: service.token, cwd: workDir };
    assertNonStreamingAnswer(await runExample(examples[0], target));
    assertStreamingAnswer(await runExample(examples[1], target));
    assertVisionAnswer(await runExample(examples[2], target));
  });

  test('validate, token, status, logs and down work on it', { timeout: 90_000 }, async () => {
    assert.ok(service, 'the demo runs');
    const fleet = ['--fleet', service.fleet];
    const lockDir = { FLEET_LOCK_DIR: service.lockDir };
    const [validate, token, status, logs] = await Promise.all([
      npmRun(copy, 'validate', ['--config', 'models.demo.yaml']),
      npmRun(copy, 'token', ['--state-dir', service.stateDir]),
      npmRun(copy, 'status', fleet, lockDir),
      npmRun(copy, 'logs', ['hermes-2-pro-tgi/gpu0', '--tail', '5', ...fleet], lockDir),
    ]);
    assert.equal(validate.code, 0, validate.output);
    assert.equal(token.code, 0, token.output);
    assert.match(token.output, /VALID_TOKEN=\S+/);
    assert.equal(status.code, 0, status.output);
    assert.match(status.output, /hermes-2-pro-tgi\/gpu0/);
    assert.equal(logs.code, 0, logs.output);
    assert.match(logs.output, /text_generation/);
    const down = await npmRun(copy, 'down', fleet, lockDir);
    assert.equal(down.code, 0, down.output);
    assert.equal(await service.exited, 0, 'npm run demo drained and exited 0 when down stopped it');
  });
});
