// SGLang's own rules (docs/sglang-contract.md): the native routes, matched_stop, the native error
// body, and the metric names (served with --enable-metrics).
import { call, post, sseData } from '../client.ts';
import { section } from '../case.ts';
import { check, isType, json, same, skip, status } from '../expect.ts';
import type { EngineContext } from './context.ts';

export const sglangCases = section<EngineContext>('SGLang', {
  'GET /health_generate answers 200 once ready': async ({ target }) => {
    status(await call(target, '/health_generate'), 200);
  },

  'GET /get_model_info: model_path and is_generation': async ({ target }) => {
    const body = json(await call(target, '/get_model_info'));
    isType(body.model_path, 'string', 'model_path');
    same(body.is_generation, true, 'is_generation');
  },

  'POST /generate: text, meta_info with finish_reason {type}, prompt_tokens, completion_tokens': async ({ target }) => {
    const body = json(await post(target, '/generate', { text: 'Hello', sampling_params: { max_new_tokens: 2 } }));
    isType(body.text, 'string', 'text');
    check(['length', 'stop', 'abort'].includes(body.meta_info.finish_reason?.type), `finish_reason ${JSON.stringify(body.meta_info.finish_reason)}`);
    isType(body.meta_info.prompt_tokens, 'number', 'prompt_tokens');
    check(body.meta_info.completion_tokens <= 2, `completion_tokens ${body.meta_info.completion_tokens}`);
  },

  'POST /generate streamed: each event the whole text so far, then data: [DONE]': async ({ target }) => {
    const answer = await post(target, '/generate', { text: 'Hello', sampling_params: { max_new_tokens: 3 }, stream: true });
    status(answer, 200);
    const data = sseData(answer.text);
    same(data.at(-1), '[DONE]', 'last event');
    const texts = data.slice(0, -1).map((d) => JSON.parse(d).text as string);
    for (let i = 1; i < texts.length; i++) check(texts[i].startsWith(texts[i - 1]), `text is not cumulative: ${JSON.stringify(texts)}`);
  },

  'POST /generate beyond the context is 400 {"error": {"message"}}': async ({ target, maxModelLen }) => {
    const answer = await post(target, '/generate', { text: 'Hello', sampling_params: { max_new_tokens: maxModelLen } });
    status(answer, 400);
    check(/^Requested token count exceeds the model's maximum context length of \d+ tokens\./.test(json(answer).error?.message), `body ${answer.text.slice(0, 200)}`);
  },

  'POST /generate streamed beyond the context: a 200 stream of one {"error": {"message"}} event, then [DONE]': async ({ target, maxModelLen }) => {
    const answer = await post(target, '/generate', { text: 'Hello', sampling_params: { max_new_tokens: maxModelLen }, stream: true });
    status(answer, 200);
    const data = sseData(answer.text);
    same(data.length, 2, 'events');
    isType(JSON.parse(data[0]).error?.message, 'string', 'error.message');
    same(data[1], '[DONE]', 'last event');
  },

  'a RequestValidationError is 400 {"object": "error", "type": "Bad Request"}': async ({ target, model }) => {
    const answer = await post(target, '/v1/chat/completions', { model, messages: 'not a list' });
    status(answer, 400);
    const body = json(answer);
    same([body.object, body.type, body.code], ['error', 'Bad Request', 400], 'object, type, code');
  },

  'a finished chat choice carries matched_stop': async ({ target, model }) => {
    const body = json(await post(target, '/v1/chat/completions', { model, messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }));
    check('matched_stop' in body.choices[0], `no matched_stop in ${JSON.stringify(body.choices[0])}`);
  },

  'GET /metrics (with --enable-metrics) has the scheduler gauges and tokenizer histograms': async ({ target, metrics }) => {
    if (!metrics) skip('GET /metrics is 404: the server runs without --enable-metrics');
    const text = (await call(target, '/metrics')).text;
    for (const name of ['sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:token_usage', 'sglang:prompt_tokens_total', 'sglang:generation_tokens_total', 'sglang:time_to_first_token_seconds_bucket', 'sglang:e2e_request_latency_seconds_count']) {
      check(new RegExp(`^${name}\\{`, 'm').test(text), `no ${name}`);
    }
  },
});
