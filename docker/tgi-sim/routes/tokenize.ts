// POST /tokenize and POST /chat_tokenize: the same tokens validation counts.
import type { App } from '../app.ts';
import { validationError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { ImageError } from '../images.ts';
import { readShape } from '../json-shape.ts';
import { encodePrompt } from '../prompt.ts';
import { readChatRequest, readGenerateRequest } from '../requests.ts';
import { BOS } from '../tokenizer.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { chatToGenerate } from './chat.ts';

interface SimpleToken {
  id: number;
  text: string;
  start: number;
  stop: number;
}

/** TGI takes each token's text from its offsets in the input, so BOS (0..0) has empty text. */
function tokenize(app: App, inputs: string, truncate?: number): SimpleToken[] {
  let tokens;
  try {
    tokens = encodePrompt(inputs, { vision: app.settings.sim.vision, imageTokens: app.settings.sim.imageTokens }).tokens;
  } catch (error) {
    if (error instanceof ImageError) throw validationError(error.message);
    throw error;
  }
  if (truncate !== undefined && tokens.length > truncate) tokens = tokens.slice(-truncate);
  return tokens.map(({ id, text, start, stop }) => ({ id, text: id === BOS.id && start === stop ? '' : text, start, stop }));
}

export async function tokenizeRoute(x: Exchange): Promise<void> {
  const request = readShape(readGenerateRequest, await jsonBody(x));
  sendJson(x.res, 200, tokenize(x.app, request.inputs, request.parameters.truncate));
}

export async function chatTokenize(x: Exchange): Promise<void> {
  const chat = readShape(readChatRequest, await jsonBody(x));
  x.app.metrics.requestCount.inc();
  const { inputs } = chatToGenerate(chat);
  sendJson(x.res, 200, { tokenize_response: tokenize(x.app, inputs), templated_text: inputs });
}
