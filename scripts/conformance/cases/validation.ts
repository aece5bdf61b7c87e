// docs/tgi-contract.md "Request validation" (router/src/validation.rs, infer/mod.rs): every check,
// its message with the "Input validation error: " prefix, error_type validation, status 422.
import { post, type Target } from '../client.ts';
import { section } from '../case.ts';
import type { Context } from '../context.ts';
import { check, json, routerError, skip } from '../expect.ts';

const PREFIX = 'Input validation error: ';

async function refused(target: Target, parameters: Record<string, unknown>, message: string | RegExp, inputs = 'Hello world'): Promise<void> {
  routerError(await post(target, '/generate', { inputs, parameters }), 422, typeof message === 'string' ? PREFIX + message : message, 'validation');
}

async function tokenCount(target: Target, inputs: string): Promise<number> {
  const tokens = json(await post(target, '/tokenize', { inputs }));
  check(Array.isArray(tokens), '/tokenize answers a list');
  return tokens.length;
}

/** A prompt of at least `tokens` tokens (and its count): " hello" repeated, grown until it is long enough. */
async function promptOf(target: Target, tokens: number): Promise<{ inputs: string; count: number }> {
  let words = Math.max(1, tokens);
  for (;;) {
    const inputs = 'hello'.concat(' hello'.repeat(words - 1));
    const count = await tokenCount(target, inputs);
    if (count >= tokens) return { inputs, count };
    words += tokens - count;
  }
}

function needsBestOf(ctx: Context): void {
  if (ctx.info.max_best_of < 2) skip('--max-best-of is 1');
}

export const validationCases = section('Request validation', {
  'temperature <= 0': ({ target }) => refused(target, { temperature: 0 }, '`temperature` must be strictly positive'),
  'repetition_penalty <= 0': ({ target }) => refused(target, { repetition_penalty: 0 }, '`repetition_penalty` must be strictly positive'),
  'frequency_penalty outside [-2, 2]': ({ target }) => refused(target, { frequency_penalty: 2.5 }, '`frequency_penalty` must be >= -2.0 and <= 2.0'),
  'top_p of 1.0 is refused': ({ target }) => refused(target, { top_p: 1.0 }, '`top_p` must be > 0.0 and < 1.0'),
  'typical_p of 0': ({ target }) => refused(target, { typical_p: 0 }, '`typical_p` must be > 0.0 and < 1.0'),
  'top_k <= 0': ({ target }) => refused(target, { top_k: 0 }, '`top_k` must be strictly positive'),
  'max_new_tokens 0': ({ target }) => refused(target, { max_new_tokens: 0 }, '`max_new_tokens` must be strictly positive'),
  'more stop sequences than --max-stop-sequences': ({ target, info }) => {
    const stop = Array.from({ length: info.max_stop_sequences + 1 }, (_, i) => `stop${i}`);
    return refused(target, { stop }, `\`stop\` supports up to ${info.max_stop_sequences} stop sequences. Given: ${stop.length}`);
  },
  'best_of above --max-best-of': ({ target, info }) => {
    const bestOf = info.max_best_of + 1;
    const message = info.max_best_of === 1 ? '`best_of` != 1 is not allowed for this endpoint' : `\`best_of\` must be > 0 and <= ${info.max_best_of}. Given: ${bestOf}`;
    return refused(target, { best_of: bestOf, do_sample: true }, message);
  },
  'best_of without sampling': async (ctx) => {
    needsBestOf(ctx);
    await refused(ctx.target, { best_of: 2 }, 'you must use sampling when `best_of` is > 1');
  },
  'seed with best_of > 1': async (ctx) => {
    needsBestOf(ctx);
    await refused(ctx.target, { best_of: 2, do_sample: true, seed: 1 }, '`seed` must not be set when `best_of` > 1');
  },
  'top_n_tokens above --max-top-n-tokens': ({ target }) => refused(target, { top_n_tokens: 100000 }, /^Input validation error: `top_n_tokens` must be >= 0 and <= \d+\. Given: 100000$/),
  'empty inputs': ({ target }) => refused(target, {}, '`inputs` cannot be empty', ''),
  'truncate 0': ({ target, info }) => refused(target, { truncate: 0 }, `\`truncate\` must be strictly positive and less than ${info.max_input_tokens}. Given: 0`),
  'truncate above --max-input-tokens': ({ target, info }) =>
    refused(target, { truncate: info.max_input_tokens + 1 }, `\`truncate\` must be strictly positive and less than ${info.max_input_tokens}. Given: ${info.max_input_tokens + 1}`),
  'the first failing check wins (temperature before top_k)': ({ target }) => refused(target, { temperature: 0, top_k: 0 }, '`temperature` must be strictly positive'),
  'max_new_tokens counts as min(max_new_tokens, 1024) against max_total_tokens': async ({ target, info }) => {
    // A prompt long enough that input + 1024 > max_total_tokens, and a max_new_tokens far above 1024.
    const { inputs, count } = await promptOf(target, Math.max(1, info.max_total_tokens - 1023));
    await refused(target, { max_new_tokens: 4294967295 }, `\`inputs\` tokens + \`max_new_tokens\` must be <= ${info.max_total_tokens}. Given: ${count} \`inputs\` tokens and 1024 \`max_new_tokens\``, inputs);
  },
  'max_new_tokens under 1024 is reported as given': async ({ target, info }) => {
    if (info.max_total_tokens > 1024) skip('max_total_tokens > 1024: a max_new_tokens over the limit would be counted as 1024');
    const count = await tokenCount(target, 'Hello world');
    await refused(target, { max_new_tokens: info.max_total_tokens }, `\`inputs\` tokens + \`max_new_tokens\` must be <= ${info.max_total_tokens}. Given: ${count} \`inputs\` tokens and ${info.max_total_tokens} \`max_new_tokens\``);
  },
  'inputs over --max-input-tokens': async ({ target, info }) => {
    if (info.max_input_tokens >= info.max_total_tokens - 1) skip('max_input_tokens is max_total_tokens - 1: the total-tokens check comes first');
    const { inputs, count } = await promptOf(target, info.max_input_tokens + 1);
    if (count + 1 > info.max_total_tokens) skip('no prompt fits between the two limits');
    await refused(target, { max_new_tokens: 1 }, `\`inputs\` must have less than ${info.max_input_tokens} tokens. Given: ${count}`, inputs);
  },
  'a wrongly typed number is the plain-text 422, not a validation error': async ({ target }) => {
    const answer = await post(target, '/generate', { inputs: 'x', parameters: { top_k: 1.5 } });
    check(answer.status === 422 && (answer.headers.get('content-type') ?? '').startsWith('text/plain'), `plain-text 422, got ${answer.status} ${answer.text.slice(0, 120)}`);
  },
});
