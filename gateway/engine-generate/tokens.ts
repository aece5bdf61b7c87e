import type { GeneratePlan, TgiToken } from './plan.ts';

// The generated tokens of one OpenAI choice (a whole answer or one stream chunk) in TGI's shape.
// Completions' logprobs are `{tokens, token_logprobs, top_logprobs: [{text: logprob}]}`, chat's
// `{content: [{token, logprob, top_logprobs: [{token, logprob}]}]}` (docs/vllm-contract.md "OpenAI
// routes"; SGLang's utils.py to_openai_style_logprobs is the same). Ids come from vLLM's
// `token_ids` (asked with return_token_ids), or from tokens spelled `token_id:N`; else -1.

type Choice = Record<string, unknown>;

const TOKEN_ID = /^token_id:(\d+)$/;

export interface ChoiceTokens {
  tokens: TgiToken[];
  /** Per token, the alternatives (top_n_tokens), when asked. */
  top: TgiToken[][];
}

function idOf(ids: unknown, i: number, token: string): number {
  const listed = Array.isArray(ids) ? ids[i] : undefined;
  if (typeof listed === 'number') return listed;
  const spelled = TOKEN_ID.exec(token);
  return spelled ? Number(spelled[1]) : -1;
}

const logprobOf = (v: unknown) => (typeof v === 'number' ? v : 0);

export function choiceTokens(plan: GeneratePlan, choice: Choice): ChoiceTokens {
  const logprobs = choice.logprobs as Record<string, unknown> | null | undefined;
  const ids = choice.token_ids;
  const tokens: TgiToken[] = [];
  const top: TgiToken[][] = [];
  if (!logprobs) return { tokens, top };
  if (plan.route === 'chat') {
    const content = Array.isArray(logprobs.content) ? (logprobs.content as Record<string, unknown>[]) : [];
    content.forEach((entry, i) => {
      const text = String(entry.token ?? '');
      tokens.push({ id: idOf(ids, i, text), text, logprob: logprobOf(entry.logprob), special: false });
      const alternatives = Array.isArray(entry.top_logprobs) ? (entry.top_logprobs as Record<string, unknown>[]) : [];
      top.push(alternatives.map((alt) => ({ id: idOf(undefined, 0, String(alt.token ?? '')), text: String(alt.token ?? ''), logprob: logprobOf(alt.logprob), special: false })));
    });
  } else {
    const texts = Array.isArray(logprobs.tokens) ? (logprobs.tokens as unknown[]) : [];
    const values = Array.isArray(logprobs.token_logprobs) ? (logprobs.token_logprobs as unknown[]) : [];
    const alternatives = Array.isArray(logprobs.top_logprobs) ? (logprobs.top_logprobs as unknown[]) : [];
    texts.forEach((t, i) => {
      const text = String(t ?? '');
      tokens.push({ id: idOf(ids, i, text), text, logprob: logprobOf(values[i]), special: false });
      const alt = alternatives[i];
      top.push(alt && typeof alt === 'object' ? Object.entries(alt as Record<string, unknown>).map(([text, lp]) => ({ id: idOf(undefined, 0, text), text, logprob: logprobOf(lp), special: false })) : []);
    });
  }
  return { tokens, top };
}

/** The text a choice adds: `text` (completions) or `delta.content` / `message.content` (chat). */
export function choiceText(choice: Choice): string {
  if (typeof choice.text === 'string') return choice.text;
  const message = (choice.delta ?? choice.message) as Record<string, unknown> | undefined;
  return typeof message?.content === 'string' ? message.content : '';
}

/** vLLM's `stop_reason`, SGLang's `matched_stop`: the stop string or token id that ended it, or null. */
export function matchedStop(choice: Choice): unknown {
  return choice.stop_reason ?? choice.matched_stop ?? null;
}

/**
 * The EOS token the engine lists last (an empty text: the engines skip special tokens in the text) is
 * TGI's `special: true` token.
 */
export function markEos(tokens: TgiToken[], finishReason: string): void {
  const last = tokens.at(-1);
  if (last && finishReason === 'eos_token' && last.text === '') last.special = true;
}
