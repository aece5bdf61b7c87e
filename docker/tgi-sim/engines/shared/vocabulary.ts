// Token ids of the simulated tokenizer are hashes, so going back from an id to its text needs the
// pieces seen so far: every tokenized or generated piece is remembered for /detokenize.
import { BOS, EOS, tokenizeText } from '../../tokenizer.ts';

const pieces = new Map<number, string>([[BOS.id, BOS.text], [EOS.id, EOS.text]]);

export function remember(id: number, text: string): void {
  pieces.set(id, text);
}

/** Ids of a prompt, with BOS first when the tokenizer adds special tokens. */
export function promptIds(text: string, addSpecialTokens: boolean): number[] {
  const ids: number[] = addSpecialTokens ? [BOS.id] : [];
  for (const piece of tokenizeText(text)) {
    remember(piece.id, piece.text);
    ids.push(piece.id);
  }
  return ids;
}

export function pieceText(id: number): string | undefined {
  return pieces.get(id);
}
