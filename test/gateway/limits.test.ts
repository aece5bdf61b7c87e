import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';

// Per-deployment limits enforced by the gateway: readiness (503), the per-client token bucket and the
// concurrency cap (429), each with its headers, metric, record and notice.

describe('gateway limits', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;
  const held: ClientRequest[] = [];

  before(async () => {
    sim = await startSim();
    gw = await startGateway({
      deployments: [
        { model: 'rated', upstream: sim.upstream, limits: { requestsPerSecond: 0.5, burst: 2 } },
        { model: 'capped', upstream: sim.upstream, limits: { maxConcurrentRequests: 1 } },
        { model: 'loading', upstream: sim.upstream, ready: false },
        { model: 'broken', upstream: sim.upstream, ready: false },
        { model: 'racing', upstream: sim.upstream },
      ],
    });
  });
  after(async () => {
    for (const req of held) req.destroy();
    await gw?.close();
    await sim?.stop();
  });

  const generate = (route: string, localAddress?: string) => http(`${gw.url}/${route}/generate`, { token: gw.token, body: { inputs: 'Hi', parameters: { max_new_tokens: 2 } }, localAddress });

  /** Starts a request whose body never completes: it stays in flight at the gateway. */
  function holdRequest(route: string): ClientRequest {
    const req = request(`${gw.url}/${route}/generate`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', 'content-length': '100' } });
    req.on('error', () => {});
    req.write('{"inputs":');
    held.push(req);
    return req;
  }

  test('a client over its rate gets 429 with Retry-After and RateLimit headers; other clients do not', async () => {
    assert.equal((await generate('rated/gpu0')).status, 200);
    assert.equal((await generate('rated/gpu0')).status, 200);
    const limited = await generate('rated/gpu0');
    assert.match(gatewayErrorMessage(limited, 429), /rate limit for rated\/gpu0 reached: 0\.5 requests\/s per client with bursts of 2/);
    assert.equal(limited.json().error.type, 'rate_limit_error');
    assert.ok(Number(limited.headers['retry-after']) >= 1);
    assert.equal(limited.headers['ratelimit-limit'], '2');
    assert.equal(limited.headers['ratelimit-remaining'], '0');
    assert.ok(Number(limited.headers['ratelimit-reset']) >= 1);
    assert.equal(limited.headers['ratelimit-policy'], '0.5;w=1;burst=2');

    assert.equal((await generate('rated/gpu0', '127.0.0.2')).status, 200, 'another address has its own bucket');
    assert.equal((await generate('rated', '127.0.0.2')).status, 200, 'the balanced route shares the replica\'s bucket');
    assert.equal((await generate('rated', '127.0.0.2')).status, 429);

    const record = gw.records.find((r) => r.refusedBy === 'rate');
    assert.deepEqual(record && { key: record.key, status: record.status }, { key: 'rated/gpu0', status: 429 });
    assert.match(gw.notices.find((n) => n.kind === 'rate_limited')?.message ?? '', /rated\/gpu0: clients are being rate limited/);
    const metrics = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
    assert.match(metrics, /^gateway_rate_limited_total\{model="rated",gpu="gpu0",engine="tgi",reason="rate"\} 2$/m);
    assert.match(metrics, /^gateway_requests_total\{model="rated",gpu="gpu0",engine="tgi",status="429"\} 2$/m);
  });

  test('beyond max_concurrent_requests in flight a deployment answers 429 at once', async () => {
    const d = gw.deployment('capped/gpu0');
    const first = holdRequest('capped/gpu0');
    await eventually(() => d.inFlight === 1, 'one request in flight');
    const refused = await generate('capped/gpu0');
    assert.match(gatewayErrorMessage(refused, 429), /capped\/gpu0 already has 1 requests in flight, its max_concurrent_requests/);
    assert.equal(refused.headers['retry-after'], '1');
    assert.ok(refused.headers['ratelimit-limit']);
    const metrics = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
    assert.match(metrics, /^gateway_rate_limited_total\{model="capped",gpu="gpu0",engine="tgi",reason="concurrency"\} 1$/m);
    assert.match(metrics, /^gateway_requests_in_flight\{model="capped",gpu="gpu0",engine="tgi"\} 1$/m);

    first.destroy();
    await eventually(() => d.inFlight === 0, 'the abandoned request to leave');
    assert.equal((await generate('capped/gpu0')).status, 200);
  });

  test('a deployment that is not ready answers 503 with Retry-After, its state and its phase', async () => {
    const loading = gw.deployment('loading/gpu0');
    loading.setState('loading');
    loading.setPhase('downloading weights');
    const res = await generate('loading/gpu0');
    assert.match(gatewayErrorMessage(res, 503), /loading\/gpu0 is not ready: it is loading \(downloading weights\)/);
    assert.equal(res.json().error.type, 'service_unavailable');
    assert.equal(res.headers['retry-after'], '5');
    assert.equal(gw.records.at(-1)?.refusedBy, 'not_ready');

    const broken = gw.deployment('broken/gpu0');
    broken.fail({ message: 'CUDA out of memory', logTail: [] });
    const failed = await generate('broken/gpu0');
    assert.match(gatewayErrorMessage(failed, 503), /broken\/gpu0 is not ready: it is failed: CUDA out of memory; see `npm run logs -- broken\/gpu0`/);
    assert.equal(failed.headers['retry-after'], '30');

    const balanced = await generate('loading');
    assert.match(gatewayErrorMessage(balanced, 503), /no replica of loading is ready \(gpu0 is loading \(downloading weights\)\)/);
  });

  test('a deployment that refuses admit() (it stopped being ready after the check) answers like a not-ready one', async () => {
    const d = gw.deployment('racing/gpu0');
    const admit = d.admit;
    // The server goes down between the gateway's check and its admission of the request.
    d.admit = () => {
      d.setState('down', 'exited with code 1');
      return admit.call(d);
    };
    try {
      const res = await generate('racing/gpu0');
      assert.match(gatewayErrorMessage(res, 503), /racing\/gpu0 is not ready: it is down; retry after the Retry-After seconds/);
      assert.equal(res.headers['retry-after'], '5');
      assert.deepEqual({ key: gw.records.at(-1)?.key, status: gw.records.at(-1)?.status, refusedBy: gw.records.at(-1)?.refusedBy }, { key: 'racing/gpu0', status: 503, refusedBy: 'not_ready' });
      assert.equal(d.inFlight, 0, 'nothing was counted in flight');
    } finally {
      d.admit = admit;
    }
    d.setState('ready');
    assert.equal((await generate('racing/gpu0')).status, 200);
    assert.equal(d.inFlight, 0);
  });
});
