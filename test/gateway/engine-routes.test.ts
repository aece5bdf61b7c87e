import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InferenceClient } from '@huggingface/inference';
import OpenAI from 'openai';
import type { Upstream } from '../../gateway/types.ts';
import { assertNonStreamingAnswer, assertStreamingAnswer, assertVisionAnswer, curlExamples, exampleWorkDir, runExample } from '../helpers/seed-examples.ts';
import { startEngine, type Engine, type EngineProcess } from '../sim/engine-fixture.ts';
import { eventually, http, makeDeployment, startGateway, type GatewayFixture } from './fixture.ts';
import { png } from './images.ts';
import { dataEvents, readStream } from './sse.ts';

// The service API document's routes on vLLM and SGLang deployments: the simulator speaking each engine
// (SIM_ENGINE) behind a real gateway whose deployments carry spec.engine. /generate is translated onto
// the engine's OpenAI routes and answered in TGI's shapes; the OpenAI routes pass through with `model`
// set to the served name.

const TEXT_MODEL = 'hermes-2-pro-tgi';
const VISION_MODEL = 'llava-v1.6-mistral-7b-tgi';

function upstreamOf(p: EngineProcess): Upstream {
  return { host: '127.0.0.1', port: p.port, url: p.url };
}

function serve(engine: Engine, name: string, modelId: string, env: Record<string, string> = {}): Promise<EngineProcess> {
  // SGLang serves /metrics only with --enable-metrics (docs/sglang-contract.md).
  return startEngine(engine, { model: modelId, args: ['--served-model-name', name, ...(engine === 'sglang' ? ['--enable-metrics'] : [])], env });
}

for (const engine of ['vllm', 'sglang'] as const) {
  describe(`${engine} deployments behind the gateway`, () => {
    let text: EngineProcess;
    let vision: EngineProcess;
    let slow: EngineProcess;
    let gw: GatewayFixture;
    const generate = (body: object, path = 'generate') => http(`${gw.url}/${TEXT_MODEL}/gpu0/${path}`, { token: gw.token, body });

    before(async () => {
      [text, vision, slow] = await Promise.all([
        serve(engine, TEXT_MODEL, 'NousResearch/Hermes-2-Pro-Llama-3-8B'),
        serve(engine, VISION_MODEL, 'llava-hf/llava-v1.6-mistral-7b-hf'),
        serve(engine, 'slow-model', 'sim/slow-model', { SIM_TOKENS_PER_SECOND: '20' }),
      ]);
      gw = await startGateway({
        deployments: [
          { model: TEXT_MODEL, engine, upstream: upstreamOf(text), modelId: 'NousResearch/Hermes-2-Pro-Llama-3-8B' },
          { model: VISION_MODEL, engine, vision: true, upstream: upstreamOf(vision), modelId: 'llava-hf/llava-v1.6-mistral-7b-hf' },
          { model: 'slow-model', engine, upstream: upstreamOf(slow) },
        ],
      });
    });
    after(async () => {
      await gw?.close();
      await Promise.all([text?.stop(), vision?.stop(), slow?.stop()]);
    });

    test('every curl example of the service API document works unchanged', async () => {
      const examples = await curlExamples();
      assert.equal(examples.length, 3);
      const cwd = await exampleWorkDir();
      for (const block of examples) {
        const stdout = await runExample(block, { port: gw.port, token: gw.token, cwd });
        if (block.includes('llava')) {
          // The image reached the engine as an image_url part of its chat route, and the model saw it.
          assertVisionAnswer(stdout);
          const body = JSON.parse(stdout);
          assert.ok(body.details.generated_tokens > 0 && body.details.generated_tokens <= 200);
          assert.equal(typeof body.details.seed, 'number');
          await eventually(() => /"POST \/v1\/chat\/completions HTTP\/1\.1" 200/.test(vision.output()), 'the engine\'s access line for the chat request');
        } else if (block.includes('"stream": true')) {
          assertStreamingAnswer(stdout);
          assert.doesNotMatch(stdout, /\[DONE\]/); // TGI's framing: the stream just ends
        } else {
          assertNonStreamingAnswer(stdout);
        }
      }
    });

    test('/generate: details with tokens and logprobs, a seed that decides the text, greedy without sampling', async () => {
      const sampled = { inputs: 'Tell me about the sea.', parameters: { max_new_tokens: 12, do_sample: true, seed: 1234, details: true } };
      const first = (await generate(sampled)).json();
      const again = (await generate(sampled)).json();
      assert.equal(first.generated_text, again.generated_text);
      assert.equal(first.details.seed, 1234);
      assert.equal(first.details.generated_tokens, first.details.tokens.length);
      assert.ok(['length', 'eos_token'].includes(first.details.finish_reason));
      assert.deepEqual(first.details.prefill, []);
      for (const token of first.details.tokens) {
        assert.equal(typeof token.id, 'number');
        assert.equal(typeof token.text, 'string');
        assert.equal(typeof token.logprob, 'number');
        assert.equal(typeof token.special, 'boolean');
      }
      // Ids come from vLLM's return_token_ids, which the simulator does not answer: -1 there, as on SGLang.
      assert.equal(first.details.tokens.map((t: { text: string }) => t.text).join(''), first.generated_text);

      const greedy = (await generate({ inputs: 'Tell me about the sea.', parameters: { max_new_tokens: 12, details: true } })).json();
      assert.equal(greedy.details.seed, null);
      const plain = await generate({ inputs: 'Tell me about the sea.', parameters: { max_new_tokens: 5 } });
      assert.equal(plain.status, 200);
      assert.deepEqual(Object.keys(plain.json()), ['generated_text']);
      const full = (await generate({ inputs: 'Tell me about the sea.', parameters: { max_new_tokens: 5, return_full_text: true } })).json();
      assert.ok(full.generated_text.startsWith('Tell me about the sea.'));
    });

    test('/generate: a stop sequence ends the text with it, finish_reason stop_sequence', async () => {
      const reference = (await generate({ inputs: 'Name some rivers.', parameters: { max_new_tokens: 30 } })).json().generated_text as string;
      const words = reference.trim().split(/\s+/);
      assert.ok(words.length > 4, reference);
      const stop = ` ${words[3]}`;
      const cut = (await generate({ inputs: 'Name some rivers.', parameters: { max_new_tokens: 30, stop: [stop], details: true } })).json();
      assert.equal(cut.details.finish_reason, 'stop_sequence', JSON.stringify(cut));
      assert.ok(cut.generated_text.endsWith(stop), cut.generated_text);
      assert.ok(reference.startsWith(cut.generated_text), `${cut.generated_text} is not a prefix of ${reference}`);
    });

    test('/generate_stream and "stream": true: TGI events, the last with generated_text and details', async () => {
      for (const [path, body] of [
        ['generate_stream', { inputs: 'Count to ten.', parameters: { max_new_tokens: 10, details: true, seed: 7, do_sample: true } }],
        ['generate', { inputs: 'Count to ten.', parameters: { max_new_tokens: 10, details: true, seed: 7, do_sample: true }, stream: true }],
      ] as const) {
        const result = await readStream(`${gw.url}/${TEXT_MODEL}/gpu0/${path}`, gw.token, body);
        assert.equal(result.status, 200);
        assert.match(result.headers.get('content-type') ?? '', /^text\/event-stream/);
        const events = result.events.map((e) => JSON.parse(e));
        assert.ok(events.length > 0 && events.length <= 10);
        events.forEach((e, i) => assert.equal(e.index, i + 1));
        const last = events.at(-1);
        assert.equal(last.generated_text, events.filter((e) => !e.token.special).map((e) => e.token.text).join(''));
        assert.equal(last.details.seed, 7);
        assert.equal(last.details.generated_tokens, events.length);
        assert.ok(last.details.input_length > 0);
        assert.ok(['length', 'eos_token'].includes(last.details.finish_reason));
        assert.ok(events.slice(0, -1).every((e) => e.generated_text === null && e.details === null));
      }
    });

    test('a vision request: <image> tags reach the engine as image_url parts; a text model refuses them', async () => {
      const image = png(32, 32).toString('base64');
      const res = await http(`${gw.url}/${VISION_MODEL}/gpu0/generate`, { token: gw.token, body: { inputs: `<image>${image}</image>\nWhat is this?`, parameters: { max_new_tokens: 8, details: true } } });
      assert.equal(res.status, 200, res.text);
      assert.match(res.json().generated_text, /^I see a 32x32/, "the model saw the image (max_new_tokens 8 cuts the sentence)");
      const refused = await generate({ inputs: `<image>${image}</image> What is this?` });
      assert.equal(refused.status, 400);
      assert.match(refused.json().error.message, /not a vision model/);
    });

    test('parameters the engine cannot take are a 400 naming them, in the service document\'s error body', async () => {
      for (const [parameters, name] of [
        [{ typical_p: 0.5 }, 'typical_p'],
        [{ watermark: true }, 'watermark'],
        [{ best_of: 2, do_sample: true }, 'best_of'],
        [{ grammar: { type: 'regex', value: 'a+' } }, 'grammar'],
        [{ max_new_tokens: 'ten' }, 'max_new_tokens'],
      ] as const) {
        const res = await generate({ inputs: 'Hi', parameters });
        assert.equal(res.status, 400, res.text);
        const body = res.json();
        assert.equal(body.error.code, 400);
        assert.equal(body.error.type, 'invalid_request_error');
        assert.match(body.error.message, new RegExp(`parameters\\.${name}`));
      }
    });

    test('an engine error keeps the document\'s body: a prompt too long for the context', async () => {
      const res = await generate({ inputs: 'word '.repeat(5000), parameters: { max_new_tokens: 10 } });
      assert.equal(res.status, 400, res.text);
      const body = res.json();
      assert.equal(body.error.code, 400);
      assert.equal(typeof body.error.message, 'string');
      assert.match(body.error.message, /context length/);
      // Streamed, the refusal comes before the stream: the same status and body, or TGI's error event inside it.
      const streamed = await generate({ inputs: 'word '.repeat(5000), parameters: { max_new_tokens: 10 } }, 'generate_stream');
      if (streamed.status === 200) assert.deepEqual(dataEvents(streamed.text).map((e) => JSON.parse(e).error_type), ['generation']);
      else assert.match(streamed.json().error.message, /context length/);
    });

    test('OpenAI routes per deployment accept "model": "tgi" (set to the served name)', async () => {
      if (engine === 'vllm') {
        const direct = await http(`${text.url}/v1/completions`, { body: { model: 'tgi', prompt: 'Hi', max_tokens: 3 } });
        assert.equal(direct.status, 404, 'vLLM itself refuses a model it does not serve');
      }
      const chat = await http(`${gw.url}/${TEXT_MODEL}/gpu0/v1/chat/completions`, { token: gw.token, body: { model: 'tgi', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 } });
      assert.equal(chat.status, 200, chat.text);
      assert.equal(chat.json().model, TEXT_MODEL);
      const completion = await http(`${gw.url}/${TEXT_MODEL}/v1/completions`, { token: gw.token, body: { model: 'tgi', prompt: 'Hi', max_tokens: 4 } });
      assert.equal(completion.status, 200, completion.text);
      assert.equal(completion.json().object, 'text_completion');
    });

    test('root /v1 routes by model name, replica and model id', async () => {
      for (const model of [TEXT_MODEL, `${TEXT_MODEL}/gpu0`, 'NousResearch/Hermes-2-Pro-Llama-3-8B']) {
        const res = await http(`${gw.url}/v1/chat/completions`, { token: gw.token, body: { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3 } });
        assert.equal(res.status, 200, `${model}: ${res.text}`);
        assert.equal(res.json().model, TEXT_MODEL);
      }
    });

    for (const [where, baseURL, model] of [
      ['a deployment', () => `${gw.url}/${TEXT_MODEL}/gpu0/v1`, 'tgi'],
      ['the root', () => `${gw.url}/v1`, TEXT_MODEL],
    ] as const) {
      test(`openai SDK against ${where}: chat and completions, plain and streamed`, async () => {
        const openai = new OpenAI({ baseURL: baseURL(), apiKey: gw.token, maxRetries: 0 });
        const messages = [{ role: 'user' as const, content: 'What is deep learning?' }];
        const completion = await openai.chat.completions.create({ model, messages, max_tokens: 6 });
        assert.equal(completion.object, 'chat.completion');
        assert.ok((completion.usage?.completion_tokens ?? 0) > 0);
        const stream = await openai.chat.completions.create({ model, messages, max_tokens: 6, stream: true, stream_options: { include_usage: true } });
        let streamed = '';
        let usage: OpenAI.CompletionUsage | undefined | null;
        for await (const chunk of stream) {
          streamed += chunk.choices[0]?.delta?.content ?? '';
          usage = chunk.usage ?? usage;
        }
        assert.ok(streamed.length > 0);
        assert.ok((usage?.completion_tokens ?? 0) > 0);
        const text = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5 });
        assert.equal(text.object, 'text_completion');
        const textStream = await openai.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, stream: true });
        let pieces = 0;
        for await (const chunk of textStream) pieces += chunk.choices.length;
        assert.ok(pieces > 0);
      });
    }

    test('@huggingface/inference with the deployment as endpoint URL', async () => {
      const client = new InferenceClient(gw.token, { endpointUrl: `${gw.url}/${TEXT_MODEL}/gpu0` });
      const output = await client.textGeneration({ inputs: 'The answer to the universe is', parameters: { max_new_tokens: 6 } });
      assert.equal(typeof output.generated_text, 'string');
      let chunks = 0;
      for await (const _chunk of client.textGenerationStream({ inputs: 'Once upon a time', parameters: { max_new_tokens: 4 } })) chunks += 1;
      assert.ok(chunks > 0);
    });

    test('/v1/models, /health, /metrics pass through; /info answers TGI\'s fields', async () => {
      const models = (await http(`${gw.url}/${TEXT_MODEL}/gpu0/v1/models`, { token: gw.token })).json();
      assert.equal(models.data[0].id, TEXT_MODEL);
      assert.equal(models.data[0].owned_by, engine);
      assert.equal((await http(`${gw.url}/${TEXT_MODEL}/gpu0/health`, { token: gw.token })).status, 200);
      const metrics = await http(`${gw.url}/${TEXT_MODEL}/gpu0/metrics`, { token: gw.token });
      assert.match(metrics.text, engine === 'vllm' ? /^vllm:num_requests_running/m : /^sglang:num_running_reqs/m);
      const info = (await http(`${gw.url}/${TEXT_MODEL}/gpu0/info`, { token: gw.token })).json();
      assert.equal(info.model_id, 'NousResearch/Hermes-2-Pro-Llama-3-8B');
      assert.equal(info.router, engine);
      assert.equal(info.max_sequence_length, 4096);
      assert.equal(info.max_total_tokens, 4096);
      assert.equal(info.model_device_type, 'cuda');
      assert.equal(typeof info.timestamp, 'string');
      if (engine === 'vllm') {
        const tokens = await http(`${gw.url}/${TEXT_MODEL}/gpu0/tokenize`, { token: gw.token, body: { prompt: 'Hello world' } });
        assert.equal(tokens.status, 200);
        assert.ok(tokens.json().count > 0);
      }
    });

    test('token counts of a translated stream, and of one cut short, reach the records and metrics', async () => {
      const counted = () => gw.records.filter((r) => r.key === `${TEXT_MODEL}/gpu0` && r.stream);
      const before = counted().length;
      const result = await readStream(`${gw.url}/${TEXT_MODEL}/gpu0/generate_stream`, gw.token, { inputs: 'Count to ten.', parameters: { max_new_tokens: 9 } });
      const events = result.events.length;
      await eventually(() => counted().length > before, 'the stream\'s request record');
      const record = counted().at(-1)!;
      assert.equal(record.status, 200);
      assert.equal(record.generatedTokens, events);
      assert.ok((record.promptTokens ?? 0) > 0, 'the engine\'s prompt count');
      // A plain answer counts the engine's usage.
      const plain = (await generate({ inputs: 'Count to ten.', parameters: { max_new_tokens: 6, details: true } })).json();
      await eventually(() => gw.records.at(-1)?.stream === false && gw.records.at(-1)?.key === `${TEXT_MODEL}/gpu0`, 'the plain answer\'s record');
      assert.equal(gw.records.at(-1)!.generatedTokens, plain.details.generated_tokens);
      assert.ok((gw.records.at(-1)!.promptTokens ?? 0) > 0);
      const metrics = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
      assert.match(metrics, new RegExp(`gateway_generated_tokens_total\\{model="${TEXT_MODEL}",gpu="gpu0",engine="${engine}"\\} \\d+`));

      // Cut short: the client leaves after three events of a stream paced at 20 tokens/s.
      const controller = new AbortController();
      const res = await fetch(`${gw.url}/slow-model/gpu0/generate_stream`, { method: 'POST', signal: controller.signal, headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Tell a long story.', parameters: { max_new_tokens: 200 } }) });
      let seen = 0;
      let buffered = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffered += decoder.decode(chunk, { stream: true });
          seen = dataEvents(buffered.slice(0, buffered.lastIndexOf('\n\n') + 1)).length;
          if (seen >= 3) break;
        }
      } finally {
        controller.abort();
      }
      await eventually(() => gw.records.some((r) => r.key === 'slow-model/gpu0'), 'the cut stream\'s record', 15_000);
      const cut = gw.records.find((r) => r.key === 'slow-model/gpu0')!;
      assert.equal(cut.status, 499);
      assert.ok(cut.generatedTokens >= 3 && cut.generatedTokens < 200, `${cut.generatedTokens} tokens counted`);
      const after = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
      assert.match(after, new RegExp(`gateway_generated_tokens_total\\{model="slow-model",gpu="gpu0",engine="${engine}"\\} ${cut.generatedTokens}\n`));
    });

    test('an engine that dies mid-stream: TGI\'s error event ends the stream, the tokens sent are counted', async () => {
      const dying = await serve(engine, 'dying-model', 'sim/dying-model', { SIM_TOKENS_PER_SECOND: '20' });
      const d = makeDeployment({ model: 'dying-model', engine, upstream: upstreamOf(dying) });
      gw.table.add(d);
      try {
        const res = await fetch(`${gw.url}/dying-model/gpu0/generate_stream`, { method: 'POST', headers: { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Tell a long story.', parameters: { max_new_tokens: 200 } }) });
        let text = '';
        const decoder = new TextDecoder();
        let killed = false;
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          text += decoder.decode(chunk, { stream: true });
          if (!killed && dataEvents(text).length >= 2) {
            killed = true;
            dying.child.kill('SIGKILL');
          }
        }
        const events = dataEvents(text).map((e) => JSON.parse(e));
        assert.equal(events.at(-1).error_type, 'incomplete_generation');
        await eventually(() => gw.records.some((r) => r.key === 'dying-model/gpu0'), 'the failed stream\'s record', 15_000);
        const record = gw.records.find((r) => r.key === 'dying-model/gpu0')!;
        assert.equal(record.status, 502);
        assert.equal(record.generatedTokens, events.length - 1);
      } finally {
        gw.table.remove(d);
        await dying.stop();
      }
    });
  });
}
