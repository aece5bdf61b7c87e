import { test } from 'node:test';
import assert from 'node:assert/strict';
import { plan } from '../../orchestrator/reconcile/plan.ts';
import { Deployment } from '../../orchestrator/deployment/deployment.ts';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import type { Instance } from '../../orchestrator/runtime/runtime.ts';

const limits = { requestsPerSecond: 10, burst: 25, maxConcurrentRequests: 100, requestTimeoutMs: 30_000 };
function spec(key: string, hash = `h-${key}`, extra: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const [model, gpuLabel] = key.split('/');
  return {
    key, model, gpuLabel, gpus: [Number(gpuLabel.slice(3))], modelId: `org/${model}`, runtime: 'docker', accelerator: 'nvidia', vision: false,
    image: 'tgi-sim:local', pull: 'never', shmSizeBytes: 1 << 30, env: {}, launcher: {}, simulator: { loadSeconds: 0, tokensPerSecond: 0 },
    limits, hfCache: '/tmp/hf', configHash: hash, ...extra,
  };
}
const instance = (key: string, configHash: string, running = true): Instance => ({ key, configHash, id: `id-${key}-${configHash}`, running });
const kinds = (actions: ReturnType<typeof plan>) => actions.map((a) => `${a.kind} ${'spec' in a ? a.spec.key : 'current' in a ? a.current.key : a.instance.key}`).sort();

test('first start: nothing exists, everything starts', () => {
  assert.deepEqual(kinds(plan([spec('a/gpu0'), spec('a/gpu1')], [])), ['start a/gpu0', 'start a/gpu1']);
});

test('adoption: a running instance with the same hash is adopted; a stale or stopped one is replaced by a fresh start', () => {
  const actions = plan([spec('a/gpu0'), spec('b/gpu1'), spec('c/gpu2')], [], [instance('a/gpu0', 'h-a/gpu0'), instance('b/gpu1', 'old'), instance('c/gpu2', 'h-c/gpu2', false), instance('gone/gpu3', 'x')]);
  assert.deepEqual(kinds(actions), ['adopt a/gpu0', 'remove-instance b/gpu1', 'remove-instance c/gpu2', 'remove-instance gone/gpu3', 'start b/gpu1', 'start c/gpu2']);
});

test('hot reload: unchanged untouched, changed replaced, limits-only updated in place, removed removed, new started', () => {
  const current = [new Deployment(spec('same/gpu0')), new Deployment(spec('changed/gpu1')), new Deployment(spec('limits/gpu2')), new Deployment(spec('removed/gpu3'))];
  const desired = [spec('same/gpu0'), spec('changed/gpu1', 'new-hash'), spec('limits/gpu2', undefined, { limits: { ...limits, burst: 5 } }), spec('new/gpu4')];
  assert.deepEqual(kinds(plan(desired, current)), ['remove removed/gpu3', 'replace changed/gpu1', 'start new/gpu4', 'update limits/gpu2']);
});

test('a failed deployment is retried on reload even when its configuration is unchanged', () => {
  const failed = new Deployment(spec('a/gpu0'));
  failed.fail({ message: 'boom', logTail: [] });
  assert.deepEqual(kinds(plan([spec('a/gpu0')], [failed])), ['replace a/gpu0']);
});
