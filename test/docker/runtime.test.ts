// The docker runtime against a real engine, with the simulator image standing in for TGI and the
// stand-in NVIDIA hook making GPU device requests work without GPUs (scripts/start-dockerd.sh).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Dockerode from 'dockerode';
import { Deployment } from '../../orchestrator/deployment/deployment.ts';
import type { DeploymentState } from '../../orchestrator/deployment/state.ts';
import { DockerRuntime } from '../../orchestrator/runtime/docker/docker-runtime.ts';
import { SIM_IMAGE, dockerSkipReason, ensureSimImage, removeFleetContainers } from './engine.ts';
import { testSpec, type TestSpecOptions } from './spec.ts';

const docker = new Dockerode();
const skip = await dockerSkipReason(docker);
const fleet = `test-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const SECRET = 'hf_test_secret_not_for_labels';

function states(d: Deployment): DeploymentState[] {
  const seen: DeploymentState[] = [];
  d.on('state', (change: { to: DeploymentState }) => seen.push(change.to));
  return seen;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fleetContainers(): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`tgi-fleet.fleet=${fleet}`] } });
}

describe('docker runtime', { skip }, () => {
  let hfCache: string;
  let runtime: DockerRuntime;
  let served: Deployment;
  const spec = (options: Omit<TestSpecOptions, 'hfCache'>) => testSpec({ image: SIM_IMAGE, hfCache, ...options });

  before(async () => {
    await ensureSimImage(docker);
    hfCache = await mkdtemp(join(tmpdir(), 'fleet-hf-cache-'));
    runtime = new DockerRuntime({ docker, fleet, stopTimeoutSeconds: 2 });
  });

  after(async () => {
    await runtime?.close();
    await removeFleetContainers(docker, fleet);
    if (hfCache) await rm(hfCache, { recursive: true, force: true });
  });

  test('start: a container pinned to GPU 1, published on 127.0.0.1 only, labelled, ready', async () => {
    served = new Deployment(spec({ model: 'pinned', gpus: [1], env: { SIM_LOAD_SECONDS: '1', SIM_TOKENS_PER_SECOND: '0', HF_TOKEN: SECRET } }));
    const seen = states(served);
    const phases: string[] = [];
    served.on('phase', (phase: string) => phases.push(phase));

    await runtime.start(served);

    assert.equal(served.state, 'ready', `failed: ${JSON.stringify(served.lastFailure)}`);
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
      'tgi-fleet.config-hash': served.spec.configHash,
    });
    assert.deepEqual(info.HostConfig.DeviceRequests, [{ Driver: 'nvidia', Count: 0, DeviceIDs: ['1'], Capabilities: [['gpu']], Options: null }]);
    assert.equal(info.HostConfig.ShmSize, 64 * 1024 * 1024);
    assert.deepEqual(info.HostConfig.Binds, [`${hfCache}:/data`]);
    assert.deepEqual(info.HostConfig.RestartPolicy, { Name: 'unless-stopped', MaximumRetryCount: 0 });
    assert.deepEqual(info.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(served.upstream!.port) }] });
    assert.deepEqual(info.NetworkSettings.Ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(served.upstream!.port) }]);
    assert.ok(info.Config.Env.includes(`HF_TOKEN=${SECRET}`) && info.Config.Env.includes('PORT=80'));
    assert.deepEqual(info.Config.Cmd, ['--model-id', 'sim/pinned', '--num-shard', '1', '--max-input-tokens', '1024', '--max-total-tokens', '2048']);
    assert.equal((info.Config as { StopTimeout?: number }).StopTimeout, 90);

    assert.equal(served.upstream!.url, `http://127.0.0.1:${served.upstream!.port}`);
    const tgiInfo = (await (await fetch(`${served.upstream!.url}/info`)).json()) as { model_id: string; simulator: { nvidia_visible_devices: string } };
    assert.equal(tgiInfo.model_id, 'sim/pinned');
    assert.equal(tgiInfo.simulator.nvidia_visible_devices, '1');
    assert.deepEqual(served.tgiInfo, tgiInfo);

    const lines: string[] = [];
    for await (const line of runtime.logs(served, { follow: false, tail: 50 })) lines.push(line);
    assert.ok(lines.some((line) => /Connected/.test(line)), `log lines: ${lines.join('\n')}`);
    assert.ok(!lines.some((line) => line.includes('\u0001') || line.includes('\u0000')), 'frame headers are stripped');
  });

  test('discover finds it; a new runtime adopts it without restarting it', async () => {
    const instances = await runtime.discover();
    assert.equal(instances.length, 1);
    const [instance] = instances;
    assert.equal(instance.key, 'pinned/gpu1');
    assert.equal(instance.configHash, served.spec.configHash);
    assert.equal(instance.id, served.instanceId);
    assert.equal(instance.running, true);
    assert.deepEqual(instance.upstream, served.upstream);

    const startedAt = (await docker.getContainer(instance.id).inspect()).State.StartedAt;
    const later = new DockerRuntime({ docker, fleet, stopTimeoutSeconds: 2 });
    try {
      const adopted = new Deployment(served.spec);
      await later.adopt(adopted, instance);
      assert.equal(adopted.state, 'ready');
      assert.equal(adopted.instanceId, instance.id);
      assert.deepEqual(adopted.upstream, served.upstream);
      assert.equal((adopted.tgiInfo as { model_id?: string } | undefined)?.model_id, 'sim/pinned');
    } finally {
      await later.close();
    }
    const after = await docker.getContainer(instance.id).inspect();
    assert.equal(after.State.StartedAt, startedAt, 'not restarted');
    assert.equal((await fleetContainers()).length, 1);
  });

  test('docker kill: down at once, then started again and ready, one restart counted', async () => {
    const seen = states(served);
    await docker.getContainer(served.instanceId!).kill();
    await waitFor('down after the kill', () => seen.includes('down'));
    await waitFor('ready again', () => served.state === 'ready' && seen.length >= 3);
    assert.deepEqual(seen, ['down', 'loading', 'ready']);
    assert.equal(served.restarts, 1);
    assert.equal((await fetch(`${served.upstream!.url}/health`)).status, 200);
  });

  test('a crash: down at once, Docker restarts it, ready again', async () => {
    const crashy = new Deployment(spec({ model: 'crashy', gpus: [0], env: { SIM_LOAD_SECONDS: '0', SIM_CRASH_AFTER_REQUESTS: '0' } }));
    await runtime.start(crashy);
    assert.equal(crashy.state, 'ready', `failed: ${JSON.stringify(crashy.lastFailure)}`);
    const seen = states(crashy);
    await fetch(`${crashy.upstream!.url}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"inputs":"hi"}' }).catch(() => undefined);
    await waitFor('ready again', () => crashy.state === 'ready' && seen.length >= 3);
    assert.deepEqual(seen, ['down', 'loading', 'ready']);
    assert.equal(crashy.restarts, 1);
    const info = await docker.getContainer(crashy.instanceId!).inspect();
    assert.equal(info.RestartCount, 1, 'restarted by its restart policy');
    await runtime.stop(crashy);
  });

  test('a crash loop (3 exits within 5 minutes): failed with its last log lines, container stopped', async () => {
    const looping = new Deployment(spec({ model: 'looping', gpus: [3], env: { SIM_LOAD_SECONDS: '0' } }));
    await runtime.start(looping);
    assert.equal(looping.state, 'ready', `failed: ${JSON.stringify(looping.lastFailure)}`);
    for (let exit = 1; exit <= 3; exit++) {
      await docker.getContainer(looping.instanceId!).kill();
      if (exit < 3) await waitFor(`ready after exit ${exit}`, () => looping.state === 'ready' && looping.restarts === exit);
    }
    await waitFor('failed', () => looping.state === 'failed');
    assert.equal(looping.restarts, 3);
    assert.match(looping.lastFailure!.message, /crash loop: container \S+ exited 3 times within 5 minutes \(last: exit code 137\)/);
    assert.ok(looping.lastFailure!.logTail.some((line) => /Connected/.test(line)), `log tail: ${looping.lastFailure!.logTail.join('\n')}`);
    await waitFor('the container stopped', async () => {
      const { State } = await docker.getContainer(looping.instanceId!).inspect();
      return !State.Running && !State.Restarting;
    });
    await runtime.stop(looping);
    assert.equal((await fleetContainers()).filter((c) => c.Labels['tgi-fleet.model'] === 'looping').length, 0);
  });

  test('a same-named container left by an earlier run of this fleet is replaced', async () => {
    const staleSpec = spec({ model: 'stale', gpus: [0], env: { SIM_LOAD_SECONDS: '0' } });
    const stale = await docker.createContainer({ name: `tgi-${fleet}-stale-gpu0`, Image: SIM_IMAGE, Labels: { 'tgi-fleet.managed': 'true', 'tgi-fleet.fleet': fleet } });
    const d = new Deployment(staleSpec);
    await runtime.start(d);
    assert.equal(d.state, 'ready', `failed: ${JSON.stringify(d.lastFailure)}`);
    assert.notEqual(d.instanceId, stale.id);
    await assert.rejects(stale.inspect(), (error: { statusCode?: number }) => error.statusCode === 404);
    await runtime.stop(d);
  });

  test('a same-named container that is not ours is left alone and the deployment fails saying so', async () => {
    const name = `tgi-${fleet}-foreign-gpu0`;
    const foreign = await docker.createContainer({ name, Image: SIM_IMAGE });
    try {
      const d = new Deployment(spec({ model: 'foreign', gpus: [0] }));
      await runtime.start(d);
      assert.equal(d.state, 'failed');
      assert.match(d.lastFailure!.message, new RegExp(`a container named ${name} already exists and is not one of this fleet's: remove it \\(docker rm -f ${name}\\)`));
      assert.equal((await foreign.inspect()).Id, foreign.id);
    } finally {
      await foreign.remove({ force: true });
    }
  });

  test('a server that crashes while loading: failed, with its log lines and a diagnosis; no container left', async () => {
    const crashing = new Deployment(spec({ model: 'crashing', gpus: [2], env: { SIM_LOAD_SECONDS: '0', SIM_CRASH_ON_LOAD: '1' } }));
    const seen = states(crashing);
    await runtime.start(crashing);
    assert.equal(crashing.state, 'failed');
    assert.deepEqual(seen, ['creating', 'loading', 'failed']);
    const failure = crashing.lastFailure!;
    assert.match(failure.message, /exited \(exit code [1-9]\d*\) while loading/);
    assert.match(failure.diagnosis ?? '', /out of memory/i);
    assert.ok(failure.logTail.some((line) => /out of memory/i.test(line)), `log tail: ${failure.logTail.join('\n')}`);
    const left = (await fleetContainers()).filter((c) => c.Labels['tgi-fleet.model'] === 'crashing');
    assert.deepEqual(left, []);
  });

  test('pull: never with an image the engine does not have: failed with a clear message', async () => {
    const image = `tgi-fleet-absent-${fleet}:none`;
    const missing = new Deployment(spec({ model: 'absent', gpus: [3], image, pull: 'never' }));
    await runtime.start(missing);
    assert.equal(missing.state, 'failed');
    assert.match(missing.lastFailure!.message, new RegExp(`image ${image} is not on the Docker engine and pull: never forbids pulling it`));
    assert.equal((await fleetContainers()).filter((c) => c.Labels['tgi-fleet.model'] === 'absent').length, 0);
  });

  test('a pull that fails: pulling, then failed with the daemon\'s reason', async () => {
    const image = `localhost:1/tgi-fleet-${fleet}:none`;
    const unpullable = new Deployment(spec({ model: 'unpullable', gpus: [3], image, pull: 'always' }));
    const seen = states(unpullable);
    await runtime.start(unpullable);
    assert.deepEqual(seen, ['pulling', 'failed']);
    assert.match(unpullable.lastFailure!.message, new RegExp(`pulling image ${image} failed: .*connection refused`));
  });

  test('stop removes the container, and stopping again is fine', async () => {
    await runtime.stop(served);
    assert.deepEqual(await fleetContainers(), []);
    await runtime.stop(served);
  });
});
