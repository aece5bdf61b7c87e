import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerHash, containerName, containerOptions } from '../../orchestrator/runtime/docker/container-spec.ts';
import { testSpec } from './spec.ts';

const SECRET = 'hf_secret_value_never_in_labels';

test('an NVIDIA deployment: name, image, argv, env, labels, GPUs, shm, port, cache, restart policy', () => {
  const spec = testSpec({ model: 'hermes-2-pro-tgi', gpus: [0, 1], image: 'ghcr.io/huggingface/text-generation-inference:3.3.6', env: { HF_TOKEN: SECRET }, shmSizeBytes: 1 << 30, hfCache: '/srv/hf', launcher: { max_total_tokens: 4096 } });
  const options = containerOptions(spec, 41234);

  assert.equal(options.name, 'tgi-hermes-2-pro-tgi-gpu0-1');
  assert.equal(options.Image, 'ghcr.io/huggingface/text-generation-inference:3.3.6');
  assert.deepEqual(options.Cmd, ['--model-id', 'sim/hermes-2-pro-tgi', '--num-shard', '2', '--max-total-tokens', '4096']);
  assert.deepEqual(options.Env, [`HF_TOKEN=${SECRET}`, 'PORT=80']);
  assert.deepEqual(options.Labels, {
    'tgi-fleet.managed': 'true',
    'tgi-fleet.fleet': 'default',
    'tgi-fleet.deployment': 'hermes-2-pro-tgi/gpu0-1',
    'tgi-fleet.model': 'hermes-2-pro-tgi',
    'tgi-fleet.gpus': '0,1',
    'tgi-fleet.config-hash': containerHash(spec),
  });
  assert.ok(!JSON.stringify(options.Labels).includes(SECRET), 'no secret in labels');
  assert.deepEqual(options.ExposedPorts, { '80/tcp': {} });
  assert.equal(options.StopTimeout, 90);
  assert.deepEqual(options.HostConfig, {
    DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['0', '1'], Capabilities: [['gpu']] }],
    ShmSize: 1 << 30,
    PortBindings: { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: '41234' }] },
    Binds: ['/srv/hf:/data'],
    RestartPolicy: { Name: 'unless-stopped' },
  });
});

test('the config-hash label covers what is sent, not the host port: another port, same hash', () => {
  const spec = testSpec({ model: 'm' });
  assert.equal(containerOptions(spec, 1111).Labels!['tgi-fleet.config-hash'], containerOptions(spec, 2222).Labels!['tgi-fleet.config-hash']);
  assert.match(containerHash(spec), /^[0-9a-f]{64}$/);
  assert.notEqual(containerHash(spec), containerHash(testSpec({ model: 'm', env: { X: '1' } })));
  assert.notEqual(containerHash(spec, 'default'), containerHash(spec, 'other-fleet'), 'the name (with the fleet) is sent too');
});

test('PORT is always 80, whatever the env says (that is the port published)', () => {
  const options = containerOptions(testSpec({ model: 'm', env: { PORT: '3000', A: 'b' } }), 1);
  assert.deepEqual(options.Env, ['A=b', 'PORT=80']);
});

test('AMD: /dev/kfd and the GPU render nodes, group video, no device request', () => {
  const { HostConfig, Env } = containerOptions(testSpec({ model: 'm', accelerator: 'amd', gpus: [2, 3], env: {} }), 1);
  assert.deepEqual(HostConfig?.Devices, [
    { PathOnHost: '/dev/kfd', PathInContainer: '/dev/kfd', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/dri/renderD130', PathInContainer: '/dev/dri/renderD130', CgroupPermissions: 'rwm' },
    { PathOnHost: '/dev/dri/renderD131', PathInContainer: '/dev/dri/renderD131', CgroupPermissions: 'rwm' },
  ]);
  assert.deepEqual(HostConfig?.GroupAdd, ['video']);
  assert.equal(HostConfig?.DeviceRequests, undefined);
  assert.deepEqual(Env, ['PORT=80']);
});

test('Intel: the GPU render node and ZE_AFFINITY_MASK numbered as seen inside', () => {
  const { HostConfig, Env } = containerOptions(testSpec({ model: 'm', accelerator: 'intel', gpus: [1], env: {} }), 1);
  assert.deepEqual(HostConfig?.Devices, [{ PathOnHost: '/dev/dri/renderD129', PathInContainer: '/dev/dri/renderD129', CgroupPermissions: 'rwm' }]);
  assert.deepEqual(Env, ['PORT=80', 'ZE_AFFINITY_MASK=0']);
});

test('a non-default fleet is part of the name and the labels', () => {
  const spec = testSpec({ model: 'm', gpus: [2] });
  assert.equal(containerName(spec, 'staging'), 'tgi-staging-m-gpu2');
  assert.equal(containerOptions(spec, 1, 'staging').Labels?.['tgi-fleet.fleet'], 'staging');
});
