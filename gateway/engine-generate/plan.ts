// What the gateway remembers of a translated /generate request between sending it to a vLLM or
// SGLang server and answering in TGI's shapes (request.ts builds it, response.ts and stream.ts use it).

export type OpenAIEngine = 'vllm' | 'sglang';

export interface GeneratePlan {
  engine: OpenAIEngine;
  /** The engine route it went to: /v1/completions for text, /v1/chat/completions for <image> inputs. */
  route: 'completions' | 'chat';
  /** TGI's `details` (or `decoder_input_details`): the answer carries `details`. */
  details: boolean;
  /** TGI's `top_n_tokens`: alternatives per token, 0 for none. */
  topNTokens: number;
  /** What TGI reports as `details.seed`: the seed of a sampled generation, null for a greedy one. */
  seed: number | null;
  /** `inputs`, put in front of `generated_text` (return_full_text), or ''. */
  prefix: string;
}

/** One generated token in TGI's shape (`{id, text, logprob, special}`). */
export interface TgiToken {
  /** -1 when the engine does not report token ids (SGLang's OpenAI routes). */
  id: number;
  text: string;
  logprob: number;
  special: boolean;
}

export type TgiFinishReason = 'length' | 'eos_token' | 'stop_sequence';

/**
 * TGI's finish reason from an OpenAI choice: `length` stays; `stop` is `stop_sequence` when a stop
 * string matched (vLLM's `stop_reason`, SGLang's `matched_stop` is then that string) and `eos_token`
 * otherwise (null, or the EOS / stop token id).
 */
export function tgiFinishReason(reason: unknown, matched: unknown): TgiFinishReason {
  if (reason === 'length') return 'length';
  return typeof matched === 'string' ? 'stop_sequence' : 'eos_token';
}
