import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { eventually, http, simBatchSize, startGateway, type GatewayFixture } from './fixture.ts';
import { readStream } from './sse.ts';

// Streams through the gateway: relayed as they arrive, counted and timed, ended with TGI's error event
// when the upstream dies, and cancelled upstream when the client goes away.

describe('gateway streaming', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function setUp(env: Record<string, string>): Promise<{ sim: SimProcess; gw: GatewayFixture }> {
    const sim = await startSim({ env });
    const gw = await startGateway({ deployments: [{ model: 'hermes', upstream: sim.upstream }] });
    cleanups.push(() => sim.stop(), () => gw.close());
    return { sim, gw };
  }

  test('events are relayed one by one as the upstream produces them, : keep-alives included', async () => {
    const { gw } = await setUp({ SIM_TOKENS_PER_SECOND: '10', SIM_KEEP_ALIVE_SECONDS: '0.03' });
    const generate = await readStream(`${gw.url}/hermes/gpu0/generate`, gw.token, { inputs: 'My name is Olivier and I', parameters: { max_new_tokens: 8 }, stream: true });
    assert.equal(generate.status, 200);
    assert.equal(generate.headers.get('x-accel-buffering'), 'no');
    assert.equal(generate.headers.get('content-encoding'), null);
    assert.equal(generate.events.length, 8);
    assert.ok(generate.reads.filter((r) => r.events.length > 0).length >= 4, `events arrived in ${generate.reads.length} reads, not one by one`);
    assert.match(generate.text, /^:\s*$/m, 'the upstream keep-alive comments are relayed');
    assert.equal(typeof JSON.parse(generate.events.at(-1)!).generated_text, 'string');

    const chat = await readStream(`${gw.url}/hermes/gpu0/v1/chat/completions`, gw.token, { messages: [{ role: 'user', content: 'Hello' }], max_tokens: 6, stream: true });
    assert.equal(chat.events.at(-1), '[DONE]');
    assert.ok(chat.reads.filter((r) => r.events.length > 0).length >= 3);

    const record = gw.records.find((r) => r.stream);
    assert.equal(record?.generatedTokens, 8);
    assert.ok((record?.ttftMs ?? -1) > 0);
    const metrics = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
    assert.match(metrics, /^gateway_time_to_first_token_seconds_count\{model="hermes",gpu="gpu0",engine="tgi"\} 2$/m);
    assert.match(metrics, /^gateway_generated_tokens_total\{model="hermes",gpu="gpu0",engine="tgi"\} (\d+)$/m);
    assert.ok(Number(/^gateway_generated_tokens_total\{model="hermes",gpu="gpu0",engine="tgi"\} (\d+)$/m.exec(metrics)?.[1]) >= 8 + 6);
  });

  test('an upstream that dies mid-stream ends the stream with TGI\'s error event', async () => {
    const { sim, gw } = await setUp({ SIM_TOKENS_PER_SECOND: '20' });
    const stream = readStream(`${gw.url}/hermes/gpu0/generate_stream`, gw.token, { inputs: 'Tell me a long story', parameters: { max_new_tokens: 200 } });
    await eventually(async () => (await simBatchSize(sim)) === 1, 'the generation to start');
    await new Promise((r) => setTimeout(r, 150));
    await sim.stop('SIGKILL');
    const result = await stream;
    assert.equal(result.status, 200);
    const last = JSON.parse(result.events.at(-1)!);
    assert.equal(last.error_type, 'incomplete_generation');
    assert.match(last.error, /hermes\/gpu0 closed the stream before it finished/);
    assert.ok(result.events.length >= 2, 'tokens came before the error');
    assert.equal(gw.records.at(-1)?.status, 502);
    assert.equal(gw.deployment('hermes/gpu0').inFlight, 0);
  });

  test('a chat stream whose upstream dies ends with an OpenAI-style error event and [DONE]', async () => {
    const { sim, gw } = await setUp({ SIM_TOKENS_PER_SECOND: '20' });
    const stream = readStream(`${gw.url}/hermes/gpu0/v1/chat/completions`, gw.token, { messages: [{ role: 'user', content: 'Tell me a long story' }], max_tokens: 200, stream: true });
    await eventually(async () => (await simBatchSize(sim)) === 1, 'the generation to start');
    await sim.stop('SIGKILL');
    const { events } = await stream;
    assert.equal(events.at(-1), '[DONE]');
    const error = JSON.parse(events.at(-2)!).error;
    assert.equal(error.http_status_code, 502);
    assert.match(error.message, /closed the stream before it finished/);
  });

  test('a client that goes away cancels the upstream generation', async () => {
    const { sim, gw } = await setUp({ SIM_TOKENS_PER_SECOND: '20' });
    const abort = new AbortController();
    const stream = readStream(`${gw.url}/hermes/generate`, gw.token, { inputs: 'Tell me a long story', parameters: { max_new_tokens: 500 }, stream: true }, abort.signal);
    await eventually(async () => (await simBatchSize(sim)) === 1, 'the generation to start');
    abort.abort();
    await assert.rejects(stream);
    await eventually(async () => (await simBatchSize(sim)) === 0, 'the simulator to stop generating');
    await eventually(() => gw.deployment('hermes/gpu0').inFlight === 0, 'the gateway to forget the request');
    assert.equal(gw.records.at(-1)?.status, 499);
  });
});
