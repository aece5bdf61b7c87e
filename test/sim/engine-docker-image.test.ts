// The tgi-sim:local image speaks vLLM and SGLang too: SIM_ENGINE in the container's env picks the
// engine, the container's arguments are that engine's CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Dockerode from 'dockerode';
import { waitUntilHealthy } from '../../orchestrator/health/ready.ts';
import { SIM_IMAGE as IMAGE, dockerSkipReason } from '../docker/engine.ts';
import { ROOT } from '../helpers/sim.ts';
import { send } from './fixtures.ts';

const run = promisify(execFile);
const skip = await dockerSkipReason(new Dockerode());

async function docker(...args: string[]): Promise<string> {
  return (await run('docker', args, { timeout: 120_000 })).stdout.trim();
}

describe('the tgi-sim:local image with SIM_ENGINE', { skip }, () => {
  const containers: string[] = [];

  before(async () => {
    await run('bash', ['scripts/build-sim-image.sh'], { cwd: ROOT, timeout: 300_000 });
  });

  after(async () => {
    if (containers.length) await docker('rm', '--force', ...containers).catch(() => {});
  });

  async function start(engine: string, port: number, args: string[]): Promise<string> {
    const id = await docker('run', '--detach', '--publish', `127.0.0.1::${port}`, '--env', `SIM_ENGINE=${engine}`, '--env', 'SIM_LOAD_SECONDS=0', '--env', 'SIM_WARMUP_SECONDS=0', '--env', 'SIM_TOKENS_PER_SECOND=0', '--label', 'tgi-fleet.test=sim-image', IMAGE, ...args);
    containers.push(id);
    const published = Number((await docker('port', id, `${port}/tcp`)).split('\n')[0].split(':').at(-1));
    const url = `http://127.0.0.1:${published}`;
    await waitUntilHealthy({ host: '127.0.0.1', port: published, url }, AbortSignal.timeout(30_000));
    return url;
  }

  test('SIM_ENGINE=vllm: `serve MODEL --port 8000` serves vLLM routes', async () => {
    const url = await start('vllm', 8000, ['serve', 'sim/docker-vllm', '--port', '8000', '--max-model-len', '1024']);
    const models = JSON.parse((await send(`${url}/v1/models`)).body);
    assert.equal(models.data[0].owned_by, 'vllm');
    assert.equal(models.data[0].max_model_len, 1024);
    assert.match((await send(`${url}/metrics`)).body, /^vllm:num_requests_running\{/m);
  });

  test('SIM_ENGINE=sglang: `--model-path MODEL --host 0.0.0.0 --port 30000` serves SGLang routes', async () => {
    const url = await start('sglang', 30000, ['--model-path', 'sim/docker-sglang', '--host', '0.0.0.0', '--port', '30000', '--enable-metrics']);
    assert.equal(JSON.parse((await send(`${url}/get_model_info`)).body).model_path, 'sim/docker-sglang');
    assert.match((await send(`${url}/metrics`)).body, /^sglang:num_running_reqs\{/m);
  });
});
