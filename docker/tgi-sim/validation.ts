// TGI's request validation (router/src/validation.rs), in its order and with its messages; the
// "Input validation error: " prefix comes from InferError (errors.ts).
import { validationError } from './errors.ts';
import { validateGrammar, type ValidGrammar } from './grammar.ts';
import { ImageError, type DecodedImage } from './images.ts';
import { encodePrompt, type PromptOptions } from './prompt.ts';
import type { GenerateRequest } from './requests.ts';
import type { TokenPiece } from './tokenizer.ts';

/** validation.rs: what one scheduling round may generate at most; longer requests are re-queued. */
export const DEFAULT_GENERATION_LENGTH = 1024;

export interface ValidationLimits {
  maxInputTokens: number;
  maxTotalTokens: number;
  maxBestOf: number;
  maxStopSequences: number;
  maxTopNTokens: number;
  disableGrammarSupport: boolean;
}

export interface ValidRequest {
  inputs: string;
  promptTokens: TokenPiece[];
  images: DecodedImage[];
  inputLength: number;
  /** max_new_tokens as given, or undefined ("until EOS"). */
  maxNewTokens?: number;
  /** The validated max_new_tokens: min(max_new_tokens or max_total_tokens − input, 1024). */
  roundTokens: number;
  /** The most tokens generated in all, over the re-queued rounds (see generationLimit). */
  generationLimit: number;
  /** The seed that drives generation, or null when decoding greedily. */
  generationSeed: number | null;
  /** details.seed: TGI reports the seed only when do_sample is true. */
  reportedSeed: number | null;
  stop: string[];
  details: boolean;
  decoderInputDetails: boolean;
  topN: number;
  returnFullText: boolean;
  grammar?: ValidGrammar;
}

const RAW_IMAGE_TAG = /<image>/i;

/** TGI assigns a random u64 seed when none is given; the simulator keeps it within JSON-safe integers. */
export function randomSeed(): number {
  return Math.floor(Math.random() * Number.MAX_SAFE_INTEGER);
}

/** best_of is checked on its own before the rest (Validation::validate_best_of). */
export function validateBestOf(bestOf: number, maxBestOf: number): void {
  if (maxBestOf === 1 && bestOf !== 1) throw validationError('`best_of` != 1 is not allowed for this endpoint');
  if (bestOf > maxBestOf) throw validationError(`\`best_of\` must be > 0 and <= ${maxBestOf}. Given: ${bestOf}`);
}

/** The validated max_new_tokens of a request (or of a re-queued round of it). */
function roundTokens(inputLength: number, maxNewTokens: number | undefined, maxTotalTokens: number): number {
  return Math.min(maxNewTokens ?? Math.max(0, maxTotalTokens - inputLength), DEFAULT_GENERATION_LENGTH);
}

/**
 * How many tokens a request generates at most, as router/src/infer/mod.rs schedules it: a round
 * generates up to its validated max_new_tokens; when it ends by length while fewer than
 * max_total_new_tokens (max_new_tokens, or max_total_tokens − input) were generated, the request is
 * validated again with the generated text appended and re-queued, and it ends when that validation
 * fails. A max_new_tokens above 1024 therefore runs in whole rounds of 1024.
 */
export function generationLimit(inputLength: number, maxNewTokens: number | undefined, limits: Pick<ValidationLimits, 'maxInputTokens' | 'maxTotalTokens'>): number {
  const maxTotalNewTokens = maxNewTokens ?? Math.max(0, limits.maxTotalTokens - inputLength);
  let generated = roundTokens(inputLength, maxNewTokens, limits.maxTotalTokens);
  while (generated < maxTotalNewTokens) {
    const input = inputLength + generated;
    const next = roundTokens(input, maxNewTokens, limits.maxTotalTokens);
    if (next === 0 || input + next > limits.maxTotalTokens || input > limits.maxInputTokens) break;
    generated += next;
  }
  return generated;
}

export function validate(request: GenerateRequest, limits: ValidationLimits, prompt: PromptOptions): ValidRequest {
  const p = request.parameters;
  const bestOf = p.best_of ?? 1;
  const warpers = p.temperature !== undefined || p.top_k !== undefined || p.top_p !== undefined || p.typical_p !== undefined;
  if (bestOf > 1 && !(p.do_sample || warpers)) throw validationError('you must use sampling when `best_of` is > 1');
  if ((p.temperature ?? 1) <= 0) throw validationError('`temperature` must be strictly positive');
  if ((p.repetition_penalty ?? 1) <= 0) throw validationError('`repetition_penalty` must be strictly positive');
  const frequencyPenalty = p.frequency_penalty ?? 0;
  if (!(frequencyPenalty >= -2 && frequencyPenalty <= 2)) throw validationError('`frequency_penalty` must be >= -2.0 and <= 2.0');
  if (p.top_p !== undefined && (p.top_p <= 0 || p.top_p >= 1)) throw validationError('`top_p` must be > 0.0 and < 1.0');
  if (p.typical_p !== undefined && (p.typical_p <= 0 || p.typical_p >= 1)) throw validationError('`typical_p` must be > 0.0 and < 1.0');
  if (p.top_k !== undefined && p.top_k <= 0) throw validationError('`top_k` must be strictly positive');
  if (p.max_new_tokens === 0) throw validationError('`max_new_tokens` must be strictly positive');
  if (p.stop.length > limits.maxStopSequences) throw validationError(`\`stop\` supports up to ${limits.maxStopSequences} stop sequences. Given: ${p.stop.length}`);
  if (p.seed !== undefined && bestOf > 1) throw validationError('`seed` must not be set when `best_of` > 1');
  const seed = p.seed ?? randomSeed();
  const topN = p.top_n_tokens ?? 0;
  if (topN > limits.maxTopNTokens) throw validationError(`\`top_n_tokens\` must be >= 0 and <= ${limits.maxTopNTokens}. Given: ${topN}`);
  if (request.inputs.length === 0) throw validationError('`inputs` cannot be empty');
  if (p.truncate !== undefined && (p.truncate === 0 || p.truncate > limits.maxInputTokens)) {
    throw validationError(`\`truncate\` must be strictly positive and less than ${limits.maxInputTokens}. Given: ${p.truncate}`);
  }
  if (prompt.vision && RAW_IMAGE_TAG.test(request.inputs)) {
    throw validationError('`inputs` contains a raw `<image>` tag, which this server does not understand: send each image as a Markdown image, ![](data:image/png;base64,...)');
  }

  let encoded;
  try {
    encoded = encodePrompt(request.inputs, { ...prompt, addSpecialTokens: request.addSpecialTokens });
  } catch (error) {
    if (error instanceof ImageError) throw validationError(error.message);
    throw error;
  }
  // Truncation keeps the last `truncate` tokens.
  const promptTokens = p.truncate !== undefined && encoded.tokens.length > p.truncate ? encoded.tokens.slice(-p.truncate) : encoded.tokens;
  const inputLength = promptTokens.length;
  const round = roundTokens(inputLength, p.max_new_tokens, limits.maxTotalTokens);
  if (inputLength + round > limits.maxTotalTokens) {
    throw validationError(`\`inputs\` tokens + \`max_new_tokens\` must be <= ${limits.maxTotalTokens}. Given: ${inputLength} \`inputs\` tokens and ${round} \`max_new_tokens\``);
  }
  if (inputLength > limits.maxInputTokens) throw validationError(`\`inputs\` must have less than ${limits.maxInputTokens} tokens. Given: ${inputLength}`);
  // The grammar is checked last, after tokenization.
  const grammar = p.grammar === undefined ? undefined : validateGrammar(p.grammar, limits.disableGrammarSupport);

  const sampling = p.do_sample || warpers;
  return {
    inputs: request.inputs,
    promptTokens,
    images: encoded.images,
    inputLength,
    maxNewTokens: p.max_new_tokens,
    roundTokens: round,
    generationLimit: generationLimit(inputLength, p.max_new_tokens, limits),
    generationSeed: sampling ? seed : null,
    reportedSeed: p.do_sample ? seed : null,
    stop: p.stop,
    details: p.details || p.decoder_input_details,
    decoderInputDetails: p.decoder_input_details,
    topN,
    returnFullText: p.return_full_text ?? false,
    grammar,
  };
}
