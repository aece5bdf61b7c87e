// The operator's commands around a simulator-only fleet (no Docker needed): up, hot reload,
// SIGHUP, token rotation, status, logs, validate, and a clean Ctrl-C.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/sim.ts';
import { runCli as cli, runUp, stopAndRemove, upOnConfig, type RunningUp } from '../helpers/up.ts';

const yaml = (models: string) => `
gateway:
  drain_timeout: 5s
defaults:
  runtime: simulator
  simulator: { load_seconds: 0, tokens_per_second: 0 }
models:
${models}`;
const ONE = '  - name: one\n    model_id: sim/one\n    gpus: [0]\n';
const TWO = '  - name: two\n    model_id: sim/two\n    gpus: [1]\n';

const generate = (service: RunningUp, route: string, token = service.token) =>
  fetch(`${service.url}/${route}/generate`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } }) });

describe('validate', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'fleet-cli-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('the shipped models.yaml is valid on a 4-GPU host', async () => {
    const result = await cli(['validate', '--config', 'models.yaml'], { PATH: `${join(ROOT, 'test/fixtures/bin')}:${process.env.PATH}` });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /\/hermes-2-pro-tgi\/gpu1/);
    assert.match(result.stdout, /is valid: 3 deployment/);
  });

  test('an invalid file exits 1 naming file, line, key and a hint', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, yaml('  - name: one\n    model_id: sim/one\n    gpus: [0]\n    max_new_tokenz: 5\n'));
    const result = await cli(['validate', '--config', file]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /bad\.yaml:11:\d+ models\[0\]\.max_new_tokenz/);
  });

  test('up with an invalid file starts nothing and exits 1', async () => {
    const file = join(dir, 'reserved.yaml');
    await writeFile(file, yaml('  - name: v1\n    model_id: sim/one\n    gpus: [0]\n'));
    const service = await runUp({ config: file });
    assert.equal(await service.exited, 1);
    assert.match(service.output(), /cannot be run; nothing was started/);
    assert.match(service.output(), /reserved\.yaml:\d+:\d+ models\[0\]\.name/);
  });
});

describe('up with simulators', () => {
  let dir: string;
  let config: string;
  let service: RunningUp;

  before(async () => {
    ({ dir, config, service } = await upOnConfig('fleet-cli-', yaml(ONE)));
  });
  after(() => stopAndRemove(service, dir));

  test('an edit adds a deployment without touching the running one; an invalid edit changes nothing', async () => {
    const pidOf = async (route: string) => (await (await service.fetch(`/${route}/info`)).json()).simulator.pid;
    const onePid = await pidOf('one/gpu0');
    await writeFile(config, yaml(ONE + TWO));
    await service.waitForOutput(/two\/gpu1: loading → ready/);
    assert.equal((await generate(service, 'two/gpu1')).status, 200);
    assert.equal(await pidOf('one/gpu0'), onePid, 'the unchanged deployment kept its process');

    await writeFile(config, yaml(ONE + TWO + '  - name: three\n    gpus: [2]\n'));
    await service.waitForOutput(/invalid; the running configuration keeps serving[\s\S]*model_id/);
    assert.equal((await generate(service, 'one/gpu0')).status, 200);
    assert.equal((await generate(service, 'two/gpu1')).status, 200);
  });

  test('removing an entry drains and removes its route', async () => {
    await writeFile(config, yaml(ONE));
    await service.waitForOutput(/two\/gpu1: draining → stopped/);
    const res = await generate(service, 'two/gpu1');
    assert.equal(res.status, 404);
    assert.match((await res.json()).error.message, /one\/gpu0/);
  });

  test('SIGHUP reloads the file', async () => {
    service.child.kill('SIGHUP');
    await service.waitForOutput(/reload \(SIGHUP\): no changes/);
  });

  test('status and logs show the running deployments', async () => {
    const status = await cli(['status', '--fleet', service.fleet, '--state-dir', service.stateDir]);
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.stdout.includes(`fleet "${service.fleet}" (--fleet), state dir ${service.stateDir}: gateway pid ${service.child.pid} on port ${service.port}`), status.stdout);
    assert.match(status.stdout, /one\/gpu0\s+tgi\s+pid \d+\s+0\s+\d+\s+ready\s+\d+s/);
    const logs = await cli(['logs', 'one/gpu0', '--fleet', service.fleet, '--state-dir', service.stateDir]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /Connected/);
    assert.match(logs.stderr, new RegExp(`fleet "${service.fleet}"`));
    const bad = await cli(['logs', 'nonsense', '--fleet', service.fleet, '--state-dir', service.stateDir]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /use <model>\/gpu<N>/);
  });

  test('token prints the token; --rotate makes a new one while the old one keeps working', async () => {
    const printed = await cli(['token', '--state-dir', service.stateDir]);
    assert.equal(printed.stdout.trim(), `VALID_TOKEN=${service.token}`);
    const rotated = await cli(['token', '--rotate', '--state-dir', service.stateDir]);
    const fresh = rotated.stdout.trim().replace('VALID_TOKEN=', '');
    assert.notEqual(fresh, service.token);
    assert.match(fresh, /^[\w-]{32}$/);
    for (let i = 0; i < 40 && (await generate(service, 'one/gpu0', fresh)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await generate(service, 'one/gpu0', fresh)).status, 200, 'the new token works');
    assert.equal((await generate(service, 'one/gpu0', service.token)).status, 200, 'the old one too, during its grace period');
    assert.equal((await generate(service, 'one/gpu0', 'not-the-token')).status, 401);
  });

  test('SIGTERM drains and exits 0, taking its simulators with it', async () => {
    const pid = (await (await service.fetch('/one/gpu0/info')).json()).simulator.pid as number;
    assert.equal(await service.stop('SIGTERM'), 0);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    assert.equal(service.output().split(service.token).length - 1, 1, 'the token is printed once, in the VALID_TOKEN line, and never logged');
  });
});
