import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from '../../orchestrator/net.ts';
import { ROOT } from '../helpers/sim.ts';
import { runUp, type RunningUp } from '../helpers/up.ts';
import { contractMetrics } from '../../scripts/conformance/contract-metrics.ts';
import { exposedNames, metricNames } from './promql-names.ts';
import { engineMetrics } from './engine-metric-names.ts';
import { startEngine, type EngineProcess } from '../sim/engine-fixture.ts';

// The monitoring bundle (docker/prometheus, docker/grafana): promtool checks, the alert rules' own unit
// tests, the Grafana dashboard's queries, and a real Prometheus scraping the demo through the bundle.

const BUNDLE = join(ROOT, 'docker/prometheus');
const GRAFANA = join(ROOT, 'docker/grafana/dashboard.json');
const DEMO_KEYS = ['hermes-2-pro-tgi/gpu0', 'hermes-2-pro-tgi/gpu1', 'llava-v1.6-mistral-7b-tgi/gpu0', 'qwen3-8b-vllm/gpu1'];
const VLLM_KEY = 'qwen3-8b-vllm/gpu1';
const TGI_KEYS = DEMO_KEYS.filter((k) => k !== VLLM_KEY);

/** What the gateway exposes (issue 2 and 4), by base name; histograms marked. */
const GATEWAY_METRICS: Record<string, 'histogram' | 'plain'> = {
  gateway_requests_total: 'plain', gateway_request_duration_seconds: 'histogram', gateway_time_to_first_token_seconds: 'histogram',
  gateway_generated_tokens_total: 'plain', gateway_requests_in_flight: 'plain', gateway_rate_limited_total: 'plain', gateway_auth_failures_total: 'plain',
  deployment_ready: 'plain', deployment_restarts_total: 'plain', deployment_start_time_seconds: 'plain', deployment_failed_attempts: 'plain', gpu_memory_used_bytes: 'plain', gpu_memory_total_bytes: 'plain', gpu_utilization_ratio: 'plain',
  gateway_queue_length: 'plain', gateway_queue_wait_seconds: 'histogram', gateway_queue_rejected_total: 'plain',
  gateway_connections_refused_total: 'plain', gateway_requests_shed_total: 'plain', gateway_redis_up: 'plain',
};
/** What real TGI exports: the Metrics table of docs/tgi-contract.md, the one list of tgi_* names. */
const TGI_METRICS: Record<string, 'histogram' | 'summary' | 'plain'> = Object.fromEntries(
  contractMetrics().map(({ name, type }) => [name, type === 'histogram' || type === 'summary' ? type : 'plain']),
);
/** What real vLLM and SGLang export: the Metrics tables of docs/vllm-contract.md and docs/sglang-contract.md. */
const ENGINE_METRICS = { ...engineMetrics('vllm'), ...engineMetrics('sglang') };
/** The engines' series the dashboard must show: running and waiting requests, KV-cache use, time to first token. */
const ENGINE_PANELS = ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:time_to_first_token_seconds', 'sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:token_usage', 'sglang:time_to_first_token_seconds'];
const SERIES_SUFFIXES = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'], plain: [''] };
const KNOWN = new Set(['up', ...Object.entries({ ...GATEWAY_METRICS, ...TGI_METRICS, ...ENGINE_METRICS }).flatMap(([name, kind]) => SERIES_SUFFIXES[kind].map((suffix) => name + suffix))]);

function promtool(...args: string[]): string {
  const r = spawnSync('promtool', args, { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, `promtool ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

interface GrafanaPanel { title: string; type: string; datasource?: { uid: string }; targets?: { expr: string; datasource?: { uid: string } }[]; panels?: GrafanaPanel[] }
interface GrafanaDashboard { __inputs: { name: string; type: string; pluginId: string }[]; panels: GrafanaPanel[]; templating: { list: { name: string; query: { query: string } | string; datasource: { uid: string } }[] } }

async function grafanaQueries(): Promise<{ title: string; expr: string }[]> {
  const dashboard = JSON.parse(await readFile(GRAFANA, 'utf8')) as GrafanaDashboard;
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
  const variables = dashboard.templating.list.map((v) => ({ title: `variable ${v.name}`, expr: (typeof v.query === 'string' ? v.query : v.query.query).replace(/^label_values\(([^,]*),.*\)$/, '$1') }));
  return [...queries, ...variables];
}

describe('monitoring bundle', () => {
  test('promtool accepts prometheus.yml (syntax; the token file lives on the Prometheus host) and alerts.yml', () => {
    assert.match(promtool('check', 'config', '--syntax-only', join(BUNDLE, 'prometheus.yml')), /SUCCESS/);
    assert.match(promtool('check', 'rules', join(BUNDLE, 'alerts.yml')), /SUCCESS: 14 rules found/);
  });

  test('every alert fires on a deployment in trouble and stays quiet for a healthy one (promtool test rules)', () => {
    assert.match(promtool('test', 'rules', 'test/monitoring/alerts-rules.yml'), /SUCCESS/);
  });

  test('prometheus.yml: gateway and tgi jobs with the bearer token from a file; tgi targets from the gateway service discovery', async () => {
    const config = parse(await readFile(join(BUNDLE, 'prometheus.yml'), 'utf8'));
    assert.deepEqual(config.rule_files, ['alerts.yml']);
    const jobs = Object.fromEntries(config.scrape_configs.map((j: { job_name: string }) => [j.job_name, j]));
    const bearer = { type: 'Bearer', credentials_file: '/etc/prometheus/gateway-token' };
    assert.deepEqual(jobs.gateway.authorization, bearer);
    assert.equal(jobs.gateway.metrics_path, '/metrics');
    assert.deepEqual(jobs.tgi.authorization, bearer, 'the tgi scrapes go through the gateway: same token');
    assert.equal(jobs.tgi.http_sd_configs.length, 1);
    assert.match(jobs.tgi.http_sd_configs[0].url, /^http:\/\/[^/]+\/prometheus\/targets$/);
    assert.deepEqual(jobs.tgi.http_sd_configs[0].authorization, bearer);
  });

  test('Grafana dashboard: importable with a DS_PROMETHEUS input, every query uses it and reads only metrics the gateway or an engine (TGI, vLLM, SGLang) exposes', async () => {
    const dashboard = JSON.parse(await readFile(GRAFANA, 'utf8')) as GrafanaDashboard;
    assert.deepEqual(dashboard.__inputs.map((i) => [i.name, i.type, i.pluginId]), [['DS_PROMETHEUS', 'datasource', 'prometheus']]);
    for (const p of dashboard.panels.filter((p) => p.type !== 'row')) {
      assert.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `panel "${p.title}"`);
      for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${DS_PROMETHEUS}', `panel "${p.title}"`);
    }
    const queries = await grafanaQueries();
    const used = new Set<string>();
    for (const { title, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `"${title}" queries no metric: ${expr}`);
      for (const n of names) {
        assert.ok(KNOWN.has(n), `"${title}" queries ${n}, which neither the gateway nor an engine exposes (the engines' series: the Metrics sections of docs/tgi-contract.md, docs/vllm-contract.md, docs/sglang-contract.md)`);
        used.add(n.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    for (const name of Object.keys(GATEWAY_METRICS)) assert.ok(used.has(name), `the dashboard shows nothing of ${name}`);
    for (const name of ['tgi_queue_size', 'tgi_batch_current_size', ...ENGINE_PANELS]) assert.ok(used.has(name), `the dashboard shows nothing of ${name}`);
  });
});

const prometheusMissing = spawnSync('prometheus', ['--version']).error !== undefined;
const skip = prometheusMissing && process.env.CI !== 'true' ? 'prometheus is not installed (apt-get install prometheus)' : false;

describe('a real Prometheus with the bundle, against the demo', { skip }, () => {
  let up: RunningUp;
  let sglang: EngineProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let prometheusOutput = '';
  let dir: string;
  let api: string;

  const query = async (promql: string) => {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, 'success', promql);
    return body.data.result;
  };

  /** Retries `check` (which throws while not yet true) until it passes or the time is up. */
  const eventually = async <T>(what: string, check: () => Promise<T>, timeoutMs = 45_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await check();
      } catch (err) {
        if (Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message}\nprometheus output:\n${prometheusOutput}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  };

  before(async () => {
    up = await runUp({ config: 'models.demo.yaml' });
    await up.waitHealthy();
    dir = await mkdtemp(join(tmpdir(), 'fleet-prometheus-'));

    // The bundle as an operator would install it: the gateway's address in place of localhost:8000,
    // the token in a file of its own, alerts.yml beside it; scrapes every second so the test is short.
    const tokenFile = join(dir, 'gateway-token');
    await writeFile(tokenFile, up.token + '\n', { mode: 0o600 });
    await chmod(tokenFile, 0o600);
    await copyFile(join(BUNDLE, 'alerts.yml'), join(dir, 'alerts.yml'));
    const gateway = `127.0.0.1:${up.port}`;
    const text = (await readFile(join(BUNDLE, 'prometheus.yml'), 'utf8')).replaceAll('localhost:8000', gateway).replaceAll('/etc/prometheus/gateway-token', tokenFile);
    const config = parse(text);
    config.global = { scrape_interval: '1s', evaluation_interval: '1s', scrape_timeout: '1s' };
    for (const job of config.scrape_configs) for (const sd of job.http_sd_configs ?? []) sd.refresh_interval = '1s';
    await writeFile(join(dir, 'prometheus.yml'), stringify(config));
    promtool('check', 'config', join(dir, 'prometheus.yml')); // full check: token file and rules included

    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prometheus = spawn('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    prometheus.stdout!.on('data', (d) => (prometheusOutput += d));
    prometheus.stderr!.on('data', (d) => (prometheusOutput += d));

    // Traffic through the gateway to every demo deployment, streamed and not: TGI's /generate, and
    // the vLLM deployment's own chat completions route (its served name is the models.yaml name).
    for (const key of DEMO_KEYS) {
      for (const stream of [false, true]) {
        const [path, body] = key === VLLM_KEY
          ? [`/${key}/v1/chat/completions`, { model: key.split('/')[0], messages: [{ role: 'user', content: 'Monitoring check' }], max_tokens: 5, stream }]
          : [`/${key}/generate`, { inputs: 'Monitoring check', parameters: { max_new_tokens: 5 }, stream }];
        const res = await up.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        const text = await res.text();
        assert.equal(res.status, 200, `${key} stream=${stream}: ${text}`);
      }
    }
  });

  after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus!.once('exit', r));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await up?.stop();
    await sglang?.stop();
    if (up) await rm(up.stateDir, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the gateway target is up and gateway_requests_total counts the traffic', async () => {
    await eventually('gateway target up', async () => {
      const [target] = await query('up{job="gateway"}');
      assert.equal(target?.value[1], '1', 'up{job="gateway"} is not 1 yet');
    });
    const total = await eventually('gateway_requests_total', async () => {
      const [sum] = await query('sum(gateway_requests_total)');
      assert.ok(Number(sum?.value[1]) >= DEMO_KEYS.length * 2, `sum(gateway_requests_total) = ${sum?.value[1]}`);
      return Number(sum.value[1]);
    });
    assert.ok(total > 0);
    const ready = await query('deployment_ready');
    assert.deepEqual(ready.map((r) => `${r.metric.model}/${r.metric.gpu}=${r.value[1]}`).sort(), DEMO_KEYS.map((k) => `${k}=1`).sort());
    assert.deepEqual(ready.map((r) => `${r.metric.model}/${r.metric.gpu} ${r.metric.engine}`).sort(), DEMO_KEYS.map((k) => `${k} ${k === VLLM_KEY ? 'vllm' : 'tgi'}`).sort(), 'the gateway labels each deployment with its engine');
    const vllmServed = await eventually('gateway_requests_total of the vLLM deployment', async () => {
      const [served] = await query(`sum(gateway_requests_total{model="${VLLM_KEY.split('/')[0]}",engine="vllm",status="200"})`);
      assert.ok(Number(served?.value[1]) >= 2, `${served?.value[1]} requests (its two chat completions, and Prometheus' scrapes of its /metrics)`);
      return served;
    });
    assert.ok(vllmServed);
  });

  test('every simulator is found through the gateway service discovery, scraped through the gateway with model, gpu and engine labels', async () => {
    const ups = await eventually('tgi targets up', async () => {
      const result = await query('up{job="tgi"} == 1');
      assert.equal(result.length, DEMO_KEYS.length, `tgi targets up: ${JSON.stringify(result.map((r) => r.metric))}`);
      return result;
    });
    assert.deepEqual(ups.map((r) => `${r.metric.model}/${r.metric.gpu}`).sort(), [...DEMO_KEYS].sort());
    assert.ok(ups.every((r) => r.metric.instance === `127.0.0.1:${up.port}` && r.metric.model_id), 'targets are the gateway itself, labelled with the model id');
    assert.deepEqual(ups.map((r) => `${r.metric.model}/${r.metric.gpu} ${r.metric.engine}`).sort(), DEMO_KEYS.map((k) => `${k} ${k === VLLM_KEY ? 'vllm' : 'tgi'}`).sort());

    const served = await eventually('tgi_request_count scraped', async () => {
      const result = await query('tgi_request_count{job="tgi"} > 0');
      assert.equal(result.length, TGI_KEYS.length, `tgi_request_count: ${JSON.stringify(result)}`);
      return result;
    });
    assert.deepEqual(served.map((r) => `${r.metric.model}/${r.metric.gpu}`).sort(), [...TGI_KEYS].sort());
    assert.ok(served.every((r) => r.metric.engine === 'tgi'));
    assert.equal((await query('tgi_queue_size{job="tgi"}')).length, TGI_KEYS.length);

    // vLLM's series keep their names; its own engine="0" (the engine-core index) yields to the target's engine label.
    const vllm = await eventually('vllm:generation_tokens_total scraped', async () => {
      const result = await query('vllm:generation_tokens_total{job="tgi"} > 0');
      assert.equal(result.length, 1, `vllm:generation_tokens_total: ${JSON.stringify(result)}`);
      return result[0];
    });
    assert.deepEqual([`${vllm.metric.model}/${vllm.metric.gpu}`, vllm.metric.engine, vllm.metric.exported_engine, vllm.metric.model_name], [VLLM_KEY, 'vllm', '0', VLLM_KEY.split('/')[0]]);
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']) assert.equal((await query(`${name}{engine="vllm"}`)).length, 1, name);
  });

  test('every metric the Grafana dashboard queries appears in the live /metrics of the gateway or of an engine (TGI, vLLM, SGLang)', async () => {
    const exposed = new Set(['up']);
    const gateway = await up.fetch('/metrics');
    assert.equal(gateway.status, 200);
    for (const n of exposedNames(await gateway.text())) exposed.add(n);
    for (const key of [DEMO_KEYS[0], VLLM_KEY]) {
      const engine = await up.fetch(`/${key}/metrics`);
      assert.equal(engine.status, 200, key);
      for (const n of exposedNames(await engine.text())) exposed.add(n);
    }
    // The demo has no SGLang model: the SGLang simulator's own /metrics (it serves one with --enable-metrics).
    sglang = await startEngine('sglang', { args: ['--enable-metrics'] });
    const sglangMetrics = await fetch(`${sglang.url}/metrics`);
    assert.equal(sglangMetrics.status, 200);
    for (const n of exposedNames(await sglangMetrics.text())) exposed.add(n);
    const missing = (await grafanaQueries()).flatMap(({ title, expr }) => metricNames(expr).filter((n) => !exposed.has(n)).map((n) => `${n} (panel "${title}")`));
    assert.deepEqual([...new Set(missing)], []);
  });
});
