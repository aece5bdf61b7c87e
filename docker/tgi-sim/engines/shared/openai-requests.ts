// The OpenAI request bodies as both engines' pydantic models accept them: the fields the simulator
// acts on, checked for type; anything else is accepted and ignored (both models allow extra fields).
// A field of the wrong type or a missing required one is a RequestValidationError, which both engines
// answer with 400.
import { decodeImageUrl, ImageError, type DecodedImage } from '../../images.ts';
import { EngineError, RequestInvalid } from './fastapi-server.ts';

export type ImageSummary = Pick<DecodedImage, 'width' | 'height' | 'format'>;

export interface ChatMessage {
  role: string;
  content: string;
}

export interface SamplingFields {
  model?: string;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
}

export interface ChatBody extends SamplingFields {
  messages: ChatMessage[];
  /** The image_url parts of every message, decoded, in order. */
  images: ImageSummary[];
  logprobs: boolean;
  topLogprobs: number;
}

export interface CompletionBody extends SamplingFields {
  prompt: string;
  /** Completions' logprobs: the number of alternatives, absent for none. */
  logprobs?: number;
}

/** Pydantic's wording for one failed field, the way both engines put it in `message`. */
function invalid(field: string, kind: string, msg: string, input: unknown): RequestInvalid {
  return new RequestInvalid(`[{'type': '${kind}', 'loc': ('body', '${field}'), 'msg': '${msg}', 'input': ${JSON.stringify(input ?? null)}}]`, field);
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RequestInvalid(`[{'type': 'model_attributes_type', 'loc': ('body',), 'msg': 'Input should be a valid dictionary or object to extract fields from', 'input': ${JSON.stringify(body)}}]`);
  return body as Record<string, unknown>;
}

function optionalInt(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(field, 'int_type', 'Input should be a valid integer', value);
  return value;
}

function optionalNumber(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number') throw invalid(field, 'float_type', 'Input should be a valid number', value);
  return value;
}

function optionalBool(body: Record<string, unknown>, field: string): boolean {
  const value = body[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw invalid(field, 'bool_type', 'Input should be a valid boolean', value);
  return value;
}

function stops(body: Record<string, unknown>): string[] {
  const value = body.stop;
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((s) => typeof s === 'string')) return value as string[];
  throw invalid('stop', 'string_type', 'Input should be a valid string', value);
}

function samplingFields(body: Record<string, unknown>): SamplingFields {
  const model = body.model;
  if (model !== undefined && model !== null && typeof model !== 'string') throw invalid('model', 'string_type', 'Input should be a valid string', model);
  const options = body.stream_options;
  const includeUsage = typeof options === 'object' && options !== null && (options as Record<string, unknown>).include_usage === true;
  return {
    model: (model as string | undefined) ?? undefined,
    maxTokens: optionalInt(body, 'max_completion_tokens') ?? optionalInt(body, 'max_tokens'),
    temperature: optionalNumber(body, 'temperature'),
    seed: optionalInt(body, 'seed'),
    stop: stops(body),
    stream: optionalBool(body, 'stream'),
    includeUsage,
  };
}

function messageContent(content: unknown, index: number, images: ImageSummary[]): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  if (!Array.isArray(content)) throw invalid(`messages.${index}.content`, 'string_type', 'Input should be a valid string', content);
  let text = '';
  for (const part of content) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, text: partText, image_url: imageUrl } = part as Record<string, unknown>;
    if (type === 'text') text += String(partText ?? '');
    if (type === 'image_url') images.push(imagePart(imageUrl));
  }
  return text;
}

/**
 * An image_url part (`{"type":"image_url","image_url":{"url":…}}` or the bare string), decoded as the
 * engines' chat parsers take it: vLLM's vllm/entrypoints/chat_utils.py and SGLang's conversation
 * handling fetch or decode the URL and answer 400 for one they cannot use; the simulator takes data
 * URLs only (it has no network).
 */
function imagePart(imageUrl: unknown): ImageSummary {
  const url = typeof imageUrl === 'string' ? imageUrl : typeof imageUrl === 'object' && imageUrl !== null ? (imageUrl as Record<string, unknown>).url : undefined;
  if (typeof url !== 'string') throw new EngineError(400, 'image_url needs a url', 'BadRequestError');
  try {
    return decodeImageUrl(url);
  } catch (error) {
    throw new EngineError(400, error instanceof ImageError ? error.message : String(error), 'BadRequestError');
  }
}

export function readChatBody(raw: unknown): ChatBody {
  const body = object(raw);
  const messages = body.messages;
  if (messages === undefined) throw invalid('messages', 'missing', 'Field required', body);
  if (!Array.isArray(messages)) throw invalid('messages', 'list_type', 'Input should be a valid list', messages);
  const images: ImageSummary[] = [];
  const parsed = messages.map((message: unknown, index) => {
    if (typeof message !== 'object' || message === null || typeof (message as Record<string, unknown>).role !== 'string') throw invalid(`messages.${index}.role`, 'missing', 'Field required', message);
    const { role, content } = message as Record<string, unknown>;
    return { role: role as string, content: messageContent(content, index, images) };
  });
  return { ...samplingFields(body), messages: parsed, images, logprobs: optionalBool(body, 'logprobs'), topLogprobs: optionalInt(body, 'top_logprobs') ?? 0 };
}

export function readCompletionBody(raw: unknown): CompletionBody {
  const body = object(raw);
  const prompt = body.prompt;
  if (prompt === undefined) throw invalid('prompt', 'missing', 'Field required', body);
  // A list with one prompt is accepted as that prompt; batches are beyond the simulator.
  const text = Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string' ? prompt[0] : prompt;
  if (typeof text !== 'string') throw invalid('prompt', 'string_type', 'Input should be a valid string', prompt);
  return { ...samplingFields(body), prompt: text, logprobs: optionalInt(body, 'logprobs') };
}
