// Supervised deployments on a real Docker engine: the reconciler, the supervisors and the Docker
// driver as `up` composes them, with the simulator image standing in for TGI and the stand-in NVIDIA
// hook making GPU device requests work without GPUs (scripts/start-dockerd.sh).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import { RestartRecords } from '../../orchestrator/deployment/restart-records.ts';
import { log } from '../../orchestrator/log.ts';
import { containerHash } from '../../orchestrator/runtime/docker/container-spec.ts';
import { DockerDriver } from '../../orchestrator/runtime/docker/docker-driver.ts';
import { ControlPlane, states } from '../helpers/control-plane.ts';
import { waitFor } from '../helpers/wait.ts';
import { SIM_IMAGE, dockerSkipReason, ensureSimImage, removeFleetContainers } from './engine.ts';
import { testSpec, type TestSpecOptions } from './spec.ts';

log.level = process.env.LOG_LEVEL ?? 'warn';
const run = promisify(execFile);
const docker = new Dockerode();
const skip = await dockerSkipReason(docker);
const fleet = `test-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const SECRET = 'hf_test_secret_not_for_labels';

async function fleetContainers(model?: string): Promise<Dockerode.ContainerInfo[]> {
  const all = await docker.listContainers({ all: true, filters: { label: [`tgi-fleet.fleet=${fleet}`] } });
  return model ? all.filter((c) => c.Labels['tgi-fleet.model'] === model) : all;
}

describe('supervised deployments on Docker', { skip }, () => {
  let hfCache: string;
  let stateDir: string;
  let plane: ControlPlane;
  const spec = (options: Omit<TestSpecOptions, 'hfCache'>) => testSpec({ image: SIM_IMAGE, hfCache, ...options });
  let pinned: DeploymentSpec;

  before(async () => {
    await ensureSimImage(docker);
    hfCache = await mkdtemp(join(tmpdir(), 'fleet-hf-cache-'));
    stateDir = await mkdtemp(join(tmpdir(), 'fleet-state-'));
    plane = new ControlPlane(new DockerDriver({ docker, fleet, stopTimeoutSeconds: 2 }), RestartRecords.inStateDir(stateDir));
    pinned = spec({ model: 'pinned', gpus: [1], env: { SIM_LOAD_SECONDS: '1', SIM_TOKENS_PER_SECOND: '0', HF_TOKEN: SECRET } });
  });

  after(async () => {
    await plane?.close();
    await removeFleetContainers(docker, fleet);
    if (hfCache) await rm(hfCache, { recursive: true, force: true });
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test('start: a container pinned to GPU 1, published on 127.0.0.1 only, labelled with the hash of what was sent, ready', async () => {
    await plane.run(pinned);
    const served = plane.get('pinned/gpu1');
    const seen = states(served);
    const phases: string[] = [];
    served.on('phase', (phase: string) => phases.push(phase));
    assert.equal(await served.settled(), true, `failed: ${JSON.stringify(served.lastFailure)}`);
    assert.deepEqual(seen, ['creating', 'loading', 'ready']);
    assert.ok(phases.length > 0, 'a loading phase read from the container log');

    const info = await docker.getContainer(served.instanceId!).inspect();
    assert.equal(info.Name, `/tgi-${fleet}-pinned-gpu1`);
    assert.deepEqual(info.Config.Labels, {
      'tgi-fleet.managed': 'true',
      'tgi-fleet.fleet': fleet,
      'tgi-fleet.deployment': 'pinned/gpu1',
      'tgi-fleet.model': 'pinned',
      'tgi-fleet.gpus': '1',
      'tgi-fleet.config-hash': containerHash(pinned, fleet),
    });
    assert.deepEqual(info.HostConfig.DeviceRequests, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['1'], Capabilities: [['gpu']], Options: null }]);
    assert.equal(info.HostConfig.ShmSize, 64 * 1024 * 1024);
    assert.deepEqual(info.HostConfig.Binds, [`${hfCache}:/data`]);
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.deepEqual(info.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(served.upstream!.port) }] });
    assert.ok(info.Config.Env.includes(`HF_TOKEN=${SECRET}`) && info.Config.Env.includes('PORT=80'));
    assert.deepEqual(info.Config.Cmd, ['--model-id', 'sim/pinned', '--num-shard', '1', '--max-input-tokens', '1024', '--max-total-tokens', '2048']);
    assert.equal((info.Config as { StopTimeout?: number }).StopTimeout, 90);
    assert.equal(served.startedAt, Date.parse(info.State.StartedAt));

    const tgiInfo = (await (await fetch(`${served.upstream!.url}/info`)).json()) as { model_id: string; simulator: { nvidia_visible_devices: string } };
    assert.equal(tgiInfo.model_id, 'sim/pinned');
    assert.equal(tgiInfo.simulator.nvidia_visible_devices, '1');
    assert.deepEqual(served.tgiInfo, tgiInfo);

    const lines: string[] = [];
    for await (const line of plane.driver.logLines(served.instanceId!, { follow: false, tail: 50 })) lines.push(line);
    assert.ok(lines.some((line) => /Connected/.test(line)), `log lines: ${lines.join('\n')}`);
    assert.ok(!lines.some((line) => line.includes('\u0001') || line.includes('\u0000')), 'frame headers are stripped');
  });

  test('docker kill: down at once, started again (same container) and ready, one restart counted', async () => {
    const served = plane.get('pinned/gpu1');
    const id = served.instanceId;
    const seen = states(served);
    await docker.getContainer(id!).kill();
    await waitFor('ready again', () => served.state === 'ready' && seen.includes('down'));
    assert.deepEqual(seen, ['down', 'loading', 'ready']);
    assert.equal(served.restarts, 1);
    assert.equal(served.instanceId, id);
    assert.equal((await fetch(`${served.upstream!.url}/health`)).status, 200);
  });

  test('another `up` adopts it without restarting it, and keeps its restart count and start time', async () => {
    const served = plane.get('pinned/gpu1');
    const startedAt = (await docker.getContainer(served.instanceId!).inspect()).State.StartedAt;
    await plane.records.flushed();
    await plane.close();
    const later = new ControlPlane(new DockerDriver({ docker, fleet, stopTimeoutSeconds: 2 }), RestartRecords.inStateDir(stateDir));
    await later.run(pinned);
    const adopted = later.get('pinned/gpu1');
    assert.equal(await adopted.settled(), true);
    assert.equal(adopted.instanceId, served.instanceId);
    assert.deepEqual(adopted.upstream, served.upstream);
    assert.equal(adopted.restarts, 1, 'restart count survives adoption');
    assert.equal(adopted.startedAt, Date.parse(startedAt));
    assert.equal((adopted.tgiInfo as { model_id?: string } | undefined)?.model_id, 'sim/pinned');
    assert.equal((await docker.getContainer(adopted.instanceId!).inspect()).State.StartedAt, startedAt, 'not restarted');
    assert.equal((await fleetContainers()).length, 1);
    plane = later;
  });

  test('a crash: Docker restarts it by its policy, ready again, one restart counted', async () => {
    const crashy = spec({ model: 'crashy', gpus: [0], env: { SIM_LOAD_SECONDS: '0', SIM_CRASH_AFTER_REQUESTS: '0' } });
    await plane.run(pinned, crashy);
    const d = plane.get('crashy/gpu0');
    assert.equal(await d.settled(), true, `failed: ${JSON.stringify(d.lastFailure)}`);
    const seen = states(d);
    await fetch(`${d.upstream!.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hi"}' }).catch(() => undefined);
    await waitFor('ready again', () => d.state === 'ready' && seen.length >= 3);
    assert.deepEqual(seen, ['down', 'loading', 'ready']);
    assert.equal(d.restarts, 1);
    assert.equal((await docker.getContainer(d.instanceId!).inspect()).RestartCount, 1, 'restarted by its restart policy');
  });

  test('a crash loop (3 exits within 5 minutes): failed with its last log lines and a retry time, then retried and ready', async () => {
    const looping = spec({ model: 'looping', gpus: [3], env: { SIM_LOAD_SECONDS: '0' } });
    await plane.run(pinned, looping);
    const d = plane.get('looping/gpu3');
    assert.equal(await d.settled(), true, `failed: ${JSON.stringify(d.lastFailure)}`);
    const first = d.instanceId!;
    for (let exit = 1; exit <= 3; exit++) {
      await docker.getContainer(d.instanceId!).kill();
      if (exit < 3) await waitFor(`ready after exit ${exit}`, () => d.state === 'ready' && d.restarts === exit);
    }
    await waitFor('failed', () => d.state === 'failed');
    assert.equal(d.restarts, 3);
    assert.equal(d.attempts, 1);
    assert.ok(d.nextRetryAt && d.nextRetryAt > Date.now() - 1000, 'a retry is scheduled');
    assert.match(d.lastFailure!.message, /crash loop: container \S+ exited 3 times within 5 minutes \(last: exit code 137\)/);
    assert.ok(d.lastFailure!.logTail.some((line) => /Connected/.test(line)), `log tail: ${d.lastFailure!.logTail.join('\n')}`);
    await waitFor('retried and ready', () => d.state === 'ready');
    assert.equal(d.attempts, 0);
    assert.notEqual(d.instanceId, first, 'the retry starts a fresh container');
    assert.equal((await fleetContainers('looping')).length, 1);
  });

  test('removed from outside (docker rm -f): a new container is made and becomes ready', async () => {
    const d = plane.get('looping/gpu3');
    const old = d.instanceId!;
    await docker.getContainer(old).remove({ force: true });
    await waitFor('a new container, ready', () => d.state === 'ready' && d.instanceId !== old, 40_000);
    assert.equal((await fleetContainers('looping')).length, 1);
  });

  test('a same-named container left by an earlier run of this fleet is replaced; one that is not ours is left alone, with a clear failure', async () => {
    const staleSpec = spec({ model: 'stale', gpus: [0], env: { SIM_LOAD_SECONDS: '0' } });
    const stale = await docker.createContainer({ name: `tgi-${fleet}-stale-gpu0`, Image: SIM_IMAGE, Labels: { 'tgi-fleet.managed': 'true', 'tgi-fleet.fleet': fleet, 'tgi-fleet.deployment': 'stale/gpu0' } });
    const name = `tgi-${fleet}-foreign-gpu2`;
    const foreign = await docker.createContainer({ name, Image: SIM_IMAGE });
    try {
      await plane.run(pinned, staleSpec, spec({ model: 'foreign', gpus: [2] }));
      const d = plane.get('stale/gpu0');
      assert.equal(await d.settled(), true, `failed: ${JSON.stringify(d.lastFailure)}`);
      assert.notEqual(d.instanceId, stale.id);
      await assert.rejects(stale.inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
      const f = plane.get('foreign/gpu2');
      assert.equal(await f.settled(), false);
      assert.match(f.lastFailure!.message, new RegExp(`a container named ${name} already exists and is not one of this fleet's: remove it \\(docker rm -f ${name}\\)`));
      assert.equal((await foreign.inspect()).Id, foreign.id);
    } finally {
      await foreign.remove({ force: true });
    }
  });

  test('a server that crashes while loading: failed with its log lines and a diagnosis, no container left, retried with backoff', async () => {
    await plane.run(pinned, spec({ model: 'crashing', gpus: [2], env: { SIM_LOAD_SECONDS: '0', SIM_CRASH_ON_LOAD: '1' } }));
    const d = plane.get('crashing/gpu2');
    assert.equal(await d.settled(), false);
    const failure = d.lastFailure!;
    assert.match(failure.message, /exited \(exit code [1-9]\d*\) while loading/);
    assert.match(failure.diagnosis ?? '', /out of memory/i);
    assert.ok(failure.logTail.some((line) => /out of memory/i.test(line)), `log tail: ${failure.logTail.join('\n')}`);
    assert.ok(d.nextRetryAt, 'out of memory may pass (another process freed the GPU): retried');
    await waitFor('no container left', async () => (await fleetContainers('crashing')).length === 0 || d.state !== 'failed');
    await waitFor('a second failed attempt', () => d.attempts >= 2);
  });

  test('pull: never with an image the engine does not have: failed, waiting for an edit (no retry)', async () => {
    const image = `tgi-fleet-absent-${fleet}:none`;
    await plane.run(pinned, spec({ model: 'absent', gpus: [3], image, pull: 'never' }));
    const d = plane.get('absent/gpu3');
    assert.equal(await d.settled(), false);
    assert.match(d.lastFailure!.message, new RegExp(`image ${image} is not on the Docker engine and pull: never forbids pulling it`));
    assert.equal(d.nextRetryAt, undefined);
    assert.equal((await fleetContainers('absent')).length, 0);
  });

  test('a passing failure (the image cannot be pulled yet) heals by itself: retried with backoff until ready, no edit', async () => {
    const image = `localhost:1/tgi-fleet-later-${fleet}:v1`;
    await plane.run(pinned, spec({ model: 'later', gpus: [0], image, pull: 'missing' }));
    const d = plane.get('later/gpu0');
    const seen = states(d);
    assert.equal(await d.settled(), false);
    assert.match(d.lastFailure!.message, new RegExp(`pulling image ${image} failed`));
    assert.ok(d.nextRetryAt, 'retry scheduled');
    await run('docker', ['tag', SIM_IMAGE, image]);
    try {
      await waitFor('ready on its own', () => d.state === 'ready', 40_000);
      assert.ok(seen.includes('pending'), `retried: ${seen.join(' → ')}`);
      assert.equal(d.attempts, 0);
    } finally {
      await run('docker', ['rmi', '--no-prune', image]).catch(() => undefined);
    }
  });

  test('removal from models.yaml: drained, stopped, container removed; an unknown container of this fleet is removed too', async () => {
    const stray = await docker.createContainer({ name: `tgi-${fleet}-stray-gpu7`, Image: SIM_IMAGE, Labels: { 'tgi-fleet.managed': 'true', 'tgi-fleet.fleet': fleet, 'tgi-fleet.deployment': 'stray/gpu7' } });
    const d = plane.get('pinned/gpu1');
    const seen = states(d);
    await plane.run();
    await waitFor('stopped', () => d.state === 'stopped');
    assert.deepEqual(seen, ['draining', 'stopped']);
    await waitFor('no containers left', async () => (await fleetContainers()).length === 0);
    await assert.rejects(stray.inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
  });
});
