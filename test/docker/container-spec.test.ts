import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerHash, containerName, containerOptions, publishedHostPort } from '../../orchestrator/runtime/docker/container-spec.ts';
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

test('a TGI container is exactly what it was before engines: same options and hash, so running ones are adopted', () => {
  const spec = testSpec({ model: 'hermes-2-pro-tgi', gpus: [0, 1], image: 'ghcr.io/huggingface/text-generation-inference:3.3.6', env: { HF_TOKEN: 'x', USAGE_STATS: 'off' }, shmSizeBytes: 1 << 30, hfCache: '/srv/hf', launcher: { max_total_tokens: 4096, max_input_tokens: 2048 } });
  // Computed with the container-spec.ts of the commit before `engine` existed.
  const before = '9cf7efa5780ebecccda6654dcbcbeb5e377de32ad9acfd4e4c26a9f43286005e';
  assert.equal(containerHash(spec), before);
  assert.equal(containerHash({ ...spec, engine: 'tgi' }), before);
  assert.deepEqual(containerOptions({ ...spec, engine: 'tgi' }, 5), containerOptions(spec, 5));
});

test('vLLM: its image, argv after `vllm serve` with where to listen, port 8000, its cache folder, shm not ipc host', () => {
  const spec = { ...testSpec({ model: 'qwen', gpus: [2], image: 'vllm/vllm-openai:v0.11.0', env: { HF_TOKEN: SECRET, VLLM_NO_USAGE_STATS: '1' }, shmSizeBytes: 8 << 30, hfCache: '/srv/hf', launcher: { max_model_len: 4096 } }), engine: 'vllm' as const };
  const options = containerOptions(spec, 41000);
  assert.equal(options.Image, 'vllm/vllm-openai:v0.11.0');
  assert.deepEqual(options.Cmd, ['sim/qwen', '--served-model-name', 'qwen', '--tensor-parallel-size', '1', '--max-model-len', '4096', '--port', '8000', '--host', '0.0.0.0']);
  assert.deepEqual(options.Env, [`HF_TOKEN=${SECRET}`, 'VLLM_NO_USAGE_STATS=1']);
  assert.deepEqual(options.ExposedPorts, { '8000/tcp': {} });
  assert.deepEqual(options.HostConfig, {
    DeviceRequests: [{ Driver: 'nvidia', DeviceIDs: ['2'], Capabilities: [['gpu']] }],
    ShmSize: 8 << 30,
    PortBindings: { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41000' }] },
    Binds: ['/srv/hf:/root/.cache/huggingface'],
    RestartPolicy: { Name: 'unless-stopped' },
  });
  assert.equal(publishedHostPort(options.HostConfig?.PortBindings), 41000);
  assert.equal(options.Labels!['tgi-fleet.config-hash'], containerHash(spec));
  assert.notEqual(containerHash(spec), containerHash({ ...spec, engine: 'sglang' }), 'the engine changes what is sent, so the hash');
});

test('SGLang: the image has no entrypoint, so the command starts the module; port 30000', () => {
  const spec = { ...testSpec({ model: 'qwen', gpus: [0, 1], image: 'lmsysorg/sglang:v0.5.5', env: {}, hfCache: '/srv/hf', launcher: { context_length: 8192 } }), engine: 'sglang' as const };
  const options = containerOptions(spec, 42000);
  assert.deepEqual(options.Cmd, [
    'python3', '-m', 'sglang.launch_server', '--model-path', 'sim/qwen', '--served-model-name', 'qwen', '--tp-size', '2', '--context-length', '8192', '--port', '30000', '--host', '0.0.0.0',
  ]);
  assert.deepEqual(options.Env, []);
  assert.deepEqual(options.HostConfig?.PortBindings, { '30000/tcp': [{ HostIp: '127.0.0.1', HostPort: '42000' }] });
  assert.deepEqual(options.HostConfig?.Binds, ['/srv/hf:/root/.cache/huggingface']);
  assert.equal(options.HostConfig?.IpcMode, undefined);
  assert.equal(publishedHostPort(options.HostConfig?.PortBindings), 42000);
});

test('the tgi-sim image speaking vLLM or SGLang: SIM_ENGINE and the engine\'s whole command line', () => {
  const sglang = containerOptions({ ...testSpec({ model: 'm', env: {}, launcher: {} }), engine: 'sglang' }, 1);
  assert.deepEqual(sglang.Cmd, ['python3', '-m', 'sglang.launch_server', '--model-path', 'sim/m', '--served-model-name', 'm', '--tp-size', '1', '--port', '30000', '--host', '0.0.0.0']);
  assert.deepEqual(sglang.Env, ['SIM_ENGINE=sglang']);
  const vllm = containerOptions({ ...testSpec({ model: 'm', env: {}, launcher: {} }), engine: 'vllm' }, 1);
  assert.deepEqual(vllm.Cmd, ['vllm', 'serve', 'sim/m', '--served-model-name', 'm', '--tensor-parallel-size', '1', '--port', '8000', '--host', '0.0.0.0'], 'its entrypoint is the simulator, not `vllm serve`');
  assert.deepEqual(vllm.Env, ['SIM_ENGINE=vllm']);
  const tgi = containerOptions({ ...testSpec({ model: 'm', env: {}, launcher: {} }), engine: 'tgi' }, 1);
  assert.deepEqual(tgi.Env, ['PORT=80'], 'TGI on the simulator image is unchanged (its hash too)');
});
