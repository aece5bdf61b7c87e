// vLLM's own rules (docs/vllm-contract.md): /tokenize, /detokenize, the model check, stop_reason,
// and the V1 engine's metric names.
import { call, post } from '../client.ts';
import { section } from '../case.ts';
import { check, isType, json, same, skip, status } from '../expect.ts';
import type { EngineContext } from './context.ts';
import { engineError } from './expect.ts';

export const vllmCases = section<EngineContext>('vLLM', {
  'POST /tokenize: {count, max_model_len, tokens}; /detokenize gives the text back': async ({ target, maxModelLen }) => {
    const body = json(await post(target, '/tokenize', { prompt: 'Hello world' }));
    same(body.count, body.tokens.length, 'count');
    same(body.max_model_len, maxModelLen, 'max_model_len');
    const text = json(await post(target, '/detokenize', { tokens: body.tokens }));
    check(typeof text.prompt === 'string' && text.prompt.includes('Hello world'), `prompt ${JSON.stringify(text.prompt)}`);
  },

  'a model that is not served is 404 NotFoundError': async ({ target }) => {
    const error = engineError('vllm', await post(target, '/v1/completions', { model: 'no-such-model', prompt: 'Hi', max_tokens: 1 }), 404, /^The model `no-such-model` does not exist\.$/);
    same(error.type, 'NotFoundError', 'type');
  },

  'a finished choice carries stop_reason': async ({ target, model }) => {
    const body = json(await post(target, '/v1/completions', { model, prompt: 'Hello', max_tokens: 2 }));
    check('stop_reason' in body.choices[0], `no stop_reason in ${JSON.stringify(body.choices[0])}`);
  },

  'a prompt longer than the context is 400 "This model\'s maximum context length is …"': async ({ target, model, maxModelLen }) => {
    engineError('vllm', await post(target, '/v1/completions', { model, prompt: 'word '.repeat(maxModelLen + 8) }), 400, /^This model's maximum context length is \d+ tokens\. However, your request has \d+ input tokens\./);
  },

  'GET /metrics has the V1 gauges, counters and histograms': async ({ target, metrics }) => {
    if (!metrics) skip('GET /metrics is not served');
    const answer = await call(target, '/metrics');
    status(answer, 200);
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total', 'vllm:request_success_total', 'vllm:time_to_first_token_seconds_bucket', 'vllm:e2e_request_latency_seconds_count']) {
      check(new RegExp(`^${name}\\{`, 'm').test(answer.text), `no ${name}`);
    }
    isType(answer.text, 'string', 'metrics');
  },
});
