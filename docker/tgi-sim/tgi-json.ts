// TGI's response objects (router/src/lib.rs), field for field and in serde's field order.
import type { Candidate, Run } from './inference.ts';
import type { GeneratedToken } from './text-generator.ts';
import { hash32 } from './tokenizer.ts';

export interface TokenJson {
  id: number;
  text: string;
  logprob: number;
  special: boolean;
}

export interface PrefillTokenJson {
  id: number;
  text: string;
  logprob: number | null;
}

export interface DetailsJson {
  finish_reason: string;
  generated_tokens: number;
  seed: number | null;
  prefill: PrefillTokenJson[];
  tokens: TokenJson[];
  best_of_sequences?: Array<Omit<DetailsJson, 'best_of_sequences'> & { generated_text: string }>;
  top_tokens?: TokenJson[][];
}

export interface GenerateResponseJson {
  generated_text: string;
  details?: DetailsJson;
}

export interface StreamResponseJson {
  index: number;
  token: TokenJson;
  top_tokens?: TokenJson[];
  generated_text: string | null;
  details: { finish_reason: string; generated_tokens: number; seed: number | null; input_length: number } | null;
}

function tokenJson(token: GeneratedToken): TokenJson {
  return { id: token.id, text: token.text, logprob: token.logprob, special: token.special };
}

/**
 * The prompt tokens with their logprobs; the first has none (TGI serialises NaN as null). Empty
 * unless the launcher has --enable-prefill-logprobs: the shards drop prefill logprobs otherwise.
 */
function prefillJson(run: Run): PrefillTokenJson[] {
  if (!run.prefillLogprobs) return [];
  return run.valid.promptTokens.map((token, i) => {
    if (i === 0) return { id: token.id, text: token.text, logprob: null };
    const r = (hash32(`${token.id}:${i}`) % 10_000) / 10_000;
    return { id: token.id, text: token.text, logprob: -Math.round(r * r * 8 * 256) / 256 || 0 };
  });
}

/** generated_text, with the prompt in front when return_full_text is set. */
function outputText(run: Run, candidate: Candidate = run.best): string {
  return (run.valid.returnFullText ? run.valid.inputs : '') + candidate.generation.text;
}

function candidateDetails(run: Run, candidate: Candidate): Omit<DetailsJson, 'best_of_sequences'> {
  const { generation } = candidate;
  const details: Omit<DetailsJson, 'best_of_sequences'> = {
    finish_reason: generation.finishReason,
    generated_tokens: generation.tokens.length,
    seed: candidate.seed,
    prefill: prefillJson(run),
    tokens: generation.tokens.map(tokenJson),
  };
  if (run.valid.topN > 0) details.top_tokens = generation.topTokens.map((list) => list.map(tokenJson));
  return details;
}

export function generateResponse(run: Run): GenerateResponseJson {
  const response: GenerateResponseJson = { generated_text: outputText(run) };
  if (!run.valid.details) return response;
  const { top_tokens, ...rest } = candidateDetails(run, run.best);
  const details: DetailsJson = rest;
  if (run.others.length) {
    details.best_of_sequences = run.others.map((other) => {
      const { top_tokens: otherTop, ...otherRest } = candidateDetails(run, other);
      return { generated_text: outputText(run, other), ...otherRest, ...(otherTop ? { top_tokens: otherTop } : {}) };
    });
  }
  if (top_tokens) details.top_tokens = top_tokens;
  response.details = details;
  return response;
}

/** The SSE event for token `index` (0-based) of the run; the last one carries the text and details. */
export function streamResponse(run: Run, index: number, withDetails: boolean): StreamResponseJson {
  const { generation } = run.best;
  const last = index === generation.tokens.length - 1;
  const event: StreamResponseJson = { index: index + 1, token: tokenJson(generation.tokens[index]), generated_text: null, details: null };
  if (run.valid.topN > 0) {
    // serde puts top_tokens right after token.
    const { index: i, token, ...rest } = event;
    return { index: i, token, top_tokens: generation.topTokens[index].map(tokenJson), ...rest, ...(last ? finalFields(run, withDetails) : {}) };
  }
  return last ? { ...event, ...finalFields(run, withDetails) } : event;
}

function finalFields(run: Run, withDetails: boolean): Pick<StreamResponseJson, 'generated_text' | 'details'> {
  const { generation, seed } = run.best;
  return {
    generated_text: outputText(run),
    details: withDetails ? { finish_reason: generation.finishReason, generated_tokens: generation.tokens.length, seed, input_length: run.valid.inputLength } : null,
  };
}

/** FinishReason::format(true), for chat and non-streaming completions: EOS becomes "stop", the rest stays. */
export function openAiFinishReason(reason: string): string {
  return reason === 'eos_token' ? 'stop' : reason;
}
