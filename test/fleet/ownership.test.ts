// A fleet owns its containers, exclusively: a second `up` of a running fleet, or on its state dir,
// refuses before it touches anything; a lock left by a dead `up` is taken over; a taken port is refused
// before anything is reconciled; down, logs and token act on one fleet and say which.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, runUp, uniqueFleet, stopAndRemove, upOnConfig, type RunningUp } from '../helpers/up.ts';

const CONFIG = `
gateway:
  drain_timeout: 2s
defaults:
  runtime: simulator
  simulator: { load_seconds: 0, tokens_per_second: 0 }
models:
  - name: one
    model_id: sim/one
    gpus: [0]
`;

const exists = (path: string) => access(path).then(() => true, () => false);
const simulatorPid = async (service: RunningUp) => (await (await service.fetch('/one/gpu0/info')).json()).simulator.pid as number;
const generate = (service: RunningUp) =>
  service.fetch('/one/gpu0/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } }) });

/** The first `up` still serves, with the very simulator it had. */
async function assertUndisturbed(service: RunningUp, pid: number): Promise<void> {
  assert.equal(service.child.exitCode, null, 'the first up still runs');
  assert.equal((await fetch(`${service.url}/health`)).status, 200);
  assert.equal(await simulatorPid(service), pid, 'its deployment kept its server');
  assert.equal((await generate(service)).status, 200);
}

describe('a running fleet and its state dir have one owner', () => {
  let dir: string;
  let config: string;
  let first: RunningUp;
  let firstPid: number;

  before(async () => {
    ({ dir, config, service: first } = await upOnConfig('fleet-owner-', CONFIG));
    firstPid = await simulatorPid(first);
  });
  after(() => stopAndRemove(first, dir));

  test('a second up of the fleet (other state dir, other port) refuses, naming the running one', async () => {
    const second = await runUp({ config, fleet: first.fleet });
    assert.notEqual(await second.exited, 0);
    const out = second.output();
    assert.ok(out.includes(`fleet "${first.fleet}" is already running (pid ${first.child.pid}, gateway port ${first.port}, config ${config}, state dir ${first.stateDir}`), out);
    assert.match(out, /`npm run up -- --fleet NAME`/);
    assert.doesNotMatch(out, /reconcile:|VALID_TOKEN=/);
    assert.equal(await exists(join(second.stateDir, 'token.json')), false, 'not even a token was written');
    await assertUndisturbed(first, firstPid);
  });

  test('a second up on the same state dir (another fleet) refuses and leaves its token alone', async () => {
    const second = await runUp({ config, stateDir: first.stateDir });
    assert.notEqual(await second.exited, 0);
    const out = second.output();
    assert.ok(out.includes(`state dir ${first.stateDir} is in use by fleet "${first.fleet}" (pid ${first.child.pid}, gateway port ${first.port}`), out);
    assert.match(out, /--state-dir DIR/);
    assert.ok((await readFile(join(first.stateDir, 'token.json'), 'utf8')).includes(first.token), 'the token is still the first one\'s');
    await assertUndisturbed(first, firstPid);
  });

  test('up on a taken port exits 1 naming the fleet that has it, and reconciles nothing', async () => {
    const second = await runUp({ config, port: first.port });
    assert.equal(await second.exited, 1);
    const out = second.output();
    assert.ok(out.includes(`port ${first.port} is in use by the gateway of fleet "${first.fleet}" (pid ${first.child.pid}`), out);
    assert.match(out, /use --port/);
    assert.doesNotMatch(out, /reconcile:/);
    assert.equal(await exists(join(second.stateDir, 'logs')), false, 'no server was started');
    assert.equal(await exists(join(first.lockDir, `${second.fleet}.json`)), false, 'its lock was released');
    await assertUndisturbed(first, firstPid);
  });

  test('logs of an unknown deployment lists the valid ones', async () => {
    const result = await runCli(['logs', 'two/gpu1', '--fleet', first.fleet]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`fleet "${first.fleet}" has no deployment "two/gpu1"; valid ones: one/gpu0`));
  });

  test('token with an empty default state dir creates no token and names the running fleets\' state dirs', async () => {
    const empty = join(dir, 'never-used');
    const result = await runCli(['token'], { FLEET_STATE_DIR: empty });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.ok(result.stderr.includes(`no token in ${join(empty, 'token.json')}`), result.stderr);
    assert.ok(result.stderr.includes(`fleet "${first.fleet}" (pid ${first.child.pid}, port ${first.port}): npm run token -- --state-dir ${first.stateDir}`), result.stderr);
    assert.equal(await exists(empty), false);
  });
});

describe('locks of an up that is gone', () => {
  test('are taken over, with a log line, and released on exit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-stale-'));
    const config = join(dir, 'models.yaml');
    await writeFile(config, CONFIG);
    const lockDir = join(dir, 'locks');
    const stateDir = join(dir, 'state');
    const fleet = uniqueFleet();
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const stale = { pid: deadPid, fleet, port: 1, config: '/gone/models.yaml', stateDir, startedAt: '2020-01-01T00:00:00.000Z' };
    await mkdir(lockDir);
    await mkdir(stateDir);
    await writeFile(join(lockDir, `${fleet}.json`), JSON.stringify(stale));
    await writeFile(join(stateDir, 'up.lock'), JSON.stringify(stale));

    const service = await runUp({ config, fleet, lockDir, stateDir });
    try {
      await service.waitHealthy();
      assert.match(service.output(), new RegExp(`taking over the stale lock .*${fleet}\\.json: pid ${deadPid} \\(fleet "${fleet}", started 2020-01-01T00:00:00\\.000Z\\) is no longer running`));
      assert.match(service.output(), /taking over the stale lock .*up\.lock/);
      assert.equal(JSON.parse(await readFile(join(lockDir, `${fleet}.json`), 'utf8')).pid, service.child.pid);
      assert.equal(await service.stop('SIGTERM'), 0);
      assert.equal(await exists(join(lockDir, `${fleet}.json`)), false);
      assert.equal(await exists(join(stateDir, 'up.lock')), false);
    } finally {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('down --fleet', () => {
  test('stops the running gateway of that fleet first, and says which fleet and state dir', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fleet-down-'));
    const config = join(dir, 'models.yaml');
    await writeFile(config, CONFIG);
    const service = await runUp({ config });
    try {
      await service.waitHealthy();
      const result = await runCli(['down', '--fleet', service.fleet, '--state-dir', service.stateDir]);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(result.stdout.includes(`fleet "${service.fleet}" (--fleet), state dir ${service.stateDir}: gateway pid ${service.child.pid} on port ${service.port}`), result.stdout);
      assert.match(result.stdout, new RegExp(`stopping the gateway of fleet "${service.fleet}" \\(pid ${service.child.pid}, port ${service.port}\\): sent SIGTERM`));
      assert.equal(await service.exited, 0, 'the up process exited cleanly');
      assert.equal(await exists(join(service.lockDir, `${service.fleet}.json`)), false);
    } finally {
      await service.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('accepts --config and --state-dir, and with nothing running says so for its fleet', async () => {
    const result = await runCli(['down', '--config', 'models.demo.yaml', '--state-dir', join(tmpdir(), 'fleet-no-such-state'), '--fleet', uniqueFleet()]);
    assert.doesNotMatch(result.stderr, /unknown option/);
    assert.match(result.stdout, /no gateway running/);
  });
});
