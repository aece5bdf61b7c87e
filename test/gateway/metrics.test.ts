import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';
import { startEngine, type EngineProcess } from '../sim/engine-fixture.ts';
import { http, startGateway, testSpec, type GatewayFixture } from './fixture.ts';

describe('gateway /metrics', () => {
  let sim: SimProcess;
  let vllm: EngineProcess;
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim();
    // Served under its models.yaml name, as the orchestrator starts it (--served-model-name).
    vllm = await startEngine('vllm', { model: 'Qwen/Qwen3-8B', args: ['--served-model-name', 'qwen'] });
    gw = await startGateway({
      deployments: [
        { model: 'hermes', gpuLabel: 'gpu0', upstream: sim.upstream },
        { model: 'hermes', gpuLabel: 'gpu1', upstream: sim.upstream, ready: false },
        { model: 'big', gpuLabel: 'gpu2-3', upstream: sim.upstream },
      ],
      gpus: [
        { index: 0, uuid: 'GPU-0', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 512, utilizationPercent: 25 },
        { index: 1, uuid: 'GPU-1', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: 0, utilizationPercent: 0 },
      ],
    });
    for (const [gpuLabel, ready] of [['gpu4', true], ['gpu5', false]] as const) {
      const d = new StubDeployment({ ...testSpec({ model: 'qwen', gpuLabel, modelId: 'Qwen/Qwen3-8B' }), engine: 'vllm' }, { upstream: { host: '127.0.0.1', port: vllm.port, url: vllm.url } });
      gw.table.add(ready ? d.becomeReady() : d);
    }
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
    await vllm?.stop();
  });

  const scrape = async () => (await http(`${gw.url}/metrics`, { token: gw.token })).text;
  const value = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test('every documented series is exposed, in Prometheus text format', async () => {
    const res = await http(`${gw.url}/metrics`, { token: gw.token });
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const name of [
      'gateway_requests_total',
      'gateway_request_duration_seconds',
      'gateway_time_to_first_token_seconds',
      'gateway_generated_tokens_total',
      'gateway_requests_in_flight',
      'gateway_rate_limited_total',
      'gateway_auth_failures_total',
      'gateway_queue_length',
      'gateway_queue_wait_seconds',
      'gateway_queue_rejected_total',
      'deployment_ready',
      'deployment_restarts_total',
      'deployment_start_time_seconds',
      'deployment_failed_attempts',
      'gpu_memory_used_bytes',
      'gpu_memory_total_bytes',
      'gpu_utilization_ratio',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      assert.match(res.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
  });

  test('fleet series come from the table and the GPU inventory at scrape time', async () => {
    gw.deployment('hermes/gpu0').restarts = 2;
    gw.deployment('hermes/gpu0').startedAt = 1_700_000_000_500;
    gw.deployment('hermes/gpu1').attempts = 3;
    const text = await scrape();
    assert.equal(value(text, 'deployment_start_time_seconds{model="hermes",gpu="gpu0",engine="tgi"}'), 1_700_000_000.5);
    assert.equal(value(text, 'deployment_failed_attempts{model="hermes",gpu="gpu1",engine="tgi"}'), 3);
    assert.equal(value(text, 'deployment_failed_attempts{model="hermes",gpu="gpu0",engine="tgi"}'), 0);
    assert.equal(value(text, 'deployment_ready{model="hermes",gpu="gpu0",engine="tgi"}'), 1);
    assert.equal(value(text, 'deployment_ready{model="hermes",gpu="gpu1",engine="tgi"}'), 0);
    assert.equal(value(text, 'deployment_ready{model="big",gpu="gpu2-3",engine="tgi"}'), 1);
    assert.equal(value(text, 'deployment_restarts_total{model="hermes",gpu="gpu0",engine="tgi"}'), 2);
    assert.equal(value(text, 'gateway_requests_in_flight{model="hermes",gpu="gpu0",engine="tgi"}'), 0);
    assert.equal(value(text, 'gpu_memory_used_bytes{gpu="gpu0"}'), 512 * 1024 * 1024);
    assert.equal(value(text, 'gpu_memory_total_bytes{gpu="gpu1"}'), 81559 * 1024 * 1024);
    assert.equal(value(text, 'gpu_utilization_ratio{gpu="gpu0"}'), 0.25);
  });

  test('request series count what went through', async () => {
    const before = await scrape();
    const requests = (status: number, text: string) => value(text, `gateway_requests_total{model="hermes",gpu="gpu0",engine="tgi",status="${status}"}`) ?? 0;
    const tokens = (text: string) => value(text, 'gateway_generated_tokens_total{model="hermes",gpu="gpu0",engine="tgi"}') ?? 0;
    const durations = (text: string) => value(text, 'gateway_request_duration_seconds_count{model="hermes",gpu="gpu0",engine="tgi"}') ?? 0;

    for (let i = 0; i < 3; i++) {
      const res = await http(`${gw.url}/hermes/gpu0/generate`, { token: gw.token, body: { inputs: 'Hello', parameters: { max_new_tokens: 7 } } });
      assert.equal(res.status, 200);
    }
    const invalid = await http(`${gw.url}/hermes/gpu0/generate`, { token: gw.token, body: { inputs: 'Hello', parameters: { temperature: 0 } } }); // TGI: "`temperature` must be strictly positive"
    assert.equal(invalid.status, 422);
    const notReady = await http(`${gw.url}/hermes/gpu1/generate`, { token: gw.token, body: { inputs: 'Hello' } });
    assert.equal(notReady.status, 503);

    const after = await scrape();
    assert.equal(requests(200, after) - requests(200, before), 3);
    assert.equal(requests(422, after) - requests(422, before), 1);
    assert.equal(value(after, 'gateway_requests_total{model="hermes",gpu="gpu1",engine="tgi",status="503"}'), 1);
    assert.equal(tokens(after) - tokens(before), 21, 'from x-generated-tokens');
    assert.equal(durations(after) - durations(before), 4);
  });

  test('every deployment series carries its engine; a vLLM deployment is counted like a TGI one', async () => {
    const text = await scrape();
    assert.equal(value(text, 'deployment_ready{model="qwen",gpu="gpu4",engine="vllm"}'), 1);
    assert.equal(value(text, 'deployment_ready{model="qwen",gpu="gpu5",engine="vllm"}'), 0);
    assert.equal(value(text, 'gateway_requests_in_flight{model="qwen",gpu="gpu4",engine="vllm"}'), 0);
    assert.equal(value(text, 'deployment_restarts_total{model="qwen",gpu="gpu4",engine="vllm"}'), 0);
    for (const line of text.split('\n').filter((l) => /^(gateway_requests_in_flight|deployment_ready|deployment_restarts_total|deployment_failed_attempts)\{/.test(l))) {
      assert.match(line, /,engine="(tgi|vllm)"[,}]/, `every deployment series has the engine label: ${line}`);
    }

    const chat = await http(`${gw.url}/qwen/gpu4/v1/chat/completions`, { token: gw.token, body: { model: 'qwen', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 } });
    assert.equal(chat.status, 200, chat.text);
    const notReady = await http(`${gw.url}/qwen/gpu5/v1/chat/completions`, { token: gw.token, body: { model: 'qwen', messages: [{ role: 'user', content: 'Hello' }] } });
    assert.equal(notReady.status, 503);
    const after = await scrape();
    assert.equal(value(after, 'gateway_requests_total{model="qwen",gpu="gpu4",engine="vllm",status="200"}'), 1);
    assert.equal(value(after, 'gateway_requests_total{model="qwen",gpu="gpu5",engine="vllm",status="503"}'), 1);
    assert.equal(value(after, 'gateway_request_duration_seconds_count{model="qwen",gpu="gpu4",engine="vllm"}'), 1);
  });

  test("a model with no ready replica is counted under gpu=\"\" with the model's engine", async () => {
    gw.deployment('qwen/gpu4').setState('down');
    try {
      const res = await http(`${gw.url}/qwen/v1/chat/completions`, { token: gw.token, body: { model: 'qwen', messages: [{ role: 'user', content: 'Hello' }] } });
      assert.equal(res.status, 503, res.text);
      assert.equal(value(await scrape(), 'gateway_requests_total{model="qwen",gpu="",engine="vllm",status="503"}'), 1);
    } finally {
      gw.deployment('qwen/gpu4').setState('loading').setState('ready');
    }
  });

  test("a vLLM deployment's /metrics is relayed: the engine's own vllm:* series", async () => {
    const res = await http(`${gw.url}/qwen/gpu4/metrics`, { token: gw.token });
    assert.equal(res.status, 200);
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:time_to_first_token_seconds']) {
      assert.match(res.text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(res.text, /^vllm:num_requests_running\{engine="0",model_name="qwen"\} 0/m);
  });
});
