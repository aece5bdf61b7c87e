import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import express from 'express';
import { createDashboard, type Dashboard } from '../../gateway/dashboard/router.ts';
import type { LogEntry } from '../../gateway/dashboard/event-log.ts';
import type { Overview } from '../../gateway/dashboard/overview.ts';
import type { SeriesSnapshot } from '../../gateway/dashboard/stats.ts';
import type { GatewayNotice, RequestRecord } from '../../gateway/types.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';
import { fleetOptions, serve, spec } from './fleet-fixture.ts';

// The dashboard's page and API over real HTTP, fed by a real DeploymentTable of StubDeployments (the test
// sets their state) and the gateway's events.

const gpus = [{ index: 0, uuid: 'GPU-0', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 40000, utilizationPercent: 37 }];
const options = fleetOptions(gpus);
let dashboard: Dashboard;
let server: Awaited<ReturnType<typeof serve>>;

before(async () => {
  dashboard = createDashboard(options);
  const app = express();
  app.use(dashboard.publicRouter);
  app.use(dashboard.apiRouter);
  server = await serve(app);
});
after(async () => {
  dashboard.close();
  await server.close();
});

const get = (path: string) => fetch(server.url + path);
const json = async <T>(path: string) => {
  const res = await get(path);
  assert.equal(res.status, 200, `${path}: ${res.status}`);
  assert.equal(res.headers.get('cache-control'), 'no-store');
  return (await res.json()) as T;
};

test('the page and its assets: no external resources, a strict CSP, small', async () => {
  const page = await get('/');
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type')!, /^text\/html/);
  assert.match(page.headers.get('content-security-policy')!, /script-src 'self'/);
  assert.match(page.headers.get('content-security-policy')!, /connect-src 'self'/);
  const html = await page.text();
  assert.match(html, /src="ui\/app\.js"/);
  assert.doesNotMatch(html, /https?:\/\//, 'no CDN, no web font');
  let total = html.length;
  for (const [name, type] of [['app.js', /^text\/javascript/], ['app.css', /^text\/css/]] as const) {
    const res = await get(`/ui/${name}`);
    assert.equal(res.status, 200, name);
    assert.match(res.headers.get('content-type')!, type);
    const body = await res.text();
    assert.doesNotMatch(body, /https?:\/\/(?!www\.w3\.org)/, `${name} loads nothing from elsewhere`);
    total += body.length;
  }
  assert.ok(total < 60 * 1024, `dashboard is ${total} bytes; keep it under 60 KiB`);
  assert.equal((await get('/ui/nothing.js')).status, 404);
});

test('overview: every deployment with its engine, state, phase, GPUs, retries and last-minute numbers; GPU map; no secrets', async () => {
  const now0 = Date.now();
  const a = new StubDeployment(spec('hermes/gpu0'));
  const b = new StubDeployment(spec('llava/gpu0', { vision: true, modelId: 'llava-hf/llava' }));
  const c = new StubDeployment(spec('big/gpu1-2', { engine: 'vllm' }));
  for (const d of [a, b, c]) options.table.add(d);
  a.setState('loading');
  a.setState('ready');
  b.setState('loading');
  b.setPhase('downloading weights');
  a.admit();
  a.admit();
  a.startedAt = now0 - 90_000;
  c.attempts = 3;
  c.nextRetryAt = now0 + 40_000;
  const now = Date.now();
  for (let i = 0; i < 30; i++) {
    const r: RequestRecord = { key: 'hermes/gpu0', model: 'hermes', gpuLabel: 'gpu0', status: i < 3 ? 502 : 200, durationMs: 120, ttftMs: 30, generatedTokens: 20, stream: true, at: now - i * 100 };
    options.events.emit('request', r);
  }

  const res = await get('/api/overview');
  const text = await res.text();
  assert.doesNotMatch(text, /hf_secret_never_shown/, 'deployment env never leaves the server');
  const o = JSON.parse(text) as Overview;
  const byKey = Object.fromEntries(o.deployments.map((d) => [d.key, d]));
  assert.deepEqual(Object.keys(byKey).sort(), ['big/gpu1-2', 'hermes/gpu0', 'llava/gpu0']);
  assert.equal(byKey['hermes/gpu0'].state, 'ready');
  assert.equal(byKey['hermes/gpu0'].inFlight, 2);
  assert.equal(byKey['llava/gpu0'].state, 'loading');
  assert.equal(byKey['llava/gpu0'].phase, 'downloading weights');
  assert.equal(byKey['llava/gpu0'].vision, true);
  assert.deepEqual(byKey['big/gpu1-2'].gpus, [1, 2]);
  assert.deepEqual([byKey['big/gpu1-2'].engine, byKey['hermes/gpu0'].engine], ['vllm', 'tgi'], 'a spec without an engine runs TGI');
  assert.deepEqual([byKey['hermes/gpu0'].startedAt, byKey['hermes/gpu0'].attempts, byKey['hermes/gpu0'].nextRetryAt], [now0 - 90_000, 0, undefined]);
  assert.deepEqual([byKey['big/gpu1-2'].attempts, byKey['big/gpu1-2'].nextRetryAt], [3, now0 + 40_000]);
  const hermes = byKey['hermes/gpu0'].lastMinute;
  assert.ok(hermes.requestsPerSecond > 0 && hermes.tokensPerSecond > 0);
  assert.ok(hermes.p50Ms! > 100 && hermes.p50Ms! < 140, `p50 ${hermes.p50Ms}`);
  assert.ok(hermes.ttftP50Ms! > 25 && hermes.ttftP50Ms! < 35, `ttft ${hermes.ttftP50Ms}`);
  assert.equal(byKey['hermes/gpu0'].errors15m, 3);

  assert.equal(o.gpuTelemetry, true);
  assert.deepEqual(o.gpus.map((g) => [g.index, g.name ?? null, g.deployments]), [
    [0, 'NVIDIA H100 80GB HBM3', ['hermes/gpu0', 'llava/gpu0']],
    [1, null, ['big/gpu1-2']],
    [2, null, ['big/gpu1-2']],
  ]);
  assert.equal(o.gpus[0].memoryUsedMiB, 40000);

  const series = await json<SeriesSnapshot>('/api/series');
  assert.deepEqual(Object.keys(series.byKey).sort(), ['big/gpu1-2', 'hermes/gpu0', 'llava/gpu0']);
  assert.equal(series.byKey['hermes/gpu0'].requestsPerSecond.length, 180);
});

test('overview: usage per API key since the gateway started, busiest first', async () => {
  const at = Date.now();
  const record = (caller: string, status: number, promptTokens: number, generatedTokens: number): RequestRecord => ({ key: 'hermes/gpu0', model: 'hermes', gpuLabel: 'gpu0', status, durationMs: 5, generatedTokens, promptTokens, caller, stream: false, at });
  for (const r of [record('team-a', 200, 10, 20), record('team-a', 429, 0, 0), record('operator', 200, 1, 2)]) options.events.emit('request', r);
  const o = await json<Overview>('/api/overview');
  assert.deepEqual(
    o.keys.map((k) => [k.name, k.requests, k.refused, k.promptTokens, k.generatedTokens]),
    [['team-a', 2, 1, 10, 20], ['operator', 1, 0, 1, 2]],
  );
  assert.equal(o.keys[0].lastUsedAt, at);
});

test('event log: state changes with restarts, additions, removals and the gateway notices, paged by id', async () => {
  const d = new StubDeployment(spec('crashy/gpu3'));
  options.table.add(d);
  d.setState('loading');
  d.setState('ready');
  d.restarts = 1;
  d.setState('down', 'exited with code 137');
  const notice: GatewayNotice = { kind: 'rate_limited', message: '12 requests to /crashy/gpu3 refused (rate limit)', at: Date.now() };
  options.events.emit('notice', notice);
  options.table.remove(d);

  const { entries } = await json<{ entries: LogEntry[] }>('/api/events');
  const mine = entries.filter((e) => e.key === 'crashy/gpu3' || e.kind === 'rate_limited');
  assert.deepEqual(mine.map((e) => [e.kind, e.level, e.message]), [
    ['added', 'info', 'added: org/crashy on GPU 3'],
    ['state', 'info', 'pending → loading'],
    ['state', 'info', 'loading → ready'],
    ['state', 'warn', 'ready → down (exited with code 137; restarts so far: 1)'],
    ['rate_limited', 'warn', notice.message],
    ['removed', 'info', 'removed'],
  ]);
  const lastId = entries.at(-1)!.id;
  assert.deepEqual((await json<{ entries: LogEntry[] }>(`/api/events?after=${lastId}`)).entries, []);
  const twoBack = await json<{ entries: LogEntry[] }>(`/api/events?after=${lastId - 2}`);
  assert.deepEqual(twoBack.entries.map((e) => e.id), [lastId - 1, lastId]);
});

test('close() stops listening to the table and the gateway events', () => {
  const counts = () => ['state', 'added', 'removed'].map((e) => options.table.listenerCount(e)).concat(['request', 'notice'].map((e) => options.events.listenerCount(e)));
  const before = counts();
  const extra = createDashboard(options);
  assert.ok(counts().every((n, i) => n > before[i]), 'it listens to every event it uses');
  extra.close();
  assert.deepEqual(counts(), before);
});
