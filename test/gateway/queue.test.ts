import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';

// The queue in front of full deployments: requests that find every ready replica of their model full
// wait (up to queue_timeout) for the next free slot, served round-robin across clients, bounded by
// queue_max; against a real gateway and a simulator whose answers take a while (20 tokens/s).

describe('gateway queue', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;
  const held: ClientRequest[] = [];

  before(async () => {
    sim = await startSim({ env: { SIM_TOKENS_PER_SECOND: '20' } });
    gw = await startGateway({
      deployments: [
        { model: 'burst', upstream: sim.upstream, limits: { maxConcurrentRequests: 2, queueTimeoutMs: 20_000 } },
        { model: 'fair', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000, queueMax: 20 } },
        { model: 'small', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000, queueMax: 1 } },
        { model: 'crowded', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000, queueMax: 3 } },
        { model: 'keyed', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000, queueMax: 20 } },
        { model: 'capped', upstream: sim.upstream, limits: { maxConcurrentRequests: 2, queueTimeoutMs: 20_000 } },
        { model: 'impatient', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 300 } },
        { model: 'leaving', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000 } },
        { model: 'rated', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000, requestsPerSecond: 0.01, burst: 1 } },
        { model: 'unqueued', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 0 } },
        { model: 'pair', gpuLabel: 'gpu0', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000 } },
        { model: 'pair', gpuLabel: 'gpu1', upstream: sim.upstream, limits: { maxConcurrentRequests: 1, queueTimeoutMs: 20_000 } },
      ],
      keys: [{ name: 'heavy' }, { name: 'light' }, { name: 'one-at-a-time', limits: { maxConcurrent: 1 } }],
    });
  });
  after(async () => {
    for (const req of held) req.destroy();
    await gw?.close();
    await sim?.stop();
  });

  const generate = (route: string, localAddress?: string, tokens = 2) => http(`${gw.url}/${route}/generate`, { token: gw.token, body: { inputs: 'Hi', parameters: { max_new_tokens: tokens } }, localAddress });
  const metrics = async () => (await http(`${gw.url}/metrics`, { token: gw.token })).text;
  const queueLength = async (model: string) => Number(new RegExp(`^gateway_queue_length\\{model="${model}"\\} (\\d+)$`, 'm').exec(await metrics())?.[1]);

  /** Starts a request whose body never completes: it holds a slot at the gateway until destroyed. */
  function holdRequest(route: string): ClientRequest {
    const req = request(`${gw.url}/${route}/generate`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json', 'content-length': '100' } });
    req.on('error', () => {});
    req.write('{"inputs":');
    held.push(req);
    return req;
  }

  test('a burst beyond max_concurrent_requests waits for slots and every request succeeds', async () => {
    const d = gw.deployment('burst/gpu0');
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, d.inFlight)), 5);
    const results = await Promise.all(Array.from({ length: 8 }, () => generate('burst', undefined, 4)));
    clearInterval(watch);
    assert.deepEqual(results.map((r) => r.status), Array(8).fill(200));
    assert.ok(most <= 2, `never more than the cap in flight (saw ${most})`);
    const text = await metrics();
    const waited = Number(/^gateway_queue_wait_seconds_count\{model="burst"\} (\d+)$/m.exec(text)?.[1]);
    assert.ok(waited >= 6, `at least 6 of the 8 waited (counted ${waited})`);
    assert.match(text, /^gateway_queue_length\{model="burst"\} 0$/m);
    assert.doesNotMatch(text, /gateway_rate_limited_total\{model="burst"/);
  });

  test('the queue is served round-robin across clients: a light client is not stuck behind a heavy one', async () => {
    const order: string[] = [];
    const send = (who: string, address: string) => generate('fair', address, 2).then((r) => (order.push(who), r.status));
    const first = holdRequest('fair/gpu0');
    await eventually(() => gw.deployment('fair/gpu0').inFlight === 1, 'the first request to hold the slot');
    const heavy = Array.from({ length: 10 }, () => send('heavy', '127.0.0.2'));
    await eventually(async () => (await queueLength('fair')) === 10, 'the heavy client\'s ten requests to wait');
    const light = send('light', '127.0.0.3');
    await eventually(async () => (await queueLength('fair')) === 11, 'the light client\'s request to wait');
    first.destroy();
    const statuses = await Promise.all([...heavy, light]);
    assert.deepEqual(statuses, Array(11).fill(200));
    assert.ok(order.indexOf('light') <= 2, `the light client's request was served within the first slots, not after the heavy client's (order: ${order.join(' ')})`);
  });

  test('turns go round API keys, not addresses: a light key is not stuck behind a heavy key sending from the same address', async () => {
    const order: string[] = [];
    const send = (who: 'heavy' | 'light') =>
      http(`${gw.url}/keyed/generate`, { token: gw.keys[who], body: { inputs: 'Hi', parameters: { max_new_tokens: 2 } }, localAddress: '127.0.0.2' }).then((r) => (order.push(who), r.status));
    const first = holdRequest('keyed/gpu0');
    await eventually(() => gw.deployment('keyed/gpu0').inFlight === 1, 'the first request to hold the slot');
    const heavy = Array.from({ length: 8 }, () => send('heavy'));
    await eventually(async () => (await queueLength('keyed')) === 8, "the heavy key's requests to wait");
    const light = send('light');
    await eventually(async () => (await queueLength('keyed')) === 9, "the light key's request to wait");
    first.destroy();
    assert.deepEqual(await Promise.all([...heavy, light]), Array(9).fill(200));
    assert.ok(order.indexOf('light') <= 1, `the light key was served within the first two slots (order: ${order.join(' ')})`);
  });

  test("a waiting request of a key at its --max-concurrent keeps its place until the key's own request ends", async () => {
    const d = gw.deployment('capped/gpu0');
    const holds = [holdRequest('capped/gpu0'), holdRequest('capped/gpu0')];
    await eventually(() => d.inFlight === 2, 'two requests to hold both slots');
    const send = () => http(`${gw.url}/capped/generate`, { token: gw.keys['one-at-a-time'], body: { inputs: 'Hi', parameters: { max_new_tokens: 10 } } });
    const both = [send(), send()];
    await eventually(async () => (await queueLength('capped')) === 2, "the key's two requests to wait (its key had none in flight when they came)");
    holds[0].destroy();
    await eventually(() => d.inFlight === 2, "one of the key's requests to take the freed slot");
    let settled = 0;
    both.forEach((p) => p.then(() => (settled += 1)));
    holds[1].destroy();
    // The freed slot stays free: the key's other request waits while its first one runs.
    await eventually(() => d.inFlight === 1, 'the second hold to end');
    assert.equal(settled, 0, "the key's first request is still running");
    assert.equal(await queueLength('capped'), 1, "the key's second request still waits, with a slot free");
    const statuses = await Promise.all(both);
    assert.deepEqual(statuses.map((r) => r.status), [200, 200]);
    assert.equal(await queueLength('capped'), 0);
  });

  test('a full queue (queue_max) answers 429 at once with Retry-After', async () => {
    const first = holdRequest('small/gpu0');
    await eventually(() => gw.deployment('small/gpu0').inFlight === 1, 'the first request to hold the slot');
    const waiting = generate('small');
    await eventually(async () => (await queueLength('small')) === 1, 'the second request to wait');
    const startedAt = Date.now();
    const refused = await generate('small');
    assert.ok(Date.now() - startedAt < 1000, 'refused at once');
    assert.match(gatewayErrorMessage(refused, 429), /every ready replica of small is at its max_concurrent_requests and 1 requests already wait for a slot, its queue_max/);
    assert.equal(refused.json().error.type, 'rate_limit_error');
    assert.equal(refused.headers['retry-after'], '1');
    assert.match(await metrics(), /^gateway_queue_rejected_total\{model="small",reason="full"\} 1$/m);
    assert.equal(gw.records.find((r) => r.refusedBy === 'queue_full')?.status, 429);
    assert.match(gw.notices.find((n) => n.kind === 'rate_limited' && n.message.startsWith('small:'))?.message ?? '', /small: every ready replica is full and its queue holds queue_max requests/);

    first.destroy();
    assert.equal((await waiting).status, 200, 'the waiting request took the freed slot');
  });

  test("a full queue is not one client's: a newcomer with fewer waiting takes the place of the busiest client's newest request", async () => {
    const first = holdRequest('crowded/gpu0');
    await eventually(() => gw.deployment('crowded/gpu0').inFlight === 1, 'the first request to hold the slot');
    const heavy = Array.from({ length: 3 }, () => generate('crowded', '127.0.0.2'));
    await eventually(async () => (await queueLength('crowded')) === 3, "the heavy client's requests to fill the queue");
    const light = generate('crowded', '127.0.0.3');
    const pushedOut = await Promise.race(heavy);
    assert.match(gatewayErrorMessage(pushedOut, 429), /the queue of crowded is full \(queue_max\) and your client had the most requests waiting in it/);
    assert.equal(pushedOut.headers['retry-after'], '1');
    assert.equal(await queueLength('crowded'), 3, 'the light request waits in its place');
    // Now the heavy client has two waiting and the light one one: a heavy newcomer cannot push anyone out.
    const equalShare = await generate('crowded', '127.0.0.2');
    assert.match(gatewayErrorMessage(equalShare, 429), /every ready replica of crowded is at its max_concurrent_requests and 3 requests already wait/, 'the heavy client, with the most waiting, cannot push anyone out');
    first.destroy();
    const statuses = await Promise.all([light, ...heavy]);
    assert.deepEqual(statuses.map((r) => r.status).sort(), [200, 200, 200, 429]);
    assert.match(await metrics(), /^gateway_queue_rejected_total\{model="crowded",reason="full"\} 2$/m);
  });

  test('a request that waits queue_timeout for nothing gets 429 with Retry-After, saying how long it waited', async () => {
    const first = holdRequest('impatient/gpu0');
    await eventually(() => gw.deployment('impatient/gpu0').inFlight === 1, 'the first request to hold the slot');
    const startedAt = Date.now();
    const timedOut = await generate('impatient');
    const waitedMs = Date.now() - startedAt;
    assert.ok(waitedMs >= 280 && waitedMs < 2000, `answered after queue_timeout (${waitedMs} ms)`);
    assert.match(gatewayErrorMessage(timedOut, 429), /waited 0\.3 s in the queue of impatient \(queue_timeout\)/);
    assert.equal(timedOut.headers['retry-after'], '5');
    const text = await metrics();
    assert.match(text, /^gateway_queue_rejected_total\{model="impatient",reason="timeout"\} 1$/m);
    assert.match(text, /^gateway_queue_length\{model="impatient"\} 0$/m);
    assert.equal(gw.records.find((r) => r.refusedBy === 'queue_timeout')?.key, 'impatient/gpu0');

    first.destroy();
    await eventually(() => gw.deployment('impatient/gpu0').inFlight === 0, 'the slot to be free');
    assert.equal((await generate('impatient')).status, 200);
  });

  test('a client that disconnects while waiting leaves the queue without taking a slot', async () => {
    const d = gw.deployment('leaving/gpu0');
    const first = holdRequest('leaving/gpu0');
    await eventually(() => d.inFlight === 1, 'the first request to hold the slot');
    const quitter = request(`${gw.url}/leaving/generate`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' } });
    quitter.on('error', () => {});
    quitter.end(JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } }));
    await eventually(async () => (await queueLength('leaving')) === 1, 'the second request to wait');
    quitter.destroy();
    await eventually(async () => (await queueLength('leaving')) === 0, 'the disconnected request to leave the queue');
    await eventually(() => gw.records.some((r) => r.model === 'leaving' && r.refusedBy === 'queue_left' && r.status === 499), 'its record');

    first.destroy();
    await eventually(() => d.inFlight === 0, 'the freed slot to stay free');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(d.inFlight, 0, 'nobody took the slot');
    assert.equal((await generate('leaving')).status, 200);
  });

  test("a client over its rate limit gets the rate limit's 429 at once instead of waiting", async () => {
    const first = holdRequest('rated/gpu0');
    await eventually(() => gw.deployment('rated/gpu0').inFlight === 1, 'the first request to hold the slot');
    const startedAt = Date.now();
    const refused = await generate('rated');
    assert.ok(Date.now() - startedAt < 1000, 'refused at once');
    assert.match(gatewayErrorMessage(refused, 429), /rate limit for rated\/gpu0 reached/);
    assert.equal(refused.headers['ratelimit-limit'], '1');
    first.destroy();
  });

  test('queue_timeout 0 keeps the immediate 429 at the concurrency cap', async () => {
    const first = holdRequest('unqueued/gpu0');
    await eventually(() => gw.deployment('unqueued/gpu0').inFlight === 1, 'the first request to hold the slot');
    const refused = await generate('unqueued');
    assert.match(gatewayErrorMessage(refused, 429), /unqueued\/gpu0 already has 1 requests in flight, its max_concurrent_requests/);
    assert.equal(refused.headers['retry-after'], '1');
    assert.doesNotMatch(await metrics(), /gateway_queue_rejected_total\{model="unqueued"/);
    first.destroy();
  });

  test('when a replica stops being ready, its waiters get 503 and the model\'s go to another ready replica', async () => {
    const gpu0 = gw.deployment('pair/gpu0');
    const gpu1 = gw.deployment('pair/gpu1');
    const onGpu0 = holdRequest('pair/gpu0');
    const onGpu1 = holdRequest('pair/gpu1');
    await eventually(() => gpu0.inFlight === 1 && gpu1.inFlight === 1, 'both replicas to be full');

    const balanced = generate('pair');
    const forGpu0 = generate('pair/gpu0');
    await eventually(async () => (await queueLength('pair')) === 2, 'both requests to wait');
    gpu0.setState('down', 'exited with code 1');
    assert.match(gatewayErrorMessage(await forGpu0, 503), /pair\/gpu0 is not ready: it is down/);
    assert.equal(await queueLength('pair'), 1, 'the balanced request still waits: gpu1 is ready');

    onGpu1.destroy();
    assert.equal((await balanced).status, 200, 'it took gpu1\'s freed slot');
    assert.equal(gw.records.filter((r) => r.model === 'pair' && r.status === 200).at(-1)?.key, 'pair/gpu1');

    const again = holdRequest('pair/gpu1');
    await eventually(() => gpu1.inFlight === 1, 'gpu1 to be full again');
    const lastHope = generate('pair');
    await eventually(async () => (await queueLength('pair')) === 1, 'the balanced request to wait');
    gpu1.setState('down', 'exited with code 1');
    assert.match(gatewayErrorMessage(await lastHope, 503), /no replica of pair is ready/);
    onGpu0.destroy();
    again.destroy();
  });
});
