import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';
import type { DeploymentState } from '../../orchestrator/deployment/state.ts';
import { plan, type Current, type PlanInput } from '../../orchestrator/reconcile/plan.ts';
import type { ObservedInstance } from '../../orchestrator/runtime/driver.ts';

const limits = { requestsPerSecond: 10, burst: 25, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 0 };
/** The plan asks hashOf(spec); here a spec's hash is its launcher.rev (what a driver would send). */
const hashOf = (spec: DeploymentSpec) => `h-${spec.key}-${spec.launcher.rev ?? 0}`;

function spec(key: string, extra: Partial<DeploymentSpec> = {}): DeploymentSpec {
  const [model, gpuLabel] = key.split('/');
  return {
    key, model, gpuLabel, gpus: [Number(gpuLabel.slice(3))], modelId: `org/${model}`, runtime: 'docker', accelerator: 'nvidia', vision: false,
    image: 'tgi-sim:local', pull: 'never', shmSizeBytes: 1 << 30, env: {}, launcher: {}, simulator: { loadSeconds: 0, tokensPerSecond: 0 },
    limits, hfCache: '/tmp/hf', loadTimeoutMs: 30 * 60_000, ...extra,
  };
}
const changed = (key: string) => spec(key, { launcher: { rev: 1 } });

function live(s: DeploymentSpec, state: DeploymentState = 'ready', instanceId = `id-${s.key}`, held = false): Current {
  return { key: s.key, spec: s, state, held, owns: (id) => id === instanceId };
}

function instance(s: DeploymentSpec, options: { hash?: string; running?: boolean; id?: string } = {}): ObservedInstance {
  return { id: options.id ?? `c-${s.key}-${options.hash ?? hashOf(s)}`, key: s.key, configHash: options.hash ?? hashOf(s), name: `container ${s.key}`, running: options.running ?? true, restarting: false, runtimeRestarts: 0 };
}

function run(input: Partial<PlanInput<Current>> & { desired: DeploymentSpec[] }): string[] {
  const actions = plan({ current: [], observed: new Map([['docker', []]]), retiringOwn: () => false, hashOf, reload: false, ...input });
  return actions.map((a) => `${a.kind} ${'spec' in a ? a.spec.key : 'current' in a ? a.current.key : a.instance.key}`).sort();
}

test('first start: nothing exists, everything starts', () => {
  assert.deepEqual(run({ desired: [spec('a/gpu0'), spec('a/gpu1')] }), ['start a/gpu0', 'start a/gpu1']);
});

test('adoption: an instance with the same hash is adopted (stopped ones too: same id, started again); stale and unwanted ones are removed', () => {
  const [a, b, c] = [spec('a/gpu0'), spec('b/gpu1'), spec('c/gpu2')];
  const observed = new Map([['docker', [instance(a), instance(b, { hash: 'old' }), instance(c, { running: false }), instance(spec('gone/gpu3'))]]]);
  assert.deepEqual(run({ desired: [a, b, c], observed }), ['adopt a/gpu0', 'adopt c/gpu2', 'remove-instance b/gpu1', 'remove-instance gone/gpu3', 'start b/gpu1']);
});

test('hot reload: unchanged untouched, changed replaced, gateway-only change updated in place, removed removed, new started', () => {
  const current = [live(spec('same/gpu0')), live(spec('changed/gpu1')), live(spec('limits/gpu2')), live(spec('removed/gpu3'))];
  const desired = [spec('same/gpu0'), changed('changed/gpu1'), spec('limits/gpu2', { limits: { ...limits, burst: 5 } }), spec('new/gpu4')];
  assert.deepEqual(run({ desired, current }), ['remove removed/gpu3', 'replace changed/gpu1', 'start new/gpu4', 'update limits/gpu2']);
});

test('a setting that does not reach the server (vision, simulator knobs on docker) is an update, not a restart', () => {
  const current = [live(spec('m/gpu0'))];
  assert.deepEqual(run({ desired: [spec('m/gpu0', { vision: true, simulator: { loadSeconds: 5, tokensPerSecond: 1 } })], current }), ['update m/gpu0']);
});

test('a failed deployment is retried at once on a reload (edit, SIGHUP), not on a periodic pass', () => {
  const current = [live(spec('a/gpu0'), 'failed')];
  assert.deepEqual(run({ desired: [spec('a/gpu0')], current, reload: true }), ['retry a/gpu0']);
  assert.deepEqual(run({ desired: [spec('a/gpu0')], current, reload: false }), []);
});

test('rolling replacement: a changed model with ready replicas is replaced one replica at a time', () => {
  const [r0, r1, r2] = [spec('m/gpu0'), spec('m/gpu1'), spec('m/gpu2')];
  const desired = [changed('m/gpu0'), changed('m/gpu1'), changed('m/gpu2')];
  assert.deepEqual(run({ desired, current: [live(r0), live(r1), live(r2)] }), ['replace m/gpu0']);
  // The first successor is still loading: nothing else is touched.
  assert.deepEqual(run({ desired, current: [live(changed('m/gpu0'), 'loading'), live(r1), live(r2)] }), []);
  // It is ready: the next one goes.
  assert.deepEqual(run({ desired, current: [live(changed('m/gpu0')), live(r1), live(r2)] }), ['replace m/gpu1']);
});

test('rolling replacement stops when the new configuration fails; replicas that do not serve are replaced at once', () => {
  const desired = [changed('m/gpu0'), changed('m/gpu1')];
  assert.deepEqual(run({ desired, current: [live(changed('m/gpu0'), 'failed'), live(spec('m/gpu1'))] }), []);
  assert.deepEqual(run({ desired, current: [live(spec('m/gpu0'), 'failed'), live(spec('m/gpu1'), 'down')] }), ['replace m/gpu0', 'replace m/gpu1']);
});

test('instances owned by a deployment, or by one being retired, are never removed', () => {
  const a = spec('a/gpu0');
  const observed = new Map([['docker', [instance(a, { id: 'mine' }), instance(spec('old/gpu1'), { id: 'retiring' })]]]);
  assert.deepEqual(run({ desired: [a], current: [live(a, 'ready', 'mine')], observed, retiringOwn: (id) => id === 'retiring' }), []);
});

test('engine away: new deployments are registered but held; once it answers they adopt what exists', () => {
  const a = spec('a/gpu0');
  assert.deepEqual(run({ desired: [a], observed: new Map() }), ['start a/gpu0']);
  assert.deepEqual(run({ desired: [a], current: [live(a, 'down', 'none', true)], observed: new Map() }), []);
  const actions = plan({ desired: [a], current: [live(a, 'down', 'none', true)], observed: new Map([['docker', [instance(a)]]]), retiringOwn: () => false, hashOf, reload: false });
  assert.equal(actions.length, 1);
  assert.equal(actions[0].kind, 'release');
  assert.equal(actions[0].kind === 'release' && actions[0].instance?.id, instance(a).id);
});

test('an unknown instance of another key of this fleet is removed; none is touched while its runtime cannot be listed', () => {
  const stray = instance(spec('stray/gpu5'));
  assert.deepEqual(run({ desired: [], observed: new Map([['docker', [stray]]]) }), ['remove-instance stray/gpu5']);
  assert.deepEqual(run({ desired: [], observed: new Map() }), []);
});
