// Turning `inputs` into the prompt tokens the simulated model sees: BOS (unless the text brings its
// own, as chat does), the text's tokens, and for
// a vision model a fixed block of image tokens per Markdown image (SIM_IMAGE_TOKENS, default 64).
import { splitImages, type DecodedImage } from './images.ts';
import { bosToken, charLength, IMAGE_TOKEN, tokenizeText, type TokenPiece } from './tokenizer.ts';

export interface EncodedPrompt {
  tokens: TokenPiece[];
  images: DecodedImage[];
}

export interface PromptOptions {
  vision: boolean;
  imageTokens: number;
  /** Put BOS in front (TGI's add_special_tokens: true except for chat, whose template has it). */
  addSpecialTokens?: boolean;
}

/** Throws ImageError when an image cannot be decoded (vision only). */
export function encodePrompt(inputs: string, options: PromptOptions): EncodedPrompt {
  const tokens = options.addSpecialTokens === false ? [] : [bosToken()];
  if (!options.vision) return { tokens: tokens.concat(tokenizeText(inputs)), images: [] };
  const images: DecodedImage[] = [];
  for (const chunk of splitImages(inputs)) {
    const start = charLength(inputs.slice(0, chunk.start));
    if (!chunk.image) {
      tokens.push(...tokenizeText(chunk.text, start));
      continue;
    }
    images.push(chunk.image);
    const stop = start + charLength(chunk.text);
    for (let i = 0; i < options.imageTokens; i++) tokens.push({ id: IMAGE_TOKEN.id, text: IMAGE_TOKEN.text, start, stop, special: true });
  }
  return { tokens, images };
}
