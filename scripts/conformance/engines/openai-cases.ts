// The OpenAI-compatible surface vLLM and SGLang share (docs/vllm-contract.md and
// docs/sglang-contract.md, sections "Routes", "OpenAI routes", "Streaming", "Errors"): shapes,
// statuses and framing that hold for any model.
import { call, post, sseData, type Answer } from '../client.ts';
import { section } from '../case.ts';
import { check, isType, json, same, status } from '../expect.ts';
import type { EngineContext } from './context.ts';
import { engineError, fastApiDetail } from './expect.ts';

const HI = [{ role: 'user', content: 'Hi' }];

function events(answer: Answer): string[] {
  status(answer, 200);
  check((answer.headers.get('content-type') ?? '').startsWith('text/event-stream'), `content-type ${answer.headers.get('content-type')}`);
  const data = sseData(answer.text);
  same(data.at(-1), '[DONE]', 'last event');
  return data;
}

function usageAdds(usage: Record<string, number>): void {
  for (const key of ['prompt_tokens', 'completion_tokens', 'total_tokens']) isType(usage?.[key], 'number', `usage.${key}`);
  same(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens, 'total_tokens');
}

const FINISH = ['stop', 'length'];

export const openAiRouteCases = section<EngineContext>('Routes', {
  'GET /health answers 200': async ({ target }) => {
    status(await call(target, '/health'), 200);
  },

  'GET /v1/models: a list with the served model, owned by the engine, with max_model_len': async ({ target, engine }) => {
    const body = json(await call(target, '/v1/models'));
    same(body.object, 'list', 'object');
    const [card] = body.data;
    same(card.object, 'model', 'data[0].object');
    same(card.owned_by, engine, 'data[0].owned_by');
    isType(card.max_model_len, 'number', 'max_model_len');
  },

  'GET /version answers {"version"}': async ({ target }) => {
    isType(json(await call(target, '/version')).version, 'string', 'version');
  },

  "an unknown path is FastAPI's 404 {\"detail\": \"Not Found\"}": async ({ target }) => {
    fastApiDetail(await call(target, '/no-such-route'), 404, 'Not Found');
  },

  "a known path with another method is FastAPI's 405 {\"detail\": \"Method Not Allowed\"}": async ({ target }) => {
    fastApiDetail(await call(target, '/v1/chat/completions'), 405, 'Method Not Allowed');
  },
});

export const openAiCompletionCases = section<EngineContext>('OpenAI routes', {
  'chat completion: chat.completion, an assistant message, finish_reason stop|length, usage adds up': async ({ target, model }) => {
    const body = json(await post(target, '/v1/chat/completions', { model, messages: HI, max_tokens: 2 }));
    same(body.object, 'chat.completion', 'object');
    check(String(body.id).startsWith('chatcmpl-'), `id ${body.id}`);
    same(body.model, model, 'model');
    same(body.choices.length, 1, 'choices');
    same(body.choices[0].message.role, 'assistant', 'role');
    isType(body.choices[0].message.content, 'string', 'content');
    check(FINISH.includes(body.choices[0].finish_reason), `finish_reason ${body.choices[0].finish_reason}`);
    usageAdds(body.usage);
    check(body.usage.completion_tokens <= 2, `completion_tokens ${body.usage.completion_tokens} > max_tokens 2`);
  },

  'completion: text_completion, choices[0].text, usage adds up': async ({ target, model }) => {
    const body = json(await post(target, '/v1/completions', { model, prompt: 'Hello', max_tokens: 2 }));
    same(body.object, 'text_completion', 'object');
    check(String(body.id).startsWith('cmpl-'), `id ${body.id}`);
    isType(body.choices[0].text, 'string', 'text');
    check(FINISH.includes(body.choices[0].finish_reason), `finish_reason ${body.choices[0].finish_reason}`);
    usageAdds(body.usage);
  },

  'max_tokens 1 generates at most one token': async ({ target, model }) => {
    const body = json(await post(target, '/v1/completions', { model, prompt: 'Once upon a time', max_tokens: 1 }));
    check(body.usage.completion_tokens <= 1, `completion_tokens ${body.usage.completion_tokens}`);
  },

  'chat logprobs: content[] of {token, logprob, bytes, top_logprobs[top_logprobs]}': async ({ target, model }) => {
    const body = json(await post(target, '/v1/chat/completions', { model, messages: HI, max_tokens: 2, logprobs: true, top_logprobs: 2 }));
    const content = body.choices[0].logprobs?.content;
    check(Array.isArray(content) && content.length > 0, `logprobs ${JSON.stringify(body.choices[0].logprobs)}`);
    for (const entry of content) {
      isType(entry.token, 'string', 'token');
      isType(entry.logprob, 'number', 'logprob');
      check(Array.isArray(entry.bytes), 'bytes');
      same(entry.top_logprobs.length, 2, 'top_logprobs length');
    }
  },
});

export const openAiStreamingCases = section<EngineContext>('Streaming', {
  'streamed chat: data: chunks of chat.completion.chunk, one finish_reason, then data: [DONE]': async ({ target, model }) => {
    const data = events(await post(target, '/v1/chat/completions', { model, messages: HI, max_tokens: 3, stream: true }));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    check(chunks.length > 0, 'no chunks');
    check(chunks.every((c) => c.object === 'chat.completion.chunk'), 'object of every chunk');
    same(new Set(chunks.map((c) => c.id)).size, 1, 'one id for all chunks');
    const finished = chunks.filter((c) => c.choices[0]?.finish_reason);
    same(finished.length, 1, 'chunks with a finish_reason');
    check(FINISH.includes(finished[0].choices[0].finish_reason), `finish_reason ${finished[0].choices[0].finish_reason}`);
  },

  'stream_options.include_usage: a last chunk with choices [] and usage before [DONE]': async ({ target, model }) => {
    const data = events(await post(target, '/v1/chat/completions', { model, messages: HI, max_tokens: 2, stream: true, stream_options: { include_usage: true } }));
    const last = JSON.parse(data.at(-2)!);
    same(last.choices, [], 'choices of the usage chunk');
    usageAdds(last.usage);
  },

  'streamed completion: text_completion chunks, then data: [DONE]': async ({ target, model }) => {
    const data = events(await post(target, '/v1/completions', { model, prompt: 'Hello', max_tokens: 3, stream: true }));
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d));
    check(chunks.every((c) => c.object === 'text_completion' && typeof c.choices[0].text === 'string'), 'chunks');
    check(FINISH.includes(chunks.at(-1).choices[0].finish_reason), `finish_reason ${chunks.at(-1).choices[0].finish_reason}`);
  },
});

export const openAiErrorCases = section<EngineContext>('Errors', {
  'a chat request without messages is 400 with the engine error body': async ({ target, engine, model }) => {
    engineError(engine, await post(target, '/v1/chat/completions', { model, max_tokens: 2 }), 400);
  },

  'a body that is not JSON is 400 with the engine error body': async ({ target, engine }) => {
    engineError(engine, await call(target, '/v1/completions', { raw: '{"prompt":', contentType: 'application/json' }), 400);
  },

  'max_tokens beyond the context is 400 with the context-length message': async ({ target, engine, model, maxModelLen }) => {
    const message = engine === 'vllm' ? /^'max_tokens' or 'max_completion_tokens' is too large: \d+\. This model's maximum context length is \d+ tokens and your request has \d+ input tokens/ : /^Requested token count exceeds the model's maximum context length of \d+ tokens\./;
    engineError(engine, await post(target, '/v1/chat/completions', { model, messages: HI, max_tokens: maxModelLen + 1 }), 400, message);
  },
});
