import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';
import { dataEvents } from './sse.ts';

// Routing through a real gateway to real simulators: deployment routes, the balanced route, the root
// OpenAI routes, and the gateway's own /info, /health and 404s.

describe('gateway routes', () => {
  let simA: SimProcess;
  let simB: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    [simA, simB] = await Promise.all([startSim({ modelId: 'sim/replica-a' }), startSim({ modelId: 'sim/replica-b' })]);
    gw = await startGateway({
      deployments: [
        { model: 'hermes', gpuLabel: 'gpu0', upstream: simA.upstream, modelId: 'NousResearch/Hermes-2-Pro-Llama-3-8B' },
        { model: 'hermes', gpuLabel: 'gpu1', upstream: simB.upstream, modelId: 'NousResearch/Hermes-2-Pro-Llama-3-8B', launcher: { dtype: 'bfloat16' } },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([simA?.stop(), simB?.stop()]);
  });

  const post = (path: string, body: object) => http(gw.url + path, { token: gw.token, body });
  const get = (path: string) => http(gw.url + path, { token: gw.token });
  /** Which simulator answered, by the model id its own /info reports. */
  const answeredBy = async (path: string) => (await get(path)).json().model_id as string;

  test('/generate without stream answers the JSON object of the API document', async () => {
    const res = await post('/hermes/gpu0/generate', { inputs: 'What are three key benefits of renewable energy?', parameters: { max_new_tokens: 12, details: true, seed: 42 }, stream: false });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /application\/json/);
    const body = res.json();
    assert.equal(typeof body.generated_text, 'string');
    assert.equal(body.details.generated_tokens, 12);
    assert.equal(body.details.finish_reason, 'length');
    assert.equal(res.headers['x-generated-tokens'], '12', 'TGI timing headers pass through');
  });

  test('/generate with "stream": true answers server-sent events from TGI /generate_stream', async () => {
    const res = await post('/hermes/gpu0/generate', { inputs: 'My name is Olivier and I', parameters: { max_new_tokens: 5, details: true }, stream: true });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /text\/event-stream/);
    assert.equal(res.headers['x-accel-buffering'], 'no');
    const events = dataEvents(res.text).map((e) => JSON.parse(e));
    assert.equal(events.length, 5);
    for (const e of events) assert.equal(typeof e.token.text, 'string');
    assert.equal(typeof events.at(-1).generated_text, 'string');
    assert.equal(events[0].generated_text, null);
  });

  test('every TGI route a deployment serves is passed through', async () => {
    const stream = await post('/hermes/gpu0/generate_stream', { inputs: 'Hello', parameters: { max_new_tokens: 3 } });
    assert.equal(dataEvents(stream.text).length, 3);
    const chat = await post('/hermes/gpu0/v1/chat/completions', { model: 'tgi', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 });
    assert.equal(chat.json().object, 'chat.completion');
    const completions = await post('/hermes/gpu0/v1/completions', { model: 'tgi', prompt: 'Hello', max_tokens: 4 });
    assert.equal(completions.status, 200);
    assert.equal(typeof completions.json().choices[0].text, 'string');
    const tokenize = await post('/hermes/gpu0/tokenize', { inputs: 'Hello world' });
    assert.ok(Array.isArray(tokenize.json()));
    assert.equal((await get('/hermes/gpu0/info')).json().model_id, 'sim/replica-a');
    assert.equal((await get('/hermes/gpu1/info')).json().model_id, 'sim/replica-b');
    assert.equal((await get('/hermes/gpu0/health')).status, 200);
    assert.equal((await get('/hermes/gpu0/v1/models')).json().object, 'list');
    assert.match((await get('/hermes/gpu0/metrics')).text, /^tgi_request_count/m);
  });

  test('a deployment\'s /info keeps every field TGI returns and adds the API document\'s model_dtype, model_device_type, max_sequence_length and timestamp', async () => {
    const own = (await (await fetch(`${simA.url}/info`)).json()) as Record<string, unknown>;
    const res = await get('/hermes/gpu0/info');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(res.text)));
    const info = res.json();
    for (const [field, value] of Object.entries(own)) assert.deepEqual(info[field], value, field);
    assert.equal(info.model_dtype, null, 'models.yaml left the dtype to TGI');
    assert.equal(info.model_device_type, 'cuda');
    assert.equal(info.max_sequence_length, own.max_total_tokens);
    assert.ok(Math.abs(Date.parse(info.timestamp) - Date.now()) < 60_000, info.timestamp);
    assert.equal((await get('/hermes/gpu1/info')).json().model_dtype, 'bfloat16');
  });

  test('the query string is passed upstream', async () => {
    const res = await get('/hermes/gpu0/info?verbose=1');
    assert.equal(res.status, 200);
    assert.equal(res.json().model_id, 'sim/replica-a');
  });

  test('the balanced route sends each request to the replica with the fewest in flight', async () => {
    const gpu0 = gw.deployment('hermes/gpu0');
    // A request whose body never finishes keeps one exchange in flight on gpu0.
    const held = request(`${gw.url}/hermes/gpu0/generate`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', 'content-length': '1000' } });
    held.on('error', () => {});
    held.write('{"inputs": "');
    await eventually(() => gpu0.inFlight === 1, 'gpu0 to have one request in flight');
    for (let i = 0; i < 4; i++) assert.equal(await answeredBy('/hermes/info'), 'sim/replica-b');
    held.destroy();
    await eventually(() => gpu0.inFlight === 0, 'the abandoned request to leave gpu0');
    const both = new Set<string>();
    for (let i = 0; i < 4; i++) both.add(await answeredBy('/hermes/info'));
    assert.deepEqual([...both].sort(), ['sim/replica-a', 'sim/replica-b'], 'idle replicas take turns');
  });

  test('the balanced route skips replicas that are not ready, and says which are not when none is', async () => {
    const gpu1 = gw.deployment('hermes/gpu1');
    const gpu0 = gw.deployment('hermes/gpu0');
    gpu1.setState('down');
    try {
      for (let i = 0; i < 3; i++) assert.equal(await answeredBy('/hermes/info'), 'sim/replica-a');
      gpu0.setState('down');
      const res = await get('/hermes/info');
      const message = gatewayErrorMessage(res, 503);
      assert.match(message, /gpu0 is down/);
      assert.match(message, /gpu1 is down/);
      assert.ok(Number(res.headers['retry-after']) > 0);
    } finally {
      gpu0.setState('ready');
      gpu1.setState('ready');
    }
  });

  test('root /v1/chat/completions and /v1/completions route by the body\'s model', async () => {
    const chat = (model: string) => post('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 });
    assert.equal((await chat('hermes')).json().object, 'chat.completion');
    const before = gw.records.length;
    assert.equal((await chat('hermes/gpu1')).status, 200);
    assert.equal(gw.records.at(-1)?.key, 'hermes/gpu1');
    assert.equal((await chat('NousResearch/Hermes-2-Pro-Llama-3-8B')).status, 200, 'the Hugging Face model id names the model too');
    assert.equal(gw.records.length, before + 2);
    const completions = await post('/v1/completions', { model: 'hermes/gpu0', prompt: 'Hello', max_tokens: 3 });
    assert.equal(completions.status, 200);
    assert.equal(gw.records.at(-1)?.key, 'hermes/gpu0');

    const unknown = await chat('gpt-4');
    assert.match(gatewayErrorMessage(unknown, 404), /unknown model "gpt-4"; valid models: hermes/);
    const missing = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }] });
    assert.match(gatewayErrorMessage(missing, 400), /needs "model"/);
  });

  test('root GET /v1/models lists the models in the OpenAI list shape', async () => {
    const list = (await get('/v1/models')).json();
    assert.equal(list.object, 'list');
    assert.deepEqual(list.data.map((m: { id: string }) => m.id), ['hermes']);
    const [hermes] = list.data;
    assert.equal(hermes.object, 'model');
    assert.equal(typeof hermes.created, 'number');
    assert.deepEqual(hermes.replicas.map((r: { id: string }) => r.id), ['hermes/gpu0', 'hermes/gpu1']);
  });

  test('GET /info lists every deployment with its route, GPUs, state, upstream and TGI /info', async () => {
    gw.deployment('hermes/gpu0').tgiInfo = { model_id: 'sim/replica-a', max_total_tokens: 4096 };
    const info = (await get('/info')).json();
    assert.equal(info.deployments.length, 2);
    const [gpu0, gpu1] = info.deployments;
    assert.deepEqual(
      { route: gpu0.route, model: gpu0.model, model_id: gpu0.model_id, gpus: gpu0.gpus, state: gpu0.state, upstream: gpu0.upstream, restarts: gpu0.restarts },
      { route: '/hermes/gpu0', model: 'hermes', model_id: 'NousResearch/Hermes-2-Pro-Llama-3-8B', gpus: [0], state: 'ready', upstream: simA.url, restarts: 0 },
    );
    assert.deepEqual(gpu0.tgi_info, { model_id: 'sim/replica-a', max_total_tokens: 4096 });
    assert.equal(gpu0.engine, 'tgi', 'a spec without an engine runs TGI');
    assert.equal(gpu1.route, '/hermes/gpu1');
    assert.equal(gpu1.upstream, simB.url);
    assert.ok('phase' in gpu1 && 'tgi_info' in gpu1);
    assert.deepEqual({ started_at: gpu0.started_at, attempts: gpu0.attempts, next_retry_at: gpu0.next_retry_at, failure: gpu0.failure }, { started_at: null, attempts: 0, next_retry_at: null, failure: null });
  });

  test('GET /info shows when the server started, its start attempts, its next retry and its last failure', async () => {
    const d = gw.deployment('hermes/gpu1');
    d.startedAt = Date.UTC(2025, 0, 2, 3, 4, 5);
    d.attempts = 3;
    d.nextRetryAt = Date.UTC(2025, 0, 2, 3, 5, 0);
    d.lastFailure = { message: 'CUDA out of memory', diagnosis: 'the model does not fit: lower max_total_tokens', logTail: ['torch.OutOfMemoryError'] };
    try {
      const gpu1 = (await get('/info')).json().deployments[1];
      assert.deepEqual(
        { started_at: gpu1.started_at, attempts: gpu1.attempts, next_retry_at: gpu1.next_retry_at, failure: gpu1.failure },
        { started_at: '2025-01-02T03:04:05.000Z', attempts: 3, next_retry_at: '2025-01-02T03:05:00.000Z', failure: { message: 'CUDA out of memory', diagnosis: 'the model does not fit: lower max_total_tokens' } },
      );
      assert.ok(!JSON.stringify(gpu1).includes('torch.OutOfMemoryError'), 'no log tail in /info');
    } finally {
      d.startedAt = undefined;
      d.attempts = 0;
      d.nextRetryAt = undefined;
      d.lastFailure = undefined;
    }
  });

  test('GET /health needs no token: 200 when every deployment is ready, else 503 naming the others', async () => {
    const healthy = await http(`${gw.url}/health`);
    assert.equal(healthy.status, 200);
    assert.deepEqual(healthy.json(), { status: 'healthy' });
    const gpu1 = gw.deployment('hermes/gpu1');
    gpu1.setState('down');
    gpu1.setState('loading');
    gpu1.setPhase('warming up');
    try {
      const unhealthy = await http(`${gw.url}/health`);
      assert.equal(unhealthy.status, 503);
      assert.deepEqual(unhealthy.json(), { status: 'unhealthy', not_ready: [{ route: '/hermes/gpu1', state: 'loading', phase: 'warming up' }] });
    } finally {
      gpu1.setState('ready');
    }
  });

  test('GET /health is 503 "starting", with Retry-After, until the orchestrator has registered the deployments', async () => {
    gw.table.synced = false;
    try {
      const starting = await http(`${gw.url}/health`);
      assert.equal(starting.status, 503);
      assert.equal(starting.json().status, 'starting');
      assert.ok(Number(starting.headers['retry-after']) > 0, `retry-after: ${starting.headers['retry-after']}`);
    } finally {
      gw.table.synced = true;
    }
    assert.equal((await http(`${gw.url}/health`)).status, 200);
  });

  test('the Express app on its own serves the same deployment routes, behind the same auth', async () => {
    const server = createServer(gw.gateway.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal((await http(`${url}/hermes/gpu0/info`)).status, 401);
      assert.equal((await http(`${url}/hermes/gpu1/info`, { token: gw.token })).json().model_id, 'sim/replica-b');
      assert.equal((await http(`${url}/hermes/gpu0/generate`, { token: gw.token, body: { inputs: 'Hi', parameters: { max_new_tokens: 2 } } })).status, 200);
      gatewayErrorMessage(await http(`${url}/hermes/gpu9/info`, { token: gw.token }), 404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  test('unknown models, GPUs and endpoints are 404s that list what exists', async () => {
    const model = gatewayErrorMessage(await post('/llama/gpu0/generate', { inputs: 'x' }), 404);
    assert.match(model, /\/hermes\/gpu0/);
    assert.match(model, /\/hermes\/gpu1/);
    const gpu = gatewayErrorMessage(await post('/hermes/gpu7/generate', { inputs: 'x' }), 404);
    assert.match(gpu, /hermes has no replica on gpu7/);
    const record = gw.records.at(-1);
    assert.deepEqual({ key: record?.key, model: record?.model, status: record?.status, refusedBy: record?.refusedBy }, { key: undefined, model: 'hermes', status: 404, refusedBy: 'not_found' });
    assert.match(gpu, /\/hermes\/gpu0, .*\/hermes\/gpu1/);
    const endpoint = gatewayErrorMessage(await get('/hermes/gpu0/docs'), 404);
    assert.match(endpoint, /\/hermes\/gpu0\/docs is not a route/);
    assert.match(endpoint, /\/generate, \/generate_stream/);
  });
});
