import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PullProgress, formatBytes } from '../../orchestrator/runtime/docker/pull-progress.ts';

test('bytes done and total are summed over the layers being downloaded', () => {
  const progress = new PullProgress();
  progress.update({ status: 'Pulling from huggingface/text-generation-inference', id: '3.3.6' });
  progress.update({ status: 'Already exists', id: 'aaa' });
  progress.update({ status: 'Pulling fs layer', id: 'bbb', progressDetail: {} });
  progress.update({ status: 'Downloading', id: 'bbb', progressDetail: { current: 100, total: 1000 } });
  progress.update({ status: 'Downloading', id: 'ccc', progressDetail: { current: 50, total: 500 } });
  assert.equal(progress.doneBytes, 150);
  assert.equal(progress.totalBytes, 1500);

  progress.update({ status: 'Downloading', id: 'bbb', progressDetail: { current: 600, total: 1000 } });
  progress.update({ status: 'Download complete', id: 'ccc' });
  assert.equal(progress.doneBytes, 1100);

  progress.update({ status: 'Extracting', id: 'ccc', progressDetail: { current: 10, total: 500 } });
  progress.update({ status: 'Pull complete', id: 'bbb' });
  assert.equal(progress.doneBytes, 1500);
  assert.equal(progress.totalBytes, 1500);
});

test('sizes read like docker pull prints them', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1_500_000), '1.5 MB');
  assert.equal(formatBytes(9_876_000_000), '9.9 GB');
});
