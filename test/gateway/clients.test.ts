import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { startGateway, type GatewayFixture } from './fixture.ts';

// The real client libraries users point at the gateway, with the gateway's token as their API key.

describe('real clients through the gateway', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim();
    gw = await startGateway({ deployments: [{ model: 'hermes-2-pro-tgi', upstream: sim.upstream, modelId: 'NousResearch/Hermes-2-Pro-Llama-3-8B' }] });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  const messages = [{ role: 'user' as const, content: 'What is deep learning?' }];

  for (const [where, baseURL, model] of [
    ['a deployment', () => `${gw.url}/hermes-2-pro-tgi/gpu0/v1`, 'tgi'],
    ['the root', () => `${gw.url}/v1`, 'hermes-2-pro-tgi'],
  ] as const) {
    test(`openai SDK against ${where}: chat completions, plain and streamed`, async () => {
      const openai = new OpenAI({ baseURL: baseURL(), apiKey: gw.token, maxRetries: 0 });
      const completion = await openai.chat.completions.create({ model, messages, max_tokens: 12 });
      assert.equal(completion.object, 'chat.completion');
      assert.ok(completion.choices[0].message.content?.length);
      assert.equal(completion.usage?.completion_tokens, 12);

      const stream = await openai.chat.completions.create({ model, messages, max_tokens: 8, stream: true });
      let text = '';
      let chunks = 0;
      for await (const chunk of stream) {
        chunks += 1;
        text += chunk.choices[0]?.delta?.content ?? '';
      }
      assert.ok(chunks >= 8, `${chunks} chunks`);
      assert.ok(text.length > 0);
    });
  }

  test('openai SDK: a wrong key is an AuthenticationError carrying the gateway\'s message', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(openai.chat.completions.create({ model: 'hermes-2-pro-tgi', messages }), (error: unknown) => error instanceof OpenAI.AuthenticationError && /wrong bearer token/.test(error.message));
  });

  test('openai SDK: models.list at the root lists the fleet', async () => {
    const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: gw.token, maxRetries: 0 });
    const ids: string[] = [];
    for await (const m of openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['hermes-2-pro-tgi']);
  });

  test('@huggingface/inference with an endpoint URL: textGeneration and textGenerationStream', async () => {
    // v4 posts OpenAI completions to <endpointUrl>/v1/completions, which the deployment passes through.
    const client = new InferenceClient(gw.token, { endpointUrl: `${gw.url}/hermes-2-pro-tgi/gpu0` });
    const output = await client.textGeneration({ inputs: 'The answer to the universe is', parameters: { max_new_tokens: 10 } });
    assert.equal(typeof output.generated_text, 'string');
    assert.ok(output.generated_text.length > 0);

    let text = '';
    let chunks = 0;
    for await (const chunk of client.textGenerationStream({ inputs: 'Once upon a time', parameters: { max_new_tokens: 6 } })) {
      chunks += 1;
      const choice = (chunk as unknown as { choices: { text: string }[] }).choices[0];
      text += choice?.text ?? '';
    }
    assert.ok(chunks >= 6, `${chunks} chunks`);
    assert.ok(text.length > 0);
  });
});
