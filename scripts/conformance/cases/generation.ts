// docs/tgi-contract.md "Generation parameters and `details`" (router/src/lib.rs, server.rs): the
// response shape, seed, prefill, tokens, finish reasons, best_of, return_full_text, the headers.
import { post } from '../client.ts';
import { section } from '../case.ts';
import { check, isType, json, same, skip, status } from '../expect.ts';

const FINISH_REASONS = ['length', 'eos_token', 'stop_sequence'];
const TIMING_HEADERS = ['x-compute-type', 'x-compute-time', 'x-compute-characters', 'x-total-time', 'x-validation-time', 'x-queue-time', 'x-inference-time', 'x-time-per-token', 'x-prompt-tokens', 'x-generated-tokens'];

function tokenShape(token: Record<string, unknown>, what: string): void {
  same(Object.keys(token), ['id', 'text', 'logprob', 'special'], `${what} keys`);
  isType(token.id, 'number', `${what}.id`);
  isType(token.text, 'string', `${what}.text`);
  isType(token.special, 'boolean', `${what}.special`);
}

export const generationCases = section('Generation parameters and `details`', {
  'without details the answer is only generated_text': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'Hello', parameters: { max_new_tokens: 3 } });
    status(answer, 200);
    same(Object.keys(json(answer)), ['generated_text'], 'keys');
  },

  'details: finish_reason, generated_tokens, seed (null when greedy), prefill [], tokens': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'The capital of France is', parameters: { max_new_tokens: 5, details: true, seed: 7 } });
    status(answer, 200);
    const { details } = json(answer);
    same(Object.keys(details), ['finish_reason', 'generated_tokens', 'seed', 'prefill', 'tokens'], 'details keys');
    check(FINISH_REASONS.includes(details.finish_reason), `finish_reason ${details.finish_reason}`);
    same(details.generated_tokens, details.tokens.length, 'generated_tokens = tokens.length');
    check(details.generated_tokens <= 5 && details.generated_tokens > 0, `1..5 tokens, got ${details.generated_tokens}`);
    if (details.finish_reason === 'length') same(details.generated_tokens, 5, 'a length finish after max_new_tokens');
    same(details.seed, null, 'seed of a greedy request, even with a seed given');
    same(details.prefill, [], 'prefill without decoder_input_details');
    details.tokens.forEach((token: Record<string, unknown>, i: number) => tokenShape(token, `tokens[${i}]`));
  },

  'do_sample reports its seed': async ({ target }) => {
    const { details } = json(await post(target, '/generate', { inputs: 'Once upon a time', parameters: { max_new_tokens: 3, details: true, do_sample: true, seed: 42 } }));
    same(details.seed, 42, 'details.seed');
  },

  'decoder_input_details: prefill is [] unless --enable-prefill-logprobs, then the prompt with a null first logprob': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'Deep learning is', parameters: { max_new_tokens: 2, decoder_input_details: true } });
    status(answer, 200);
    const { details } = json(answer);
    check(details !== undefined, 'decoder_input_details implies details');
    if (details.prefill.length === 0) return;
    same(details.prefill.length, Number(answer.headers.get('x-prompt-tokens')), 'prefill length = x-prompt-tokens');
    same(Object.keys(details.prefill[0]), ['id', 'text', 'logprob'], 'prefill token keys');
    same(details.prefill[0].logprob, null, 'first prefill logprob');
  },

  'the timing headers, with counts that agree with details': async ({ target }) => {
    const inputs = 'Tell me about the sea';
    const answer = await post(target, '/generate', { inputs, parameters: { max_new_tokens: 4, details: true } });
    status(answer, 200);
    for (const name of TIMING_HEADERS) check(answer.headers.get(name) !== null, `missing header ${name}`);
    same(answer.headers.get('x-compute-characters'), String([...inputs].length), 'x-compute-characters');
    same(answer.headers.get('x-generated-tokens'), String(json(answer).details.generated_tokens), 'x-generated-tokens');
    check(Number.isFinite(Number(answer.headers.get('x-compute-time'))), 'x-compute-time is seconds');
  },

  'return_full_text puts the prompt in front': async ({ target }) => {
    const inputs = 'Once upon a time';
    const { generated_text } = json(await post(target, '/generate', { inputs, parameters: { max_new_tokens: 3, return_full_text: true } }));
    check(generated_text.startsWith(inputs), `generated_text ${JSON.stringify(generated_text)} starts with the prompt`);
  },

  'top_n_tokens: one list of alternatives per token': async ({ target }) => {
    const { details } = json(await post(target, '/generate', { inputs: 'Hello', parameters: { max_new_tokens: 3, details: true, top_n_tokens: 2 } }));
    check(Array.isArray(details.top_tokens), 'details.top_tokens');
    same(details.top_tokens.length, details.tokens.length, 'one list per token');
    details.top_tokens.forEach((list: Array<Record<string, unknown>>, i: number) => {
      check(list.length >= 1, `top_tokens[${i}] is not empty`);
      list.forEach((token, j) => tokenShape(token, `top_tokens[${i}][${j}]`));
    });
  },

  'best_of: the others in best_of_sequences': async ({ target, info }) => {
    if (info.max_best_of < 2) skip('--max-best-of is 1');
    const { details } = json(await post(target, '/generate', { inputs: 'Best of', parameters: { max_new_tokens: 3, best_of: 2, do_sample: true, details: true } }));
    check(Array.isArray(details.best_of_sequences) && details.best_of_sequences.length === 1, 'one other sequence');
    same(Object.keys(details.best_of_sequences[0]), ['generated_text', 'finish_reason', 'generated_tokens', 'seed', 'prefill', 'tokens'], 'best_of_sequences[0] keys');
    isType(details.best_of_sequences[0].seed, 'number', 'a sampled sequence reports its seed');
  },

  'truncate keeps that many input tokens': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'one two three four five six seven eight', parameters: { max_new_tokens: 1, truncate: 2 } });
    status(answer, 200);
    same(answer.headers.get('x-prompt-tokens'), '2', 'x-prompt-tokens');
  },

  '/generate ignores "stream": true': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'Hi', parameters: { max_new_tokens: 2 }, stream: true });
    status(answer, 200);
    check((answer.headers.get('content-type') ?? '').startsWith('application/json'), 'a JSON answer');
  },

  'POST / answers a one-element array, full text by default for text-generation models': async ({ target, info }) => {
    const inputs = 'Compat route';
    const answer = await post(target, '/', { inputs, parameters: { max_new_tokens: 2 } });
    status(answer, 200);
    const body = json(answer);
    check(Array.isArray(body) && body.length === 1, 'a one-element array');
    const full = info.model_pipeline_tag === null || info.model_pipeline_tag === 'text-generation';
    same(body[0].generated_text.startsWith(inputs), full, `prompt in front for pipeline tag ${info.model_pipeline_tag}`);
  },
});
