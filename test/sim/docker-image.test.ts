import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { ROOT } from '../helpers/sim.ts';
import { postJson, send } from './fixtures.ts';

const run = promisify(execFile);
const IMAGE = 'tgi-sim:local';

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { timeout: 120_000 })).stdout.trim();
}

const dockerReachable = await docker('info', '--format', '{{.ServerVersion}}').then(
  () => true,
  () => false,
);
const skip = !dockerReachable && process.env.CI !== 'true' ? 'Docker is not reachable (start dockerd to run this test)' : false;

describe('the tgi-sim:local image', { skip }, () => {
  const containers: string[] = [];

  before(async () => {
    const { stdout } = await run('bash', ['scripts/build-sim-image.sh'], { cwd: ROOT, timeout: 300_000 });
    assert.match(stdout.trim(), /^sha256:[0-9a-f]{64}$/, 'the script prints the image id');
    assert.equal(stdout.trim(), await docker('image', 'inspect', IMAGE, '--format', '{{.Id}}'));
  });

  after(async () => {
    if (containers.length) await docker('rm', '--force', ...containers).catch(() => {});
  });

  /** Runs the image like the TGI image, pinned with a device request, published on loopback only. */
  async function start(gpus: string, args: string[]): Promise<{ id: string; url: string }> {
    const id = await docker('run', '--detach', '--gpus', gpus, '--publish', '127.0.0.1::80', '--env', 'SIM_LOAD_SECONDS=0', '--env', 'SIM_TOKENS_PER_SECOND=0', '--label', 'tgi-fleet.test=sim-image', IMAGE, ...args);
    containers.push(id);
    const port = Number((await docker('port', id, '80/tcp')).split('\n')[0].split(':').at(-1));
    const upstream = { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` };
    await waitUntilHealthy(upstream, AbortSignal.timeout(30_000), 100);
    return { id, url: upstream.url };
  }

  test('builds again in place with the same id (idempotent)', async () => {
    const { stdout } = await run('bash', ['scripts/build-sim-image.sh'], { cwd: ROOT, timeout: 300_000 });
    assert.equal(stdout.trim(), await docker('image', 'inspect', IMAGE, '--format', '{{.Id}}'));
  });

  test('is FROM scratch with PORT=80, HF_HOME=/data and port 80 exposed', async () => {
    const config = JSON.parse(await docker('image', 'inspect', IMAGE, '--format', '{{json .Config}}'));
    assert.ok(config.Env.includes('PORT=80'));
    assert.ok(config.Env.includes('HF_HOME=/data'));
    assert.deepEqual(Object.keys(config.ExposedPorts), ['80/tcp']);
    const help = await docker('run', '--rm', IMAGE, '--help');
    assert.match(help, /--max-total-tokens/);
  });

  test('a container pinned with --gpus device=1 reports NVIDIA_VISIBLE_DEVICES=1 and serves TGI routes', async () => {
    const { id, url } = await start('device=1', ['--model-id', 'sim/docker-model', '--max-total-tokens', '4096']);
    const info = JSON.parse((await send(`${url}/info`)).body);
    assert.equal(info.model_id, 'sim/docker-model');
    assert.equal(info.max_total_tokens, 4096);
    assert.equal(info.simulator.nvidia_visible_devices, '1');
    assert.equal(info.simulator.num_shard, 1);
    assert.equal(info.simulator.pid, 1, 'the simulator is the container process');
    const res = await postJson(`${url}/generate`, { inputs: 'Hello from a container', parameters: { max_new_tokens: 5, details: true } });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).details.generated_tokens, 5);
    const logs = (await run('docker', ['logs', id])).stdout;
    assert.match(logs, /Connected/);
    await docker('stop', id);
    assert.equal(await docker('inspect', id, '--format', '{{.State.ExitCode}}'), '0', 'docker stop drains and exits 0');
  });

  test('a replica sharded over two GPUs sees both and shards in two', async () => {
    const { url } = await start('"device=2,3"', ['--model-id', 'sim/sharded']);
    const info = JSON.parse((await send(`${url}/info`)).body);
    assert.equal(info.simulator.nvidia_visible_devices, '2,3');
    assert.equal(info.simulator.num_shard, 2);
  });
});
