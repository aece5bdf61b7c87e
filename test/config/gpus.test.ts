import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GpuPoller, parseNvidiaSmi, readGpus } from '../../orchestrator/gpus.ts';
import type { GpuInfo } from '../../orchestrator/config/types.ts';

const STAND_IN_BIN = fileURLToPath(new URL('../fixtures/bin', import.meta.url));
const withStandIn = { ...process.env, PATH: `${STAND_IN_BIN}${path.delimiter}${process.env.PATH}` };

test('parseNvidiaSmi reads real-looking output, tolerating [N/A], spaces and blank lines', () => {
  const csv = [
    '0, GPU-5e2b1c7a-93f4-1d2e-8a6b-0c9d8e7f6a5b, NVIDIA A100-SXM4-80GB, 81920, 1234, 17',
    '1, GPU-aa11bb22-cc33-dd44-ee55-ff6677889900, NVIDIA A100-SXM4-80GB, 81920, [N/A], [N/A]',
    '',
    '  2 ,GPU-x , Tesla T4 , 15360 ,  0 , 100  ',
    'No devices were found',
  ].join('\r\n');
  assert.deepEqual(parseNvidiaSmi(csv), [
    { index: 0, uuid: 'GPU-5e2b1c7a-93f4-1d2e-8a6b-0c9d8e7f6a5b', name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: 1234, utilizationPercent: 17 },
    { index: 1, uuid: 'GPU-aa11bb22-cc33-dd44-ee55-ff6677889900', name: 'NVIDIA A100-SXM4-80GB', memoryTotalMiB: 81920, memoryUsedMiB: 0, utilizationPercent: 0 },
    { index: 2, uuid: 'GPU-x', name: 'Tesla T4', memoryTotalMiB: 15360, memoryUsedMiB: 0, utilizationPercent: 100 },
  ]);
  assert.deepEqual(parseNvidiaSmi(''), []);
});

describe('readGpus', () => {
  let emptyBin: string;
  before(async () => {
    emptyBin = await mkdtemp(path.join(os.tmpdir(), 'no-nvidia-smi-'));
  });
  after(() => rm(emptyBin, { recursive: true, force: true }));

  test('runs the nvidia-smi found first on PATH (the 4-GPU stand-in)', async () => {
    const result = await readGpus({ env: withStandIn });
    assert.ok('gpus' in result, JSON.stringify(result));
    assert.deepEqual(result.gpus.map((g) => [g.index, g.name, g.memoryTotalMiB]), [0, 1, 2, 3].map((i) => [i, 'NVIDIA H100 80GB HBM3', 81559]));
    assert.deepEqual(result.gpus.map((g) => g.memoryUsedMiB), [512, 0, 2048, 0]);
    assert.match(result.gpus[0].uuid, /^GPU-[0-9a-f-]{36}$/);
  });

  test('no nvidia-smi: a clear error', async () => {
    const result = await readGpus({ env: { ...process.env, PATH: emptyBin } });
    assert.ok('error' in result);
    assert.match(result.error, /^nvidia-smi not found: /);
  });

  test('nvidia-smi failing: its own words', async () => {
    const failing = path.join(emptyBin, 'nvidia-smi');
    await writeFile(failing, "#!/bin/sh\necho \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\"\nexit 9\n", { mode: 0o755 });
    const result = await readGpus({ env: { ...process.env, PATH: emptyBin } });
    assert.ok('error' in result);
    assert.equal(result.error, "nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
  });
});

test('GpuPoller reads at start, emits updates and stops', async () => {
  const poller = new GpuPoller({ env: withStandIn });
  assert.deepEqual(poller.latest(), []);
  const updated = once(poller, 'update') as Promise<[GpuInfo[]]>;
  poller.start(60_000);
  try {
    const [gpus] = await updated;
    assert.equal(gpus.length, 4);
    assert.deepEqual(poller.latest(), gpus);
    assert.equal(poller.lastError(), undefined);
  } finally {
    poller.stop();
  }
});
