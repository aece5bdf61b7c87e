import { GatewayError } from '../errors.ts';
import { tgiFinishReason, type GeneratePlan } from './plan.ts';
import { choiceText, choiceTokens, markEos, matchedStop } from './tokens.ts';

// A vLLM or SGLang answer to a translated /generate, in TGI's shapes: a 200 becomes TGI's
// GenerateResponse object (`{generated_text, details?}`: /generate answers an object, only TGI's
// compat route `POST /` a one-element array — docs/tgi-contract.md "Routes"); an error becomes the
// service API document's error body `{"error": {"message", "type", "code"}}` with the engine's status
// and message (vLLM: `{"error": {message, type, param, code}}`, SGLang: `{"object": "error", message,
// …}`, FastAPI: `{"detail": …}` — docs/vllm-contract.md and sglang-contract.md "Errors").

export interface Usage {
  prompt?: number;
  generated?: number;
}

export interface TranslatedAnswer {
  status: number;
  body: string;
  usage?: Usage;
}

/** The engine's `usage` object as the gateway counts it. */
export function usageOf(value: unknown): Usage | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const u = value as Record<string, unknown>;
  const prompt = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : undefined;
  const generated = typeof u.completion_tokens === 'number' ? u.completion_tokens : undefined;
  return prompt === undefined && generated === undefined ? undefined : { prompt, generated };
}

/** The message of any of the engines' error bodies (or the text itself). */
export function engineErrorMessage(parsed: unknown, text: string): string {
  if (parsed && typeof parsed === 'object') {
    const e = parsed as Record<string, unknown>;
    const inner = e.error;
    if (inner && typeof inner === 'object' && typeof (inner as Record<string, unknown>).message === 'string') return (inner as Record<string, string>).message;
    if (typeof inner === 'string') return inner;
    if (typeof e.message === 'string') return e.message;
    if (typeof e.detail === 'string') return e.detail;
  }
  return text.trim() || 'the engine answered with an error and no message';
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** TGI's text: the prompt first with return_full_text, and the stop string kept (an engine that ignored the ask to keep it gets it back). */
export function fullText(plan: GeneratePlan, text: string, matched: unknown): string {
  const withStop = typeof matched === 'string' && matched !== '' && !text.endsWith(matched) ? text + matched : text;
  return plan.prefix + withStop;
}

export function translateAnswer(plan: GeneratePlan, status: number, text: string): TranslatedAnswer {
  const parsed = parse(text);
  if (status !== 200) return { status, body: new GatewayError(status, engineErrorMessage(parsed, text)).body };
  const answer = parsed as Record<string, unknown> | undefined;
  const choice = Array.isArray(answer?.choices) ? (answer.choices[0] as Record<string, unknown> | undefined) : undefined;
  if (!choice) return { status: 502, body: new GatewayError(502, `the ${plan.engine} server's answer has no choices: ${text.slice(0, 200)}`).body };
  const usage = usageOf(answer!.usage);
  const matched = matchedStop(choice);
  const generated = { generated_text: fullText(plan, choiceText(choice), matched) };
  if (!plan.details) return { status: 200, body: JSON.stringify(generated), usage };
  const finishReason = tgiFinishReason(choice.finish_reason, matched);
  const { tokens, top } = choiceTokens(plan, choice);
  markEos(tokens, finishReason);
  const details: Record<string, unknown> = {
    finish_reason: finishReason,
    generated_tokens: usage?.generated ?? tokens.length,
    seed: plan.seed,
    prefill: [], // as TGI without --enable-prefill-logprobs
    tokens,
  };
  if (plan.topNTokens > 0) details.top_tokens = top;
  return { status: 200, body: JSON.stringify({ ...generated, details }), usage };
}
