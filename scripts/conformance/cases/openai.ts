// docs/tgi-contract.md "OpenAI-compatible routes" (router/src/server.rs chat_completions and
// completions, lib.rs, chat.rs): answer and chunk shapes, defaults, errors in and out of streams.
import { post, sseData, type Answer } from '../client.ts';
import { section } from '../case.ts';
import type { Context } from '../context.ts';
import { check, isType, json, plainRejection, routerError, same, skip, status } from '../expect.ts';

const MESSAGES = [{ role: 'user', content: 'What is deep learning?' }];
const CHAT_FINISH = ['stop', 'length', 'stop_sequence'];
const STREAM_COMPLETION_FINISH = ['eos_token', 'length', 'stop_sequence'];

function needsChat(ctx: Context): void {
  if (!ctx.chat) skip('the model has no chat template');
}

function usageShape(usage: Record<string, number>, what: string): void {
  same(Object.keys(usage), ['prompt_tokens', 'completion_tokens', 'total_tokens'], `${what} keys`);
  same(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, `${what}.total_tokens`);
}

function streamEvents(answer: Answer): { chunks: any[]; done: boolean } {
  status(answer, 200);
  check((answer.headers.get('content-type') ?? '').startsWith('text/event-stream'), `content-type ${answer.headers.get('content-type')}`);
  const data = sseData(answer.text);
  const done = data.at(-1) === '[DONE]';
  return { chunks: (done ? data.slice(0, -1) : data).map((d) => JSON.parse(d)), done };
}

export const openAiCases = section('OpenAI-compatible routes', {
  'chat: a chat.completion with usage': async (ctx) => {
    needsChat(ctx);
    const answer = await post(ctx.target, '/v1/chat/completions', { model: 'tgi', messages: MESSAGES, max_tokens: 5 });
    status(answer, 200);
    const body = json(answer);
    same(Object.keys(body), ['object', 'id', 'created', 'model', 'system_fingerprint', 'choices', 'usage'], 'keys');
    same([body.object, body.id, body.model], ['chat.completion', '', ctx.info.model_id], 'object, id, model');
    isType(body.created, 'number', 'created');
    check(body.system_fingerprint.startsWith(`${ctx.info.version}-`), `system_fingerprint ${body.system_fingerprint}`);
    same(body.choices.length, 1, 'one choice');
    const [choice] = body.choices;
    same(Object.keys(choice), ['index', 'message', 'logprobs', 'finish_reason'], 'choice keys');
    same([choice.index, choice.message.role, choice.logprobs], [0, 'assistant', null], 'index, role, logprobs');
    isType(choice.message.content, 'string', 'content');
    check(CHAT_FINISH.includes(choice.finish_reason), `finish_reason ${choice.finish_reason} (eos_token is reported as stop)`);
    usageShape(body.usage, 'usage');
    same(String(body.usage.completion_tokens), answer.headers.get('x-generated-tokens'), 'completion_tokens = x-generated-tokens');
    same(String(body.usage.prompt_tokens), answer.headers.get('x-prompt-tokens'), 'prompt_tokens = x-prompt-tokens');
  },

  'chat: the answer names the requested model unless it is "tgi"': async (ctx) => {
    needsChat(ctx);
    const body = json(await post(ctx.target, '/v1/chat/completions', { model: 'conformance-model', messages: MESSAGES, max_tokens: 1 }));
    same(body.model, 'conformance-model', 'model');
  },

  'chat stream: chunks, a usage chunk with no choices, then [DONE]': async (ctx) => {
    needsChat(ctx);
    const { chunks, done } = streamEvents(await post(ctx.target, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 4, stream: true, stream_options: { include_usage: true } }));
    check(done, 'ends with [DONE]');
    const usage = chunks.at(-1);
    same(usage.choices, [], 'the usage chunk has no choices');
    usageShape(usage.usage, 'usage');
    const tokens = chunks.slice(0, -1);
    check(tokens.length >= 1 && tokens.length <= 4, `1..4 token chunks, got ${tokens.length}`);
    tokens.forEach((chunk, i) => {
      same(Object.keys(chunk), ['object', 'id', 'created', 'model', 'system_fingerprint', 'choices', 'usage'], `chunks[${i}] keys`);
      same([chunk.object, chunk.usage, chunk.choices[0].index, chunk.choices[0].delta.role], ['chat.completion.chunk', null, 0, 'assistant'], `chunks[${i}] object, usage, index, role`);
      isType(chunk.choices[0].delta.content, 'string', `chunks[${i}] delta.content`);
    });
    same(tokens.slice(0, -1).map((c) => c.choices[0].finish_reason), tokens.slice(0, -1).map(() => null), 'finish_reason before the last token');
    check(CHAT_FINISH.includes(tokens.at(-1).choices[0].finish_reason), `last finish_reason ${tokens.at(-1).choices[0].finish_reason}`);
    same(usage.usage.completion_tokens, tokens.length, 'completion_tokens');
  },

  'chat stream without include_usage has no usage chunk': async (ctx) => {
    needsChat(ctx);
    const { chunks, done } = streamEvents(await post(ctx.target, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 2, stream: true }));
    check(done, 'ends with [DONE]');
    check(chunks.every((c) => c.usage === null && c.choices.length === 1), 'every chunk has one choice and usage null');
  },

  'chat stream: a validation error is an OpenAI error event, then [DONE]': async (ctx) => {
    needsChat(ctx);
    const answer = await post(ctx.target, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 0, stream: true });
    status(answer, 200);
    same(sseData(answer.text), [JSON.stringify({ error: { message: 'Input validation error: `max_new_tokens` must be strictly positive', http_status_code: 422 } }), '[DONE]'], 'events');
  },

  'chat: a validation error is a 422 router error': async (ctx) => {
    needsChat(ctx);
    routerError(await post(ctx.target, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 0 }), 422, 'Input validation error: `max_new_tokens` must be strictly positive', 'validation');
  },

  'chat: logprobs per token': async (ctx) => {
    needsChat(ctx);
    const body = json(await post(ctx.target, '/v1/chat/completions', { messages: MESSAGES, max_tokens: 3, logprobs: true, top_logprobs: 2 }));
    const content = body.choices[0].logprobs.content;
    same(content.length, body.usage.completion_tokens, 'one entry per token');
    same(Object.keys(content[0]), ['token', 'logprob', 'top_logprobs'], 'entry keys');
    check(Array.isArray(content[0].top_logprobs), 'top_logprobs');
  },

  'chat: a message with neither content nor tool_calls is the serde 422': async (ctx) => {
    plainRejection(await post(ctx.target, '/v1/chat/completions', { messages: [{ role: 'user' }] }), 422, 'Failed to deserialize the JSON body into the target type: ', 'untagged enum MessageBody');
  },

  'completions: a text_completion with usage': async ({ target, info }) => {
    const answer = await post(target, '/v1/completions', { model: 'tgi', prompt: 'Once upon a time', max_tokens: 5 });
    status(answer, 200);
    const body = json(answer);
    same(Object.keys(body), ['object', 'id', 'created', 'model', 'system_fingerprint', 'choices', 'usage'], 'keys');
    same([body.object, body.id, body.model], ['text_completion', '', info.model_id], 'object, id, model');
    same(Object.keys(body.choices[0]), ['index', 'text', 'logprobs', 'finish_reason'], 'choice keys');
    same([body.choices[0].index, body.choices[0].logprobs], [0, null], 'index, logprobs');
    check(CHAT_FINISH.includes(body.choices[0].finish_reason), `finish_reason ${body.choices[0].finish_reason}`);
    usageShape(body.usage, 'usage');
    same(answer.headers.get('x-compute-time'), null, 'no x-compute-time');
    same(answer.headers.get('x-generated-tokens'), String(body.usage.completion_tokens), 'x-generated-tokens');
  },

  'completions: one choice per prompt, usage summed': async ({ target }) => {
    const body = json(await post(target, '/v1/completions', { prompt: ['one', 'two'], max_tokens: 2 }));
    same(body.choices.map((c: { index: number }) => c.index), [0, 1], 'choice indexes');
    usageShape(body.usage, 'usage');
  },

  'completions: more prompts than --max-client-batch-size': async ({ target, info }) => {
    const prompt = Array.from({ length: info.max_client_batch_size + 1 }, (_, i) => `prompt ${i}`);
    routerError(await post(target, '/v1/completions', { prompt, max_tokens: 1 }), 422, `Number of prompts exceeds the maximum allowed batch size of ${info.max_client_batch_size}`, 'batch size exceeded');
  },

  'completions: suffix is refused': async ({ target }) => {
    routerError(await post(target, '/v1/completions', { prompt: 'x', suffix: 'y' }), 422, 'Suffix is not supported and can be achieved by preprocessing the prompt.', 'suffix not supported');
  },

  'completions: an empty prompt list is the serde 422': async ({ target }) => {
    plainRejection(await post(target, '/v1/completions', { prompt: [] }), 422, 'Failed to deserialize the JSON body into the target type: ', 'Empty array detected. Do not use an empty array for the prompt.');
  },

  'completions stream: text_completion events, the last of each prompt with usage and TGI finish reason, then [DONE]': async ({ target }) => {
    const { chunks, done } = streamEvents(await post(target, '/v1/completions', { prompt: ['a', 'b'], max_tokens: 3, stream: true }));
    check(done, 'ends with [DONE]');
    for (const index of [0, 1]) {
      const mine = chunks.filter((c) => c.choices[0].index === index);
      check(mine.length >= 1, `events of prompt ${index}`);
      const last = mine.at(-1);
      same(Object.keys(last), ['object', 'id', 'created', 'model', 'system_fingerprint', 'choices', 'usage'], 'last event keys');
      check(STREAM_COMPLETION_FINISH.includes(last.choices[0].finish_reason), `finish_reason ${last.choices[0].finish_reason}`);
      usageShape(last.usage, 'usage');
      for (const chunk of mine.slice(0, -1)) {
        same(Object.keys(chunk), ['object', 'id', 'created', 'choices', 'model', 'system_fingerprint'], 'event keys');
        same(chunk.choices[0].finish_reason, '', 'finish_reason before the end');
      }
    }
  },

  'completions stream: an error is an OpenAI error event, then [DONE]': async ({ target }) => {
    const answer = await post(target, '/v1/completions', { prompt: 'x', max_tokens: 0, stream: true });
    status(answer, 200);
    same(sseData(answer.text), [JSON.stringify({ error: { message: 'Input validation error: `max_new_tokens` must be strictly positive', http_status_code: 422 } }), '[DONE]'], 'events');
  },
});
