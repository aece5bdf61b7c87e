// A small deterministic stand-in for a BPE tokenizer. The same function counts tokens for
// /tokenize, validation, usage and details, so every count the simulator reports agrees.
// Pieces follow GPT-2's pre-tokenizer (a word keeps its leading space, digits are one token each,
// punctuation runs stay together); letter runs longer than 8 are cut into chunks of 8, like BPE
// splitting rare words. Ids are a hash of the piece, below the special and image ids.

export interface TokenPiece {
  id: number;
  text: string;
  /** Offsets in characters (code points) of the tokenized string, like TGI's /tokenize. */
  start: number;
  stop: number;
  special: boolean;
}

export const BOS = { id: 1, text: '<s>' } as const;
export const EOS = { id: 2, text: '</s>' } as const;
export const IMAGE_TOKEN = { id: 32000, text: '<image>' } as const;

const SPECIAL_IDS = new Map<string, number>([
  ['<unk>', 0],
  [BOS.text, BOS.id],
  [EOS.text, EOS.id],
  ['<|im_start|>', 32001],
  ['<|im_end|>', 32002],
]);

const PIECES = /<unk>|<\/?s>|<\|im_start\|>|<\|im_end\|>| ?\p{L}+| ?\p{N}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const LONGEST_WORD_PIECE = 8;
const ORDINARY_IDS = 31997;

/** FNV-1a, 32 bits: a stable hash for ids, seeds and pseudo-logprobs. */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function tokenId(piece: string): number {
  return SPECIAL_IDS.get(piece) ?? 3 + (hash32(piece) % ORDINARY_IDS);
}

function splitLongWord(piece: string): string[] {
  const letters = piece.startsWith(' ') ? piece.length - 1 : piece.length;
  if (!/^ ?\p{L}+$/u.test(piece) || letters <= LONGEST_WORD_PIECE) return [piece];
  const chars = Array.from(piece);
  const firstLength = chars[0] === ' ' ? LONGEST_WORD_PIECE + 1 : LONGEST_WORD_PIECE;
  const parts = [chars.slice(0, firstLength).join('')];
  for (let i = firstLength; i < chars.length; i += LONGEST_WORD_PIECE) parts.push(chars.slice(i, i + LONGEST_WORD_PIECE).join(''));
  return parts;
}

/** Tokenizes text (no BOS). `offset` shifts start/stop, for text that is a slice of a larger input. */
export function tokenizeText(text: string, offset = 0): TokenPiece[] {
  const tokens: TokenPiece[] = [];
  // Offsets count code points; only text with surrogate pairs needs the slow path.
  const astral = /[\uD800-\uDFFF]/.test(text);
  let position = offset;
  let consumedUnits = 0;
  for (const match of text.matchAll(PIECES)) {
    if (match.index !== consumedUnits) position += countChars(text.slice(consumedUnits, match.index), astral);
    for (const piece of splitLongWord(match[0])) {
      const length = countChars(piece, astral);
      tokens.push({ id: tokenId(piece), text: piece, start: position, stop: position + length, special: SPECIAL_IDS.has(piece) });
      position += length;
    }
    consumedUnits = match.index + match[0].length;
  }
  return tokens;
}

function countChars(text: string, astral: boolean): number {
  return astral ? Array.from(text).length : text.length;
}

/** Length in characters (code points), the unit of TGI's offsets and x-compute-characters. */
export function charLength(text: string): number {
  return countChars(text, /[\uD800-\uDFFF]/.test(text));
}

export function bosToken(): TokenPiece {
  return { id: BOS.id, text: BOS.text, start: 0, stop: 0, special: true };
}

