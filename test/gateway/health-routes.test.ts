import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, simBatchSize, startGateway, type GatewayFixture } from './fixture.ts';
import { readStream } from './sse.ts';

// The load balancer's routes on a real gateway in front of real simulators: /health/live (does this
// gateway take requests) and /health/ready (can it serve every model), both without a token.

describe('gateway health routes for a load balancer', () => {
  let simA: SimProcess;
  let simB: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    [simA, simB] = await Promise.all([startSim({ modelId: 'sim/a' }), startSim({ modelId: 'sim/b' })]);
    gw = await startGateway({
      deployments: [
        { model: 'hermes', gpuLabel: 'gpu0', upstream: simA.upstream },
        { model: 'hermes', gpuLabel: 'gpu1', upstream: simB.upstream },
        { model: 'llava', gpuLabel: 'gpu2', upstream: simB.upstream },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([simA?.stop(), simB?.stop()]);
  });

  test('GET and HEAD /health/live answer 200 without a token; other methods get 405 with Allow', async () => {
    const live = await http(`${gw.url}/health/live`);
    assert.equal(live.status, 200);
    assert.deepEqual(live.json(), { status: 'live' });
    assert.equal((await http(`${gw.url}/health/live`, { method: 'HEAD' })).status, 200);
    for (const path of ['/health/live', '/health/ready']) {
      const posted = await http(gw.url + path, { body: {} });
      assert.match(gatewayErrorMessage(posted, 405), new RegExp(`POST is not allowed on ${path}: it takes GET, HEAD`));
      assert.equal(posted.headers.allow, 'GET, HEAD');
    }
  });

  test('GET /health/ready is 200 while every model has a ready replica, else 503 naming the models without one', async () => {
    const ready = await http(`${gw.url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.json(), { status: 'ready', models: ['hermes', 'llava'] });

    const gpu0 = gw.deployment('hermes/gpu0');
    const gpu1 = gw.deployment('hermes/gpu1');
    gpu0.setState('down');
    try {
      assert.equal((await http(`${gw.url}/health/ready`)).status, 200, 'one ready replica of hermes is enough');
      assert.equal((await http(`${gw.url}/health`)).status, 503, '/health keeps its meaning: every deployment ready');
      gpu1.setState('down');
      const notReady = await http(`${gw.url}/health/ready`);
      assert.equal(notReady.status, 503);
      assert.deepEqual(notReady.json(), {
        status: 'not_ready',
        message: 'no ready replica of hermes',
        models_without_ready_replica: [{ model: 'hermes', replicas: [{ route: '/hermes/gpu0', state: 'down' }, { route: '/hermes/gpu1', state: 'down' }] }],
      });
      assert.equal((await http(`${gw.url}/health/live`)).status, 200, 'a gateway without ready replicas still takes requests');
    } finally {
      for (const d of [gpu0, gpu1]) d.setState('loading').setState('ready');
    }
    assert.equal((await http(`${gw.url}/health/ready`)).status, 200);
  });

  test('GET /health/ready is 503 "starting" until the orchestrator has registered the deployments', async () => {
    gw.table.synced = false;
    try {
      const starting = await http(`${gw.url}/health/ready`);
      assert.equal(starting.status, 503);
      assert.equal(starting.json().status, 'starting');
      assert.ok(Number(starting.headers['retry-after']) > 0);
    } finally {
      gw.table.synced = true;
    }
  });

  test('the 404 message lists the health routes', async () => {
    const message = gatewayErrorMessage(await http(`${gw.url}/nowhere`, { token: gw.token }), 404);
    assert.match(message, /\/health, \/health\/live, \/health\/ready/);
  });
});

describe('GET /health/live while the gateway drains', () => {
  let sim: SimProcess;
  after(async () => {
    await sim?.stop();
  });

  test('answers 503 "draining" from the moment close() begins while an in-flight stream finishes', async () => {
    sim = await startSim({ env: { SIM_TOKENS_PER_SECOND: '20' } });
    const gw = await startGateway({ deployments: [{ model: 'hermes', upstream: sim.upstream }] });
    assert.equal((await http(`${gw.url}/health/live`)).status, 200);
    const stream = readStream(`${gw.url}/hermes/gpu0/generate`, gw.token, { inputs: 'Hello', parameters: { max_new_tokens: 10 }, stream: true });
    await eventually(async () => (await simBatchSize(sim)) === 1, 'the stream to start');

    const closing = gw.gateway.close(10_000);
    const draining = await http(`${gw.url}/health/live`);
    assert.equal(draining.status, 503);
    assert.equal(draining.json().status, 'draining');
    assert.equal(draining.headers.connection, 'close');
    assert.equal((await stream).events.length, 10, 'the in-flight stream still completes');
    await closing;
    await gw.close();
  });
});
