// The simulated model: English-ish sentences from a small grammar, driven by a PRNG seeded with the
// prompt (and the sampling seed), so the same prompt and seed always give the same tokens.
import { EOS, hash32, tokenizeText, type TokenPiece } from './tokenizer.ts';

export type FinishReason = 'length' | 'eos_token' | 'stop_sequence';

export interface GeneratedToken {
  id: number;
  text: string;
  logprob: number;
  special: boolean;
}

export interface Generation {
  tokens: GeneratedToken[];
  /** Per token, the top_n_tokens alternatives (empty lists when not asked for). */
  topTokens: GeneratedToken[][];
  /** The generated text without special tokens. */
  text: string;
  finishReason: FinishReason;
}

export interface GenerationInput {
  /** The prompt as sent; it seeds the PRNG. */
  inputs: string;
  /** Sampling seed, or null for greedy decoding. */
  seed: number | null;
  /** Explicit max_new_tokens; absent means "until EOS", capped by the limit. */
  maxNewTokens?: number;
  /** The most tokens the request may generate (validation's re-queue arithmetic). */
  limit: number;
  stop: string[];
  /** The whole text a grammar forces (then EOS), instead of free prose. */
  constrained?: string;
  /** Sentences the text must open with (the vision model's description of each image). */
  opening: string[];
  topN: number;
}

const NOUNS = ['model', 'system', 'network', 'river', 'garden', 'engineer', 'city', 'teacher', 'signal', 'library', 'machine', 'forest', 'window', 'market', 'kitchen', 'student', 'planet', 'bridge', 'camera', 'melody', 'village', 'server', 'message', 'journey', 'mountain', 'ocean', 'author', 'pattern', 'process', 'theory', 'question', 'answer', 'story', 'picture', 'harbor', 'lantern', 'orchard', 'compass', 'engine', 'festival'];
const ADJECTIVES = ['quiet', 'bright', 'careful', 'ancient', 'modern', 'simple', 'curious', 'gentle', 'steady', 'distant', 'small', 'large', 'quick', 'patient', 'clever', 'warm', 'open', 'hidden', 'early', 'useful', 'silent', 'golden', 'narrow', 'familiar', 'complex', 'honest', 'busy', 'calm', 'fresh', 'rare'];
const VERBS = ['explains', 'follows', 'builds', 'describes', 'carries', 'reaches', 'changes', 'supports', 'protects', 'connects', 'studies', 'reveals', 'measures', 'improves', 'shapes', 'guides', 'remembers', 'finds', 'creates', 'gathers', 'watches', 'balances', 'shares', 'answers', 'considers'];
const ADVERBS = ['slowly', 'carefully', 'often', 'quietly', 'clearly', 'rarely', 'always', 'gently', 'quickly', 'usually', 'together', 'again'];
const PREPOSITIONS = ['near', 'across', 'beyond', 'under', 'inside', 'beside', 'around', 'through', 'behind', 'toward', 'along', 'within'];
const DETERMINERS = ['the', 'a', 'every', 'each', 'this', 'that', 'one'];
const OPENERS = ['However', 'Meanwhile', 'In practice', 'As a result', 'For example', 'Over time', 'In the end', 'At first', 'Still', 'Later'];

export type Random = () => number;

/** mulberry32: small, fast, and good enough for picking words. */
function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)];
}

/** "a" becomes "an" before a vowel; the first word is capitalised. */
function finishSentence(words: string[], end: string): string {
  for (let i = 0; i < words.length - 1; i++) if (words[i] === 'a' && /^[aeiou]/.test(words[i + 1])) words[i] = 'an';
  const sentence = words.join(' ').replace(/ ,/g, ',') + end;
  return sentence[0].toUpperCase() + sentence.slice(1);
}

function sentence(random: Random): string {
  const np = (withAdjective: boolean) => (withAdjective ? [pick(random, DETERMINERS), pick(random, ADJECTIVES), pick(random, NOUNS)] : [pick(random, DETERMINERS), pick(random, NOUNS)]);
  switch (Math.floor(random() * 5)) {
    case 0:
      return finishSentence([...np(true), pick(random, VERBS), ...np(false)], '.');
    case 1:
      return finishSentence([...np(false), pick(random, VERBS), ...np(true), pick(random, PREPOSITIONS), ...np(false)], '.');
    case 2:
      return finishSentence([pick(random, OPENERS), ',', ...np(false), pick(random, ADVERBS), pick(random, VERBS), ...np(false)], '.');
    case 3:
      return finishSentence([...np(false), pick(random, PREPOSITIONS), ...np(false), pick(random, VERBS), pick(random, ADVERBS)], '.');
    default:
      return finishSentence([...np(true), pick(random, VERBS), ...np(false), ',', 'and', ...np(false), pick(random, VERBS), ...np(true)], '.');
  }
}

/** A logprob the way bf16 models print them (multiples of 1/256), closer to 0 for greedy decoding. */
function logprob(random: Random, greedy: boolean): number {
  const r = random();
  const value = greedy ? r * r * r * 1.5 : r * r * 3;
  return -Math.round(value * 256) / 256 || 0;
}

/** Yields tokens sentence by sentence, with a paragraph break every few sentences. */
function* pieces(random: Random, opening: string[]): Generator<TokenPiece, never> {
  let first = true;
  let sentencesInParagraph = 0;
  let paragraphLength = 3 + Math.floor(random() * 3);
  const emit = function* (text: string) {
    const separator = first ? '' : sentencesInParagraph >= paragraphLength ? '\n\n' : ' ';
    if (separator === '\n\n') {
      sentencesInParagraph = 0;
      paragraphLength = 3 + Math.floor(random() * 3);
    }
    first = false;
    sentencesInParagraph++;
    yield* tokenizeText(separator + text);
  };
  for (const text of opening) yield* emit(text);
  for (;;) yield* emit(sentence(random));
}

function alternatives(random: Random, chosen: GeneratedToken, count: number): GeneratedToken[] {
  const list = [chosen];
  let floor = chosen.logprob;
  while (list.length < count) {
    floor -= 0.25 + Math.round(random() * 256) / 256;
    const [piece] = tokenizeText(' ' + pick(random, [...NOUNS, ...ADJECTIVES, ...VERBS]));
    list.push({ id: piece.id, text: piece.text, logprob: floor, special: false });
  }
  return list;
}

/** The PRNG of a generation: the same prompt and seed (or greedy) always draw the same numbers. */
export function generationRandom(inputs: string, seed: number | null): Random {
  return mulberry32(hash32(`${inputs}\u0000${seed === null ? 'greedy' : seed}`));
}

/** The grammar's text as tokens, then EOS: a constrained model ends as soon as the grammar is complete. */
function* constrainedPieces(text: string): Generator<TokenPiece | null, never> {
  yield* tokenizeText(text);
  for (;;) yield null;
}

export function generateText(input: GenerationInput, random: Random = generationRandom(input.inputs, input.seed)): Generation {
  const greedy = input.seed === null;
  const limit = input.limit;
  // Without max_new_tokens the "model" stops by itself after 12-63 tokens, at the end of a sentence.
  const naturalLength = input.maxNewTokens === undefined ? 12 + Math.floor(random() * 52) : Infinity;
  if (input.constrained !== undefined) return generateConstrained(input, random, greedy);
  const source = pieces(random, input.opening);
  const tokens: GeneratedToken[] = [];
  const topTokens: GeneratedToken[][] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  const push = (token: GeneratedToken) => {
    tokens.push(token);
    topTokens.push(input.topN > 0 ? alternatives(random, token, input.topN) : []);
  };
  while (tokens.length < limit) {
    if (tokens.length >= naturalLength && text.endsWith('.')) {
      push({ id: EOS.id, text: EOS.text, logprob: logprob(random, true), special: true });
      finishReason = 'eos_token';
      break;
    }
    const piece = source.next().value;
    push({ id: piece.id, text: piece.text, logprob: logprob(random, greedy), special: false });
    text += piece.text;
    if (input.stop.some((stop) => stop.length > 0 && text.endsWith(stop))) {
      finishReason = 'stop_sequence';
      break;
    }
  }
  return { tokens, topTokens, text, finishReason };
}

function generateConstrained(input: GenerationInput, random: Random, greedy: boolean): Generation {
  const tokens: GeneratedToken[] = [];
  const topTokens: GeneratedToken[][] = [];
  let text = '';
  let finishReason: FinishReason = 'length';
  const source = constrainedPieces(input.constrained!);
  while (tokens.length < input.limit) {
    const piece = source.next().value;
    const token = piece ? { id: piece.id, text: piece.text, logprob: logprob(random, greedy), special: false } : { id: EOS.id, text: EOS.text, logprob: logprob(random, true), special: true };
    tokens.push(token);
    topTokens.push(input.topN > 0 ? alternatives(random, token, input.topN) : []);
    if (!piece) {
      finishReason = 'eos_token';
      break;
    }
    text += piece.text;
    if (input.stop.some((stop) => stop.length > 0 && text.endsWith(stop))) {
      finishReason = 'stop_sequence';
      break;
    }
  }
  return { tokens, topTokens, text, finishReason };
}
