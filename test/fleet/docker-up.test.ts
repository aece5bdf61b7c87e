// `npm run up` on Docker, end to end, as an operator runs it: a real engine, the simulator image
// tgi-sim:local standing in for TGI, a stand-in nvidia-smi (4 GPUs) on the PATH, and the gateway.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { dockerSkipReason } from '../docker/engine.ts';
import { ROOT } from '../helpers/sim.ts';
import { runCli, runUp, uniqueFleet, type RunningUp } from '../helpers/up.ts';
import { waitFor } from '../helpers/wait.ts';

const run = promisify(execFile);
const docker = new Dockerode();
const skip = await dockerSkipReason(docker);

const suffix = Date.now().toString(36);
const ALPHA = `alpha-${suffix}`;
const BETA = `beta-${suffix}`;
const FLEET = uniqueFleet();
const env = { PATH: `${join(ROOT, 'test/fixtures/bin')}:${process.env.PATH}` };

function modelsYaml(options: { betaGreeting?: string; extra?: string } = {}): string {
  return `
gateway:
  drain_timeout: 20s
defaults:
  image: tgi-sim:local
  pull: never
  shm_size: 256m
  env:
    SIM_LOAD_SECONDS: "1"
    SIM_TOKENS_PER_SECOND: "20"
models:
  - name: ${ALPHA}
    model_id: sim/alpha
    gpus: [0, 1]
    max_input_tokens: 1024
    max_total_tokens: 2048
  - name: ${BETA}
    model_id: sim/beta
    gpus: [2]
    env:
      GREETING: "${options.betaGreeting ?? 'hello'}"
${options.extra ?? ''}`;
}

async function ourContainers(): Promise<Dockerode.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: ['tgi-fleet.managed=true', `tgi-fleet.fleet=${FLEET}`] } });
}

async function idsByDeployment(): Promise<Record<string, string>> {
  return Object.fromEntries((await ourContainers()).map((c) => [c.Labels['tgi-fleet.deployment'], c.Id]));
}

describe('up on Docker', { skip }, () => {
  let dir: string;
  let config: string;
  let stateDir: string;
  let service: RunningUp;

  before(async () => {
    await run('bash', [join(ROOT, 'scripts/build-sim-image.sh')], { cwd: ROOT });
    dir = await mkdtemp(join(tmpdir(), 'fleet-docker-'));
    config = join(dir, 'models.yaml');
    stateDir = join(dir, 'state');
    await writeFile(config, modelsYaml());
    service = await runUp({ config, env, stateDir, fleet: FLEET });
    await service.waitHealthy(90_000);
  });

  after(async () => {
    await service?.stop();
    await runCli(['down', '--fleet', FLEET, '--state-dir', stateDir], env);
    for (const c of await ourContainers()) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('prints the token on a line of its own and the routes', () => {
    assert.match(service.output(), new RegExp(`^VALID_TOKEN=${service.token}$`, 'm'));
    for (const route of [`/${ALPHA}/gpu0`, `/${ALPHA}/gpu1`, `/${BETA}/gpu2`]) assert.ok(service.output().includes(route), route);
  });

  test('one container per replica, pinned to its GPU, published on 127.0.0.1 only, with shm, binds, labels and env', async () => {
    const containers = await ourContainers();
    assert.equal(containers.length, 3);
    for (const [route, gpu] of [[`${ALPHA}/gpu0`, '0'], [`${ALPHA}/gpu1`, '1'], [`${BETA}/gpu2`, '2']]) {
      const info = await (await service.fetch(`/${route}/info`)).json();
      assert.equal(info.simulator.nvidia_visible_devices, gpu, `${route} sees GPU ${gpu}`);
      const summary = containers.find((c) => c.Labels['tgi-fleet.deployment'] === route)!;
      const inspect = await docker.getContainer(summary.Id).inspect();
      assert.equal(inspect.Name, `/tgi-${FLEET}-${route.replace('/', '-')}`);
      assert.equal(inspect.Config.Labels['tgi-fleet.fleet'], FLEET);
      assert.deepEqual(inspect.HostConfig.DeviceRequests?.map((r) => r.DeviceIDs), [[gpu]]);
      assert.equal(inspect.HostConfig.ShmSize, 256 * 1024 * 1024);
      assert.equal(inspect.HostConfig.RestartPolicy?.Name, 'unless-stopped');
      assert.ok(inspect.HostConfig.Binds?.some((b) => b.endsWith(':/data')));
      const bindings = Object.values(inspect.HostConfig.PortBindings ?? {}).flat() as Array<{ HostIp: string }>;
      assert.ok(bindings.length > 0 && bindings.every((b) => b.HostIp === '127.0.0.1'));
      assert.match(inspect.Config.Labels['tgi-fleet.config-hash'], /^[0-9a-f]{16,}$/);
      assert.ok(inspect.Config.Env.includes('SIM_TOKENS_PER_SECOND=20'));
      assert.ok(!JSON.stringify(inspect.Config.Labels).includes('SIM_'), 'no env in labels');
    }
    const beta = await docker.getContainer(containers.find((c) => c.Labels['tgi-fleet.model'] === BETA)!.Id).inspect();
    assert.ok(beta.Config.Env.includes('GREETING=hello'));
  });

  test('requests through the gateway reach the right container', async () => {
    for (const route of [`${ALPHA}/gpu0`, `${ALPHA}/gpu1`, `${BETA}/gpu2`]) {
      const res = await service.fetch(`/${route}/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Hello', parameters: { max_new_tokens: 3 } }) });
      assert.equal(res.status, 200);
      assert.equal(typeof (await res.json()).generated_text, 'string');
    }
    const info = await (await service.fetch('/info')).json();
    const upstreams = JSON.stringify(info);
    assert.match(upstreams, /http:\/\/127\.0\.0\.1:\d+/);
  });

  test('a second up adopts the running containers: same ids, no reload', async () => {
    const before = await idsByDeployment();
    assert.equal(await service.stop('SIGTERM'), 0);
    assert.match(service.output(), /npm run down/);
    assert.deepEqual(await idsByDeployment(), before, 'containers keep running after up exits');
    service = await runUp({ config, env, stateDir, fleet: FLEET });
    await service.waitHealthy(30_000);
    assert.deepEqual(await idsByDeployment(), before);
    await service.waitForOutput(/all 3 deployment\(s\) ready/);
    assert.match(service.output(), /reconcile: adopt/);
    assert.doesNotMatch(service.output(), /reconcile: (start|replace)/);
  });

  test('a second up of the running fleet refuses and leaves its containers alone', async () => {
    const before = await idsByDeployment();
    const second = await runUp({ config, env, fleet: FLEET });
    assert.notEqual(await second.exited, 0);
    assert.match(second.output(), new RegExp(`fleet "${FLEET}" is already running \\(pid ${service.child.pid}, gateway port ${service.port}`));
    assert.deepEqual(await idsByDeployment(), before);
    assert.equal((await fetch(`${service.url}/health`)).status, 200);
  });

  test('editing models.yaml replaces only the changed deployment while a stream on an unchanged one completes; an invalid edit changes nothing', async () => {
    const before = await idsByDeployment();
    const stream = service.fetch(`/${ALPHA}/gpu0/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'a long story', parameters: { max_new_tokens: 60 }, stream: true }) }).then(async (res) => ({ status: res.status, text: await res.text() }));

    await writeFile(config, modelsYaml({ betaGreeting: 'bonjour' }));
    const betaKey = `${BETA}/gpu2`;
    await waitFor('beta replaced', async () => { const ids = await idsByDeployment(); return ids[betaKey] && ids[betaKey] !== before[betaKey]; });
    await service.waitHealthy(60_000);
    const after = await idsByDeployment();
    assert.equal(after[`${ALPHA}/gpu0`], before[`${ALPHA}/gpu0`]);
    assert.equal(after[`${ALPHA}/gpu1`], before[`${ALPHA}/gpu1`]);
    const { status, text } = await stream;
    assert.equal(status, 200);
    const events = text.split('\n').filter((l) => l.startsWith('data:'));
    assert.equal(events.length, 60, 'the stream on the unchanged deployment ran to the end');
    assert.ok(!text.includes('"error"'));

    await writeFile(config, modelsYaml({ extra: '  - name: v1\n    model_id: x\n    gpus: [9]\n' }));
    await service.waitForOutput(/invalid; the running configuration keeps serving/, 10_000);
    assert.deepEqual(await idsByDeployment(), after);
    assert.equal((await fetch(`${service.url}/health`)).status, 200);
  });

  test('docker kill: 503 on its route, failover on the balanced route, then recovery', async () => {
    const ids = await idsByDeployment();
    const body = JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } });
    const post = (path: string) => service.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await docker.getContainer(ids[`${ALPHA}/gpu0`]).kill();
    const refused = await waitFor('503 on the killed route', async () => { const r = await post(`/${ALPHA}/gpu0/generate`); return r.status === 503 ? r : undefined; }, 10_000);
    assert.ok(refused.headers.get('retry-after'));
    for (let i = 0; i < 4; i++) assert.equal((await post(`/${ALPHA}/generate`)).status, 200, 'balanced route fails over to gpu1');
    await waitFor('gpu0 back', async () => (await post(`/${ALPHA}/gpu0/generate`)).status === 200, 60_000);
    const metrics = await (await service.fetch('/metrics')).text();
    assert.match(metrics, new RegExp(`deployment_restarts_total\\{[^}]*model="${ALPHA}"[^}]*gpu="gpu0"[^}]*\\} 1`));
  });

  test('a server that crashes while loading is reported as failed with its log lines and a diagnosis', async () => {
    await writeFile(config, modelsYaml({ extra: `  - name: gamma-${suffix}\n    model_id: sim/gamma\n    gpus: [3]\n    env:\n      SIM_CRASH_ON_LOAD: "1"\n` }));
    const line = await service.waitForOutput(new RegExp(`gamma-${suffix}/gpu3: \\w+ → failed[^\\n]*`), 60_000);
    assert.match(line, /out of memory/i);
    await service.waitForOutput(/last log lines:[\s\S]*(OutOfMemoryError|Shard 0 failed to start)/, 10_000);
    const health = await fetch(`${service.url}/health`);
    assert.equal(health.status, 503);
    assert.match(await health.text(), new RegExp(`gamma-${suffix}/gpu3`));
  });

  test('down stops the running up first, then leaves no container behind', async () => {
    const { code, stdout, stderr } = await runCli(['down', '--fleet', FLEET, '--state-dir', stateDir], env);
    assert.equal(code, 0, stderr);
    assert.match(stdout, new RegExp(`fleet "${FLEET}" \\(--fleet\\), state dir .*: gateway pid ${service.child.pid} on port ${service.port}`));
    assert.match(stdout, /sent SIGTERM[\s\S]*has stopped[\s\S]*removed/);
    assert.equal(await service.exited, 0);
    assert.deepEqual(await ourContainers(), []);
    assert.ok((await readFile(join(stateDir, 'token.json'), 'utf8')).includes(service.token));
  });
});
