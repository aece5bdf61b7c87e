import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, sseData } from './fixtures.ts';

let sim: SimProcess;
let client: OpenAI;
const messages = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'What is deep learning?' },
];

before(async () => {
  sim = await startSim({ modelId: 'sim/chat-model', args: ['--max-total-tokens', '1024'] });
  client = new OpenAI({ baseURL: `${sim.url}/v1`, apiKey: '-' });
});
after(() => sim.stop());

describe('POST /v1/chat/completions', () => {
  test('non-streaming: a chat.completion with usage and the timing headers', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { model: 'tgi', messages, max_tokens: 10, seed: 7 });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'sim/chat-model');
    assert.equal(body.id, '');
    assert.match(body.system_fingerprint, /^3\.3\.6-/);
    assert.equal(body.choices.length, 1);
    assert.equal(body.choices[0].message.role, 'assistant');
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.equal(body.choices[0].logprobs, null);
    assert.equal(body.usage.completion_tokens, 10);
    assert.equal(body.usage.prompt_tokens, Number(res.headers['x-prompt-tokens']));
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 10);
    assert.equal(res.headers['x-generated-tokens'], '10');
    assert.ok(res.headers['x-inference-time'] !== undefined);
    const tokenized = JSON.parse((await postJson(`${sim.url}/chat_tokenize`, { messages })).body);
    assert.equal(tokenized.tokenize_response.length, body.usage.prompt_tokens, 'usage counts the same tokens as the tokenizer');
  });

  test('streaming: chunks with delta.content, include_usage adds a usage chunk with no choices, then [DONE]', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 4, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const events = sseData(res.body);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.length, 5);
    for (const chunk of chunks.slice(0, 4)) {
      assert.equal(chunk.object, 'chat.completion.chunk');
      assert.equal(chunk.choices[0].delta.role, 'assistant');
      assert.equal(typeof chunk.choices[0].delta.content, 'string');
    }
    assert.deepEqual(chunks.slice(0, 3).map((c) => c.choices[0].finish_reason), [null, null, null]);
    assert.equal(chunks[3].choices[0].finish_reason, 'length');
    assert.deepEqual(chunks[4].choices, []);
    assert.equal(chunks[4].usage.completion_tokens, 4);
    assert.equal(chunks[4].usage.total_tokens, chunks[4].usage.prompt_tokens + 4);
  });

  test('streaming without include_usage has no usage chunk', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 3, stream: true });
    const events = sseData(res.body);
    assert.equal(events.length, 4);
    assert.equal(events.at(-1), '[DONE]');
  });

  test('a stopping model reports finish_reason "stop"; a stop sequence "stop_sequence" (FinishReason::format(true))', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, temperature: 0 });
    const text = JSON.parse(res.body).choices[0].message.content as string;
    assert.equal(JSON.parse(res.body).choices[0].finish_reason, 'stop');
    const stopped = await postJson(`${sim.url}/v1/chat/completions`, { messages, temperature: 0, stop: [text.split(' ')[2]] });
    assert.equal(JSON.parse(stopped.body).choices[0].finish_reason, 'stop_sequence');
  });

  test('the answer names the requested model unless it is "tgi" or absent', async () => {
    const named = JSON.parse((await postJson(`${sim.url}/v1/chat/completions`, { model: 'my-adapter', messages, max_tokens: 1 })).body);
    assert.equal(named.model, 'my-adapter');
    const tgi = JSON.parse((await postJson(`${sim.url}/v1/chat/completions`, { model: 'tgi', messages, max_tokens: 1 })).body);
    assert.equal(tgi.model, 'sim/chat-model');
  });

  test('the template brings BOS: chat is tokenized without adding it again (lib.rs try_into_generate)', async () => {
    const tokenized = JSON.parse((await postJson(`${sim.url}/chat_tokenize`, { messages })).body);
    assert.ok(tokenized.templated_text.startsWith('<s><|im_start|>system\n'));
    assert.deepEqual(tokenized.tokenize_response[0], { id: 1, text: '<s>', start: 0, stop: 3 });
    assert.equal(tokenized.tokenize_response.filter((t: { id: number }) => t.id === 1).length, 1);
  });

  test('a final assistant message is continued, not closed (chat_template.rs)', async () => {
    const tokenized = JSON.parse((await postJson(`${sim.url}/chat_tokenize`, { messages: [...messages, { role: 'assistant', content: 'Deep learning is' }] })).body);
    assert.ok(tokenized.templated_text.endsWith('<|im_start|>assistant\nDeep learning is'), tokenized.templated_text);
  });

  test('max_completion_tokens is an alias of max_tokens; both at once is serde\'s duplicate field', async () => {
    const alias = JSON.parse((await postJson(`${sim.url}/v1/chat/completions`, { messages, max_completion_tokens: 3 })).body);
    assert.equal(alias.usage.completion_tokens, 3);
    const both = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 3, max_completion_tokens: 3 });
    assert.equal(both.status, 422);
    assert.equal(both.body, 'Failed to deserialize the JSON body into the target type: duplicate field `max_tokens`');
  });

  test('a message needs content or tool_calls (MessageBody is untagged)', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user' }] });
    assert.equal(res.status, 422);
    assert.equal(res.body, 'Failed to deserialize the JSON body into the target type: messages[0]: data did not match any variant of untagged enum MessageBody');
  });

  test('a validation error mid-stream is an OpenAI error event followed by [DONE]', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 5000, stream: true });
    assert.equal(res.status, 200);
    const events = sseData(res.body);
    assert.equal(events.length, 2);
    const error = JSON.parse(events[0]);
    assert.deepEqual(Object.keys(error.error), ['message', 'http_status_code']);
    assert.equal(error.error.http_status_code, 422);
    assert.match(error.error.message, /must be <= 1024/);
    assert.equal(events[1], '[DONE]');
  });

  test('a non-streaming validation error is a 422 TGI error body, with the prefix', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 5000 });
    assert.equal(res.status, 422);
    assert.equal(JSON.parse(res.body).error_type, 'validation');
    assert.match(JSON.parse(res.body).error, /^Input validation error: `inputs` tokens \+ `max_new_tokens` must be <= 1024\. Given: \d+ `inputs` tokens and 1024 `max_new_tokens`$/);
  });

  test('logprobs come per token when asked', async () => {
    const res = await postJson(`${sim.url}/v1/chat/completions`, { messages, max_tokens: 3, logprobs: true, top_logprobs: 2 });
    const content = JSON.parse(res.body).choices[0].logprobs.content;
    assert.equal(content.length, 3);
    assert.equal(content[0].top_logprobs.length, 2);
  });

  test('the official openai SDK works, streaming and not', async () => {
    const completion = await client.chat.completions.create({ model: 'tgi', messages, max_tokens: 8, seed: 3 });
    assert.equal(completion.usage?.completion_tokens, 8);
    const text = completion.choices[0].message.content!;
    let streamed = '';
    let usage: OpenAI.CompletionUsage | undefined;
    const stream = await client.chat.completions.create({ model: 'tgi', messages, max_tokens: 8, seed: 3, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      usage = chunk.usage ?? usage;
    }
    assert.equal(streamed, text, 'same seed, same text, streamed or not');
    assert.equal(usage?.completion_tokens, 8);
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['sim/chat-model']);
  });
});

describe('POST /v1/completions', () => {
  test('a string prompt; no default max_tokens: the model runs to EOS, reported as "stop" (server.rs completions, FinishReason::format)', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: 'Once upon a time', temperature: 0 });
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body);
    assert.equal(body.object, 'text_completion');
    assert.equal(body.choices.length, 1);
    assert.ok(body.usage.completion_tokens >= 12 && body.usage.completion_tokens < 100, `EOS after ${body.usage.completion_tokens} tokens`);
    assert.equal(body.choices[0].finish_reason, 'stop');
  });

  test('headers are summed, without x-compute-time; a stop sequence is reported as stop_sequence', async () => {
    const free = JSON.parse((await postJson(`${sim.url}/v1/completions`, { prompt: 'Stop here', max_tokens: 20, temperature: 0 })).body).choices[0].text as string;
    const stop = free.split(' ')[2];
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: 'Stop here', max_tokens: 20, temperature: 0, stop: [stop] });
    assert.equal(res.headers['x-compute-time'], undefined);
    assert.equal(res.headers['x-prompt-tokens'], String(JSON.parse(res.body).usage.prompt_tokens));
    assert.equal(JSON.parse(res.body).choices[0].finish_reason, 'stop_sequence');
  });

  test('an empty prompt list is the serde 422 of PromptDeserializer (lib.rs)', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: [] });
    assert.equal(res.status, 422);
    assert.equal(res.body, 'Failed to deserialize the JSON body into the target type: prompt: Empty array detected. Do not use an empty array for the prompt.');
  });

  test('suffix is refused with its own error_type', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: 'x', suffix: 'y' });
    assert.equal(res.status, 422);
    assert.deepEqual(JSON.parse(res.body), { error: 'Suffix is not supported and can be achieved by preprocessing the prompt.', error_type: 'suffix not supported' });
  });

  test('stream: the last event names the finish reason as TGI does (eos_token), errors are OpenAI error events', async () => {
    const events = sseData((await postJson(`${sim.url}/v1/completions`, { prompt: 'x', temperature: 0, stream: true })).body);
    assert.equal(JSON.parse(events.at(-2)!).choices[0].finish_reason, 'eos_token');
    const failed = sseData((await postJson(`${sim.url}/v1/completions`, { prompt: 'x', max_tokens: 0, stream: true })).body);
    assert.deepEqual(failed, ['{"error":{"message":"Input validation error: `max_new_tokens` must be strictly positive","http_status_code":422}}', '[DONE]']);
  });

  test('an array of prompts gives one choice each, usage summed', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: ['one', 'two', 'three'], max_tokens: 4, temperature: 0 });
    const body = JSON.parse(res.body);
    assert.deepEqual(body.choices.map((c: { index: number }) => c.index), [0, 1, 2]);
    assert.equal(body.usage.completion_tokens, 12);
    assert.equal(res.headers['x-generated-tokens'], '12');
  });

  test('more prompts than --max-client-batch-size is a 422', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: ['1', '2', '3', '4', '5'], max_tokens: 2 });
    assert.equal(res.status, 422);
    assert.deepEqual(JSON.parse(res.body), { error: 'Number of prompts exceeds the maximum allowed batch size of 4', error_type: 'batch size exceeded' });
  });

  test('streaming: one text_completion per token, usage on the last of each prompt, then [DONE]', async () => {
    const res = await postJson(`${sim.url}/v1/completions`, { prompt: ['a', 'b'], max_tokens: 3, temperature: 0, stream: true });
    const events = sseData(res.body);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.length, 6);
    for (const index of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0].index === index);
      assert.equal(mine.length, 3);
      assert.equal(mine[2].choices[0].finish_reason, 'length');
      assert.equal(mine[2].usage.completion_tokens, 3);
      assert.equal(mine[0].choices[0].finish_reason, '');
    }
  });

  test('the openai SDK reads it', async () => {
    const completion = await client.completions.create({ model: 'tgi', prompt: 'Hello', max_tokens: 5, temperature: 0 });
    assert.equal(completion.usage?.completion_tokens, 5);
    assert.ok(completion.choices[0].text.length > 0);
  });
});
