// The request bodies TGI 3.x accepts (router/src/lib.rs), as readers with serde's defaults.
import { anyValue, array, at, boolean, float, i32, object, oneOf, optional, required, string, u32, u64, usize, withDefault, type Reader } from './json-shape.ts';

export interface GenerateParameters {
  best_of?: number;
  temperature?: number;
  repetition_penalty?: number;
  frequency_penalty?: number;
  top_k?: number;
  top_p?: number;
  typical_p?: number;
  do_sample: boolean;
  max_new_tokens?: number;
  return_full_text?: boolean;
  stop: string[];
  truncate?: number;
  watermark: boolean;
  details: boolean;
  decoder_input_details: boolean;
  seed?: number;
  top_n_tokens?: number;
  grammar?: unknown;
  adapter_id?: string;
}

export interface GenerateRequest {
  inputs: string;
  parameters: GenerateParameters;
}

/** POST / takes a `stream` switch as well. */
export interface CompatGenerateRequest extends GenerateRequest {
  stream: boolean;
}

const parametersFields = {
  best_of: optional(usize),
  temperature: optional(float),
  repetition_penalty: optional(float),
  frequency_penalty: optional(float),
  top_k: optional(i32),
  top_p: optional(float),
  typical_p: optional(float),
  do_sample: withDefault(boolean, false),
  max_new_tokens: optional(u32),
  return_full_text: optional(boolean),
  stop: withDefault(array(string), []),
  truncate: optional(usize),
  watermark: withDefault(boolean, false),
  details: withDefault(boolean, false),
  decoder_input_details: withDefault(boolean, false),
  seed: optional(u64),
  top_n_tokens: optional(u32),
  grammar: optional(anyValue),
  adapter_id: optional(string),
};

const parameters = object<GenerateParameters>('GenerateParameters', parametersFields);

/**
 * TGI's default_parameters(), used when `parameters` is absent altogether: note do_sample is true
 * there, while a `parameters` object without do_sample means greedy.
 */
function defaultParameters(): GenerateParameters {
  return { do_sample: true, stop: [], watermark: false, details: false, decoder_input_details: false };
}

const parametersOrDefault: Reader<GenerateParameters> = (value, path) => (value === undefined ? defaultParameters() : parameters(value, path));

export const readGenerateRequest = object<GenerateRequest>('GenerateRequest', {
  inputs: required(string, 'inputs'),
  parameters: parametersOrDefault,
});

export const readCompatGenerateRequest = object<CompatGenerateRequest>('CompatGenerateRequest', {
  inputs: required(string, 'inputs'),
  parameters: parametersOrDefault,
  stream: withDefault(boolean, false),
});

export type MessageChunk = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface ChatMessage {
  role: string;
  content: string | MessageChunk[];
  name?: string;
}

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  frequency_penalty?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  presence_penalty?: number;
  stop?: string[];
  stream: boolean;
  seed?: number;
  temperature?: number;
  top_p?: number;
  stream_options?: { include_usage: boolean };
  tools?: unknown;
  tool_choice?: unknown;
  response_format?: unknown;
}

const textChunkFields = object<{ text: string }>('MessageChunk', { text: required(string, 'text') });
const imageChunkFields = object<{ image_url: { url: string } }>('MessageChunk', {
  image_url: required(object<{ url: string }>('Url', { url: required(string, 'url') }), 'image_url'),
});

/** A chunk is internally tagged by `type` (serde: #[serde(tag = "type")]). */
const messageChunk: Reader<MessageChunk> = (value, path) => {
  const type = (value as { type?: unknown } | null)?.type;
  if (type === 'text') return { type, ...textChunkFields(value, path) };
  if (type === 'image_url') return { type, ...imageChunkFields(value, path) };
  if (type === undefined) throw at(path, 'missing field `type`');
  throw at(path, `unknown variant \`${String(type)}\`, expected \`text\` or \`image_url\``);
};

const message = object<ChatMessage>('Message', {
  role: required(string, 'role'),
  content: withDefault(oneOf<string | MessageChunk[]>('MessageContent', string, array(messageChunk)), ''),
  name: optional(string),
});

export const readChatRequest = object<ChatRequest>('ChatRequest', {
  model: optional(string),
  messages: required(array(message), 'messages'),
  frequency_penalty: optional(float),
  logprobs: optional(boolean),
  top_logprobs: optional(u32),
  max_tokens: optional(u32),
  max_completion_tokens: optional(u32),
  presence_penalty: optional(float),
  stop: optional(array(string)),
  stream: withDefault(boolean, false),
  seed: optional(u64),
  temperature: optional(float),
  top_p: optional(float),
  stream_options: optional(object<{ include_usage: boolean }>('StreamOptions', { include_usage: withDefault(boolean, false) })),
  tools: optional(anyValue),
  tool_choice: optional(anyValue),
  response_format: optional(anyValue),
});

export interface CompletionRequest {
  model?: string;
  prompt: string[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  stream: boolean;
  seed?: number;
  suffix?: string;
  repetition_penalty?: number;
  frequency_penalty?: number;
  stop?: string[];
}

const prompt: Reader<string[]> = oneOf<string[]>('Prompt', (value, path) => [string(value, path)], array(string));

export const readCompletionRequest = object<CompletionRequest>('CompletionRequest', {
  model: optional(string),
  prompt: required(prompt, 'prompt'),
  max_tokens: optional(u32),
  temperature: optional(float),
  top_p: optional(float),
  stream: withDefault(boolean, false),
  seed: optional(u64),
  suffix: optional(string),
  repetition_penalty: optional(float),
  frequency_penalty: optional(float),
  stop: optional(array(string)),
});

export interface VertexRequest {
  instances: Array<{ inputs: string; parameters?: GenerateParameters }>;
}

export const readVertexRequest = object<VertexRequest>('VertexRequest', {
  instances: required(array(object('VertexInstance', { inputs: required(string, 'inputs'), parameters: optional(parameters) })), 'instances'),
});
