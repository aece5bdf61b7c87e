import assert from 'node:assert/strict';
import { containerHash } from '../../orchestrator/runtime/docker/container-spec.ts';
import { describe, test } from 'node:test';
import { h100s, invalid, issueAt, valid, yaml } from './support.ts';

const model = (name: string, gpus: string, ...more: string[]) => [`  - name: ${name}`, '    model_id: org/model', `    gpus: ${gpus}`, ...more.map((line) => `    ${line}`)];
const keysAndGpus = (text: string, gpus = h100s()) => valid(text, { gpus }).config.deployments.map((d) => [d.key, d.gpus]);

describe('gpus lists', () => {
  test('one replica per GPU, a sharded replica labelled gpu0-1, and a mix', () => {
    const { config } = valid(yaml('models:', ...model('a', '[0, 1]'), ...model('big', '[[3, 2]]'), ...model('mix', '[[0, 1], 2]', 'runtime: simulator')), { gpus: h100s() });
    assert.deepEqual(
      config.deployments.map((d) => [d.key, d.gpuLabel, d.gpus]),
      [
        ['a/gpu0', 'gpu0', [0]],
        ['a/gpu1', 'gpu1', [1]],
        ['big/gpu2-3', 'gpu2-3', [2, 3]],
        ['mix/gpu0-1', 'gpu0-1', [0, 1]],
        ['mix/gpu2', 'gpu2', [2]],
      ],
    );
    // NUM_SHARD is the number of GPUs of the replica; nothing else carries it.
    assert.deepEqual(config.deployments.map((d) => d.gpus.length), [1, 1, 2, 2, 1]);
    assert.ok(config.deployments.every((d) => !('num_shard' in d.launcher)));
  });

  test('a GPU used twice by the same model', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a', '[0, [1, 0]]'))), 'models[0].gpus[1][1]');
    assert.deepEqual([issue.line, issue.column], [4, 19]);
    assert.match(issue.message, /GPU 0 is used twice by this model \(also at models\[0\]\.gpus\[0\]\)/);
    assert.match(issue.hint!, /\[\[0, 1\]\] one replica sharded/);
  });

  test('replicas with an explicit list is an error', () => {
    const issue = issueAt(invalid(yaml('models:', ...model('a', '[0, 1]', 'replicas: 2'))), 'models[0].replicas');
    assert.equal(issue.line, 5);
    assert.match(issue.message, /goes with `gpus: auto`/);
  });

  test('GPUs that do not exist, listing the host GPUs', () => {
    const issues = invalid(yaml('models:', ...model('a', '[1, [3, 4]]')), { gpus: h100s() });
    const issue = issueAt(issues, 'models[0].gpus[1][1]');
    assert.deepEqual([issue.line, issue.column, issue.message], [4, 19, 'GPU 4 does not exist (this host has GPUs 0-3)']);
    assert.match(issueAt(invalid(yaml('models:', ...model('a', '[0]')), { gpus: [] }), 'models[0].gpus[0]').message, /this host has no GPUs/);
  });

  test('simulator deployments are not checked against the inventory', () => {
    assert.deepEqual(keysAndGpus(yaml('models:', ...model('a', '[9]', 'runtime: simulator'))), [['a/gpu9', [9]]]);
  });
});

describe('sharing a GPU', () => {
  test('refused unless each sets cuda_memory_fraction', () => {
    const issues = invalid(yaml('models:', ...model('a', '[0]'), ...model('b', '[1, 0]', 'cuda_memory_fraction: 0.5')), { gpus: h100s() });
    const issue = issueAt(issues, 'models[1].gpus[1]');
    assert.deepEqual([issue.line, issue.column], [7, 15]);
    assert.match(issue.message, /GPU 0 is used by `a` and `b`.*not set on `a`/);
    assert.match(issue.hint!, /cuda_memory_fraction/);
  });

  test('allowed when the fractions sum to at most 1, refused above', () => {
    const shared = (fa: number, fb: number) => yaml('models:', ...model('a', '[0]', `cuda_memory_fraction: ${fa}`), ...model('b', '[0]', `cuda_memory_fraction: ${fb}`));
    assert.deepEqual(keysAndGpus(shared(0.7, 0.3)), [['a/gpu0', [0]], ['b/gpu0', [0]]]);
    const issue = issueAt(invalid(shared(0.6, 0.5), { gpus: h100s() }), 'models[1].gpus[0]');
    assert.match(issue.message, /sum to 1\.1 \(0\.6 \+ 0\.5\), more than the whole GPU/);
  });

  test('a fraction from defaults counts for every model; the check needs no inventory', () => {
    const text = yaml('defaults:', '  cuda_memory_fraction: 0.4', 'models:', ...model('a', '[0]'), ...model('b', '[0]'), ...model('c', '[0]'));
    assert.match(issueAt(invalid(text), 'models[2].gpus[0]').message, /`a` and `b` and `c` whose cuda_memory_fraction values sum to 1\.2/);
  });

  test('simulators share freely, also with docker deployments', () => {
    const text = yaml('models:', ...model('a', '[0]'), ...model('b', '[0]', 'runtime: simulator'), ...model('c', '[0]', 'runtime: simulator'));
    assert.equal(keysAndGpus(text).length, 3);
  });
});

describe('gpus: auto', () => {
  test('picks the GPUs with the most free memory that no other deployment uses', () => {
    // Free memory: GPU 0 and 3 are busy, GPU 1 is the freest, then GPU 2; GPU 1 is taken by `a`.
    const gpus = h100s([60_000, 0, 1_000, 70_000]);
    const text = yaml('models:', ...model('a', '[1]'), ...model('b', 'auto', 'replicas: 2'));
    assert.deepEqual(keysAndGpus(text, gpus), [['a/gpu1', [1]], ['b/gpu0', [0]], ['b/gpu2', [2]]]);
  });

  test('autos in file order do not take the same GPU', () => {
    const text = yaml('models:', ...model('a', 'auto', 'replicas: 1'), ...model('b', 'auto', 'replicas: 1'));
    assert.deepEqual(keysAndGpus(text, h100s([0, 10, 20, 30])), [['a/gpu0', [0]], ['b/gpu1', [1]]]);
  });

  test('not enough unused GPUs', () => {
    const text = yaml('models:', ...model('a', '[0, 1]'), ...model('b', 'auto', 'replicas: 3'));
    const issue = issueAt(invalid(text, { gpus: h100s() }), 'models[1].gpus');
    assert.deepEqual([issue.line, issue.column], [7, 11]);
    assert.equal(issue.message, '`gpus: auto` needs 3 unused GPUs but only 2 are left (this host has GPUs 0-3; 0-1 taken by other deployments)');
  });

  test('needs replicas', () => {
    assert.match(issueAt(invalid(yaml('models:', ...model('a', 'auto')), { gpus: h100s() }), 'models[0].gpus').message, /needs `replicas: N`/);
  });

  test('docker without an inventory is an error; a simulator takes 0..N-1', () => {
    assert.match(issueAt(invalid(yaml('models:', ...model('a', 'auto', 'replicas: 2'))), 'models[0].gpus').message, /needs the GPU inventory/);
    assert.deepEqual(keysAndGpus(yaml('models:', ...model('a', 'auto', 'replicas: 3', 'runtime: simulator'))), [['a/gpu0', [0]], ['a/gpu1', [1]], ['a/gpu2', [2]]]);
  });

  test('on reload it keeps the GPUs it runs on, though they now look the busiest', () => {
    const text = yaml('models:', ...model('a', 'auto', 'replicas: 1'));
    const previous = valid(text, { gpus: h100s([0, 10, 10, 10]) }).config;
    assert.deepEqual(previous.deployments.map((d) => d.key), ['a/gpu0']);
    const reloaded = valid(text, { gpus: h100s([70_000, 10, 10, 10]), running: previous.deployments }).config;
    assert.deepEqual(reloaded.deployments.map((d) => d.key), ['a/gpu0']);
    assert.equal(containerHash(reloaded.deployments[0]), containerHash(previous.deployments[0]));
    assert.deepEqual(valid(text, { gpus: h100s([70_000, 10, 10, 10]) }).config.deployments.map((d) => d.key), ['a/gpu1']);
    // A running GPU another model now claims is given up.
    const claimed = yaml('models:', ...model('b', '[0]'), ...model('a', 'auto', 'replicas: 1'));
    assert.deepEqual(keysAndGpus(claimed, h100s([70_000, 10, 10, 10])).at(-1), ['a/gpu1', [1]]);
    assert.deepEqual(valid(claimed, { gpus: h100s([70_000, 10, 10, 10]), running: previous.deployments }).config.deployments.at(-1)?.key, 'a/gpu1');
  });
});
