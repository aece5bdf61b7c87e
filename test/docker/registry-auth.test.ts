import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registryAuth, registryOf } from '../../orchestrator/runtime/docker/registry-auth.ts';

let dir: string;
const basic = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'docker-config-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({
    auths: {
      'https://index.docker.io/v1/': { auth: basic('hubuser', 'hub:pass') },
      'ghcr.io': { auth: basic('octo', 'ghp_token') },
      'registry.example.com:5000': {},
    },
  }));
});
after(() => rm(dir, { recursive: true, force: true }));

test('the registry of an image reference', () => {
  assert.equal(registryOf('ghcr.io/huggingface/text-generation-inference:3.3.6'), 'ghcr.io');
  assert.equal(registryOf('registry.example.com:5000/team/tgi'), 'registry.example.com:5000');
  assert.equal(registryOf('localhost/tgi'), 'localhost');
  assert.equal(registryOf('tgi-sim:local'), 'docker.io');
  assert.equal(registryOf('huggingface/tgi:1'), 'docker.io');
  assert.equal(registryOf('docker.io/library/ubuntu'), 'docker.io');
});

test('credentials come from the auths entry of the image registry', async () => {
  assert.deepEqual(await registryAuth('ghcr.io/huggingface/text-generation-inference:3.3.6', dir), { username: 'octo', password: 'ghp_token', serveraddress: 'ghcr.io' });
  assert.deepEqual(await registryAuth('huggingface/tgi:1', dir), { username: 'hubuser', password: 'hub:pass', serveraddress: 'https://index.docker.io/v1/' });
});

test('no entry, an entry without auth, or no config: anonymous', async () => {
  assert.equal(await registryAuth('quay.io/x/y', dir), undefined);
  assert.equal(await registryAuth('registry.example.com:5000/team/tgi', dir), undefined);
  assert.equal(await registryAuth('ghcr.io/x/y', join(dir, 'missing')), undefined);
});
