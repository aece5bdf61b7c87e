import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, simBatchSize, startGateway } from './fixture.ts';
import { readStream } from './sse.ts';

describe('gateway close', () => {
  const sims: SimProcess[] = [];
  after(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });

  test('close() refuses new requests with 503, lets in-flight streams finish, then stops listening', async () => {
    const sim = await startSim({ env: { SIM_TOKENS_PER_SECOND: '20' } });
    sims.push(sim);
    const gw = await startGateway({ deployments: [{ model: 'hermes', upstream: sim.upstream }] });
    const stream = readStream(`${gw.url}/hermes/gpu0/generate`, gw.token, { inputs: 'Hello', parameters: { max_new_tokens: 10 }, stream: true });
    await eventually(async () => (await simBatchSize(sim)) === 1, 'the stream to start');

    let closed = false;
    const closing = gw.gateway.close(10_000).then(() => (closed = true));
    const refused = await http(`${gw.url}/hermes/gpu0/info`, { token: gw.token });
    assert.match(gatewayErrorMessage(refused, 503), /the gateway is shutting down/);
    assert.equal(refused.headers.connection, 'close');
    assert.equal(refused.headers['retry-after'], '5');
    assert.equal((await http(`${gw.url}/health`)).status, 503);
    assert.equal(closed, false, 'still draining while the stream runs');

    const result = await stream;
    assert.equal(result.events.length, 10, 'the in-flight stream completed');
    await closing;
    await assert.rejects(http(`${gw.url}/health`), /ECONNREFUSED/);
    await gw.close();
  });

  test('close() gives up on in-flight requests after the drain timeout', async () => {
    const sim = await startSim({ env: { SIM_HANG: '1' } });
    sims.push(sim);
    const gw = await startGateway({ deployments: [{ model: 'hermes', upstream: sim.upstream }] });
    const hanging = http(`${gw.url}/hermes/gpu0/generate`, { token: gw.token, body: { inputs: 'Hello' } });
    await eventually(() => gw.deployment('hermes/gpu0').inFlight === 1, 'the request to be in flight');
    await gw.gateway.close(200);
    await assert.rejects(hanging, /socket hang up|ECONNRESET/);
    await eventually(() => gw.deployment('hermes/gpu0').inFlight === 0, 'the request to be forgotten');
    await eventually(async () => (await simBatchSize(sim)) === 0, 'the upstream request to be cancelled');
    await gw.close();
  });
});
