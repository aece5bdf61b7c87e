// POST /tokenize and POST /chat_tokenize: the same tokens validation counts. As in TGI, offsets are
// byte offsets into the input and each token's text is those bytes; `truncate` is not applied here.
import type { App } from '../app.ts';
import { validationError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { ImageError } from '../images.ts';
import { readShape } from '../json-shape.ts';
import { encodePrompt } from '../prompt.ts';
import { readChatRequest, readGenerateRequest, type GenerateRequest } from '../requests.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { chatToGenerate } from './chat.ts';

interface SimpleToken {
  id: number;
  text: string;
  start: number;
  stop: number;
}

/** Byte offset of each code point offset in text (one more entry for the end). */
function byteOffsets(text: string): number[] {
  const offsets = [0];
  for (const char of text) offsets.push(offsets[offsets.length - 1] + Buffer.byteLength(char));
  return offsets;
}

function tokenize(app: App, request: GenerateRequest): SimpleToken[] {
  let tokens;
  try {
    tokens = encodePrompt(request.inputs, { vision: app.settings.sim.vision, imageTokens: app.settings.sim.imageTokens, addSpecialTokens: request.addSpecialTokens }).tokens;
  } catch (error) {
    if (error instanceof ImageError) throw validationError(error.message);
    throw error;
  }
  const bytes = Buffer.from(request.inputs);
  const at = byteOffsets(request.inputs);
  return tokens.map(({ id, start, stop }) => ({ id, text: bytes.subarray(at[start], at[stop]).toString('utf8'), start: at[start], stop: at[stop] }));
}

export async function tokenizeRoute(x: Exchange): Promise<void> {
  const request = readShape(readGenerateRequest, await jsonBody(x));
  sendJson(x.res, 200, tokenize(x.app, request));
}

export async function chatTokenize(x: Exchange): Promise<void> {
  const chat = readShape(readChatRequest, await jsonBody(x));
  x.app.metrics.requestCount.inc();
  const { request } = chatToGenerate(chat);
  sendJson(x.res, 200, { tokenize_response: tokenize(x.app, request), templated_text: request.inputs });
}
