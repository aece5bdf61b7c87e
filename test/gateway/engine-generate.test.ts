import assert from 'node:assert/strict';
import { test } from 'node:test';
import { engineGenerateRequest } from '../../gateway/engine-generate/request.ts';
import { translateAnswer } from '../../gateway/engine-generate/response.ts';
import { GenerateStreamTranslator } from '../../gateway/engine-generate/stream.ts';
import type { ServedDeployment } from '../../gateway/types.ts';
import { makeDeployment } from './fixture.ts';
import { png } from './images.ts';

// The /generate translation on its own, with answers shaped as the real engines send them where the
// simulator does not (vLLM's token_ids, SGLang's numeric matched_stop, events split across reads).
// engine-routes.test.ts runs it end to end against the simulator.

const vllm = makeDeployment({ model: 'm', engine: 'vllm' }) as ServedDeployment;
const sglang = makeDeployment({ model: 'm', engine: 'sglang', vision: true }) as ServedDeployment;

function request(d: ServedDeployment, json: Record<string, unknown>, stream = false) {
  const engine = d.spec.engine as 'vllm' | 'sglang';
  const call = engineGenerateRequest(d, engine, json.inputs as string, json, stream);
  return { ...call, sent: JSON.parse(call.body.toString()) };
}

test('TGI parameters map onto the engine\'s completions fields', () => {
  const { path, sent, plan } = request(vllm, { inputs: 'Hi', parameters: { max_new_tokens: 7, temperature: 0.5, top_p: 0.9, top_k: 40, repetition_penalty: 1.1, frequency_penalty: 0.2, stop: ['\n'], seed: 3, truncate: 100, details: true } }, true);
  assert.equal(path, '/v1/completions');
  assert.deepEqual(sent, {
    model: 'm', prompt: 'Hi', max_tokens: 7, temperature: 0.5, top_p: 0.9, top_k: 40, seed: 3, repetition_penalty: 1.1, frequency_penalty: 0.2,
    stop: ['\n'], include_stop_str_in_output: true, truncate_prompt_tokens: 100, logprobs: 1, return_token_ids: true, stream: true, stream_options: { include_usage: true },
  });
  assert.equal(plan.seed, 3);
  // Greedy without sampling parameters; SGLang keeps stop strings with no_stop_trim and has no truncate.
  const greedy = request(sglang, { inputs: 'Hi', parameters: { stop: ['x'] } }).sent;
  assert.equal(greedy.temperature, 0);
  assert.equal(greedy.no_stop_trim, true);
  assert.equal(greedy.seed, undefined);
  assert.throws(() => request(sglang, { inputs: 'Hi', parameters: { truncate: 10 } }), /parameters\.truncate: SGLang has no equivalent/);
  // No `parameters` at all samples, as TGI's default_parameters do, with a seed the gateway draws.
  const defaults = request(vllm, { inputs: 'Hi' });
  assert.equal(typeof defaults.sent.seed, 'number');
  assert.equal(defaults.plan.seed, defaults.sent.seed);
  // Without max_new_tokens: up to the context on vLLM (null), SGLang's own default.
  assert.equal(defaults.sent.max_tokens, null);
  assert.equal('max_tokens' in greedy, false);
});

test('<image> inputs become chat image_url parts, in order', () => {
  const image = png(8, 8).toString('base64');
  const { path, sent } = request(sglang, { inputs: `Look: <image>${image}</image> and say`, parameters: { details: true } });
  assert.equal(path, '/v1/chat/completions');
  assert.deepEqual(sent.messages, [{ role: 'user', content: [{ type: 'text', text: 'Look: ' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${image}` } }, { type: 'text', text: ' and say' }] }]);
  assert.equal(sent.logprobs, true);
  assert.throws(() => request(vllm, { inputs: `<image>${image}</image>` }), /not a vision model/);
});

test('a vLLM answer with token ids and a stop string; an SGLang EOS; engine errors', () => {
  const plan = request(vllm, { inputs: 'Q', parameters: { details: true, stop: [' end'], return_full_text: true } }).plan;
  const answer = {
    choices: [{ index: 0, text: 'a b end', finish_reason: 'stop', stop_reason: ' end', token_ids: [5, 6, 9], logprobs: { tokens: ['a', ' b', ' end'], token_logprobs: [-0.5, -0.25, -1], top_logprobs: [{ a: -0.5 }, { ' b': -0.25 }, { ' end': -1 }], text_offset: [0, 1, 3] } }],
    usage: { prompt_tokens: 2, completion_tokens: 3, total_tokens: 5 },
  };
  const out = translateAnswer(plan, 200, JSON.stringify(answer));
  assert.deepEqual(out.usage, { prompt: 2, generated: 3 });
  assert.deepEqual(JSON.parse(out.body), {
    generated_text: 'Qa b end',
    details: { finish_reason: 'stop_sequence', generated_tokens: 3, seed: null, prefill: [], tokens: [{ id: 5, text: 'a', logprob: -0.5, special: false }, { id: 6, text: ' b', logprob: -0.25, special: false }, { id: 9, text: ' end', logprob: -1, special: false }] },
  });

  const sglangPlan = request(sglang, { inputs: 'Q', parameters: { details: true } }).plan;
  const eos = translateAnswer(sglangPlan, 200, JSON.stringify({ choices: [{ text: 'hi', finish_reason: 'stop', matched_stop: 2, logprobs: { tokens: ['hi', ''], token_logprobs: [-0.1, -0.2] } }], usage: { prompt_tokens: 1, completion_tokens: 2 } }));
  const details = JSON.parse(eos.body).details;
  assert.equal(details.finish_reason, 'eos_token');
  assert.deepEqual(details.tokens.map((t: { id: number; special: boolean }) => [t.id, t.special]), [[-1, false], [-1, true]]);

  for (const body of [{ error: { message: 'too long', type: 'BadRequestError', param: null, code: 400 } }, { object: 'error', message: 'too long', type: 'BadRequestError', code: 400 }, { detail: 'too long' }]) {
    const error = translateAnswer(plan, 400, JSON.stringify(body));
    assert.equal(error.status, 400);
    assert.deepEqual(JSON.parse(error.body), { error: { message: 'too long', type: 'invalid_request_error', code: 400 } });
  }
});

async function translateStream(plan: ReturnType<typeof request>['plan'], reads: string[]): Promise<{ events: any[]; usage: unknown[] }> {
  const usage: unknown[] = [];
  const t = new GenerateStreamTranslator(plan, (u) => usage.push(u));
  let out = '';
  t.on('data', (chunk: Buffer) => (out += chunk));
  const ended = new Promise((resolve) => t.on('end', resolve));
  for (const read of reads) t.write(Buffer.from(read));
  t.end();
  await ended;
  assert.doesNotMatch(out, /\[DONE\]/);
  return { events: out.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, ''))), usage };
}

test('a chat stream split across reads becomes TGI events, the last with generated_text and details', async () => {
  const visionVllm = makeDeployment({ model: 'm', engine: 'vllm', vision: true }) as ServedDeployment;
  const plan = request(visionVllm, { inputs: `<image>${png(4, 4).toString('base64')}</image>Q`, parameters: { details: true, seed: 4, do_sample: true } }, true).plan;
  assert.equal(plan.route, 'chat');
  const chunk = (delta: Record<string, unknown>, logprobs: unknown, finish: string | null, ids?: number[]) => `data: ${JSON.stringify({ choices: [{ index: 0, delta, logprobs, finish_reason: finish, token_ids: ids }] })}\n\n`;
  const content = (token: string, logprob: number) => ({ content: [{ token, logprob, top_logprobs: [] }] });
  const whole = [
    chunk({ role: 'assistant', content: '' }, null, null),
    chunk({ content: 'Hel' }, content('Hel', -0.1), null, [11]),
    chunk({ content: 'lo' }, content('lo', -0.2), 'length', [12]),
    `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 2 } })}\n\n`,
    'data: [DONE]\n\n',
  ].join('');
  const cut = [whole.slice(0, 70), whole.slice(70, 200), whole.slice(200)];
  const { events, usage } = await translateStream(plan, cut);
  assert.deepEqual(usage, [{ prompt: 4, generated: 2 }]);
  assert.deepEqual(events, [
    { index: 1, token: { id: 11, text: 'Hel', logprob: -0.1, special: false }, generated_text: null, details: null },
    { index: 2, token: { id: 12, text: 'lo', logprob: -0.2, special: false }, generated_text: 'Hello', details: { finish_reason: 'length', generated_tokens: 2, seed: 4, input_length: 4 } },
  ]);
});

test('an engine error event and a stream that ends early become TGI error events', async () => {
  const plan = request(sglang, { inputs: 'Q' }, true).plan;
  const failed = await translateStream(plan, [`data: ${JSON.stringify({ choices: [{ text: 'a', finish_reason: null, logprobs: { tokens: ['a'], token_logprobs: [-1] } }] })}\n\ndata: {"object":"error","message":"boom","code":500}\n\ndata: [DONE]\n\n`]);
  assert.equal(failed.events.length, 2);
  assert.deepEqual(failed.events[1], { error: 'boom', error_type: 'generation' });
  const early = await translateStream(plan, [`data: ${JSON.stringify({ choices: [{ text: 'a', finish_reason: null }] })}\n\n`]);
  assert.deepEqual(early.events.at(-1), { error: 'Incomplete generation stream', error_type: 'incomplete_generation_stream' });
});
