// Supervised local processes: the reconciler, the supervisors and the process driver as `up`
// composes them, running real simulator processes (and, for failures, real commands that fail).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import { log } from '../../orchestrator/log.ts';
import { commandDriver, simulatorDriver } from '../../orchestrator/runtime/local-runtimes.ts';
import { localLogFile } from '../../orchestrator/runtime/process-driver.ts';
import { ControlPlane, states } from '../helpers/control-plane.ts';
import { waitFor } from '../helpers/wait.ts';
import { SIM_ENTRY } from '../helpers/sim.ts';

log.level = process.env.LOG_LEVEL ?? 'warn';

function spec(model: string, runtime: DeploymentSpec['runtime'], extra: Partial<DeploymentSpec> = {}): DeploymentSpec {
  return {
    key: `${model}/gpu0`, model, gpuLabel: 'gpu0', gpus: [0], modelId: `sim/${model}`, runtime, accelerator: 'nvidia', vision: false,
    image: 'unused', pull: 'never', shmSizeBytes: 1 << 26, env: {}, launcher: {}, simulator: { loadSeconds: 0, tokensPerSecond: 0 },
    limits: { requestsPerSecond: 100, burst: 100, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 0 }, hfCache: tmpdir(), loadTimeoutMs: 30 * 60_000, ...extra,
  };
}

const simulatorCommand = [process.execPath, '--import', 'tsx', SIM_ENTRY];

describe('supervised local processes', () => {
  let dir: string;
  let sims: ControlPlane;
  let commands: ControlPlane;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-proc-'));
    sims = new ControlPlane(simulatorDriver(dir));
    commands = new ControlPlane(commandDriver(dir), undefined, 1000);
  });

  after(async () => {
    await sims?.close();
    await commands?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a crash: down at once, started again by the supervisor (nothing else restarts a process), ready again', async () => {
    await sims.run(spec('crashy', 'simulator', { simulator: { loadSeconds: 0, tokensPerSecond: 0, crashAfterRequests: 0 } }));
    const d = sims.get('crashy/gpu0');
    assert.equal(await d.settled(), true, JSON.stringify(d.lastFailure));
    const firstPid = d.instanceName;
    const seen = states(d);
    await fetch(`${d.upstream!.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hi"}' }).catch(() => undefined);
    await waitFor('ready again', () => d.state === 'ready' && seen.length >= 3);
    assert.deepEqual(seen, ['down', 'loading', 'ready']);
    assert.equal(d.restarts, 1);
    assert.notEqual(d.instanceName, firstPid, 'a new process');
    assert.match(d.instanceName ?? '', /^pid \d+$/);
  });

  test('the server runs in its own process group and without the orchestrator\'s token', async () => {
    process.env.VALID_TOKEN = 'orchestrator-secret-token';
    try {
      await sims.run(spec('crashy', 'simulator', { simulator: { loadSeconds: 0, tokensPerSecond: 0, crashAfterRequests: 0 } }), spec('grouped', 'simulator'));
      const d = sims.get('grouped/gpu0');
      assert.equal(await d.settled(), true);
      const pid = Number(d.instanceName!.slice('pid '.length));
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      assert.equal(pgid, pid, 'process group leader');
      assert.notEqual(pgid, process.pid);
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      assert.ok(!environ.includes('orchestrator-secret-token'), 'the token never reaches a child');
      assert.ok(environ.split('\0').includes('CUDA_VISIBLE_DEVICES=0'));
    } finally {
      delete process.env.VALID_TOKEN;
    }
  });

  test('a start that fails for a passing reason (a download error) is retried with backoff and becomes ready on its own', async () => {
    const marker = join(dir, 'download-failed-once');
    const flaky = `if [ ! -e '${marker}' ]; then touch '${marker}'; echo 'DownloadError: connection reset by peer' >&2; exit 1; fi; exec "$@"`;
    await commands.run(spec('flaky', 'process', { command: ['bash', '-c', flaky, 'flaky', ...simulatorCommand], env: { SIM_LOAD_SECONDS: '0' } }));
    const d = commands.get('flaky/gpu0');
    const seen = states(d);
    assert.equal(await d.settled(), false);
    assert.match(d.lastFailure!.message, /exited \(exit code 1\) while loading/);
    assert.ok(d.lastFailure!.logTail.some((line) => /DownloadError/.test(line)));
    assert.ok(d.nextRetryAt, 'a retry is scheduled');
    assert.equal(d.attempts, 1);
    await waitFor('ready on its own', () => d.state === 'ready', 20_000);
    assert.ok(seen.indexOf('pending') > seen.indexOf('failed'), `failed, then tried again: ${seen.join(' → ')}`);
    assert.equal(d.attempts, 0);
    const log = await readFile(localLogFile(join(dir, 'logs'), 'flaky/gpu0'), 'utf8');
    assert.match(log, /DownloadError/);
  });

  test('the line that says why, printed just after the launcher exited (by a process it started), still decides: not retried', async () => {
    // Node may report the exit before that output is read; the driver reads the pipes to their close first.
    const lateLine = `(sleep 0.2; printf 'error: unexpected argument \\047--bogus\\047 found\\n' >&2) & exit 2`;
    await commands.run(spec('late-line', 'process', { command: ['bash', '-c', lateLine, 'launcher'] }));
    const d = commands.get('late-line/gpu0');
    assert.equal(await d.settled(), false);
    assert.equal(d.nextRetryAt, undefined, 'no retry: it cannot heal by itself');
    assert.match(d.lastFailure!.diagnosis ?? '', /launcher refused its arguments/);
    assert.ok(d.lastFailure!.logTail.includes("error: unexpected argument '--bogus' found"), d.lastFailure!.logTail.join('\n'));
  });

  test('a launcher that refuses its arguments is not retried: it waits for an edit, which then starts it', async () => {
    // As clap prints it, colours included: the diagnosis and the stored log see plain text.
    const refusing = `printf '\\033[1;31merror:\\033[0m invalid value \\047fp8\\047 for \\047--kv-cache-dtype <KV_CACHE_DTYPE>\\047\\n  [possible values: fp8_e4m3fn, fp8_e5m2]\\n' >&2; exit 2`;
    const bad = spec('refused', 'process', { command: ['bash', '-c', refusing, 'launcher'] });
    await commands.run(bad);
    const d = commands.get('refused/gpu0');
    assert.equal(await d.settled(), false);
    assert.equal(d.nextRetryAt, undefined, 'no retry: it cannot heal by itself');
    assert.match(d.lastFailure!.diagnosis ?? '', /launcher refused its arguments/);
    assert.equal(d.lastFailure!.logTail[0], "error: invalid value 'fp8' for '--kv-cache-dtype <KV_CACHE_DTYPE>'");
    assert.ok(!(await readFile(localLogFile(join(dir, 'logs'), 'refused/gpu0'), 'utf8')).includes('\x1b'), 'the stored log has no colour codes');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(d.state, 'failed');
    assert.equal(d.attempts, 1);

    await commands.run(spec('refused', 'process', { command: simulatorCommand }));
    const fixed = commands.get('refused/gpu0');
    assert.notEqual(fixed, d, 'the edit replaced it');
    assert.equal(await fixed.settled(), true, JSON.stringify(fixed.lastFailure));
  });

  test('servers an earlier `up` left running (it was killed and could not stop them) are stopped by the next `up` on its state dir', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'fleet-proc-leftover-'));
    const killed = new ControlPlane(simulatorDriver(stateDir));
    const next = new ControlPlane(simulatorDriver(stateDir));
    try {
      await killed.run(spec('left', 'simulator'));
      const before = killed.get('left/gpu0');
      assert.equal(await before.settled(), true);
      const orphan = Number(before.instanceName!.slice('pid '.length));
      killed.reconciler.close(); // it dies: nothing stops its children
      await new Promise((r) => setTimeout(r, 200)); // the record reaches the disk

      await next.run(spec('left', 'simulator'));
      const after = next.get('left/gpu0');
      assert.equal(await after.settled(), true);
      await waitFor('the orphan gone', () => { try { process.kill(orphan, 0); return false; } catch { return true; } }, 10_000);
      assert.notEqual(after.instanceName, before.instanceName);
    } finally {
      await next.close();
      await killed.driver.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  test('removal: drained, then the process is stopped', async () => {
    const d = commands.get('refused/gpu0');
    const pid = Number(d.instanceName!.slice('pid '.length));
    await commands.run();
    await waitFor('stopped', () => d.state === 'stopped');
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.equal(commands.table.all().length, 0);
  });
  test('load_timeout counts time without progress: a load that keeps printing is never cut, a silent one is, saying how to raise it', async () => {
    const slowButAdvancing = `for i in 1 2 3 4 5 6; do echo "Download file: model-0000$i-of-00006.safetensors"; sleep 0.5; done; exec "$@"`;
    const silent = `echo 'Starting download process.'; sleep 60`;
    await commands.run(
      spec('advancing', 'process', { command: ['bash', '-c', slowButAdvancing, 'launcher', ...simulatorCommand], env: { SIM_LOAD_SECONDS: '0' }, loadTimeoutMs: 1500 }),
      spec('stalled', 'process', { command: ['bash', '-c', silent, 'launcher'], loadTimeoutMs: 1500 }),
    );
    const advancing = commands.get('advancing/gpu0');
    const stalled = commands.get('stalled/gpu0');
    assert.equal(await advancing.settled(), true, JSON.stringify(advancing.lastFailure));
    assert.equal(await stalled.settled(), false);
    assert.match(stalled.lastFailure!.message, /made no progress for 2 s while loading .*raise load_timeout for stalled in models\.yaml/);
    assert.ok(stalled.nextRetryAt, 'retried: a stall may pass');
  });

});

