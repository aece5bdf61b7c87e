// The request bodies TGI 3.x accepts (router/src/lib.rs, vertex.rs, sagemaker.rs), as readers with
// serde's defaults: absent Option fields are undefined, #[serde(default)] fields get their default
// (null there is still a type error), untagged enums try their variants in order.
import {
  array, at, boolean, float, i32, object, oneOf, optional, refined, required, requiredValue, string, tagged, u32, u64, usize, withDefault, type Reader,
} from './json-shape.ts';

/** GrammarType: `{"type": "json" | "json_object" | "regex" | "json_schema", "value": …}`. */
export type GrammarRequest = { type: 'json'; value: unknown } | { type: 'regex'; value: string } | { type: 'json_schema'; value: { name?: string; schema: unknown } };

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
  grammar?: GrammarRequest;
  adapter_id?: string;
}

export interface GenerateRequest {
  inputs: string;
  parameters: GenerateParameters;
  /** Not on the wire: false for chat, whose template already holds the BOS token. */
  addSpecialTokens: boolean;
  /** Not on the wire: the text the simulated model reads when it fills a grammar (chat: the conversation). */
  hint?: string;
}

/** POST / takes a `stream` switch as well. */
export interface CompatGenerateRequest extends GenerateRequest {
  stream: boolean;
}

const jsonSchemaConfig = object<{ name?: string; schema: unknown }>('JsonSchemaConfig', { name: optional(string), schema: requiredValue('schema') });

export const readGrammar: Reader<GrammarRequest> = tagged<GrammarRequest>({
  json: (value) => ({ type: 'json', value }),
  json_object: (value) => ({ type: 'json', value }),
  regex: (value, path) => ({ type: 'regex', value: string(value, path) }),
  json_schema: (value, path) => ({ type: 'json_schema', value: jsonSchemaConfig(value, path) }),
});

const parameters = object<GenerateParameters>('GenerateParameters', {
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
  grammar: optional(readGrammar),
  adapter_id: optional(string),
});

/**
 * TGI's default_parameters(), used when `parameters` is absent altogether: note do_sample is true
 * there, while a `parameters` object without do_sample means greedy.
 */
function defaultParameters(): GenerateParameters {
  return { do_sample: true, stop: [], watermark: false, details: false, decoder_input_details: false };
}

const parametersOrDefault: Reader<GenerateParameters> = (value, path) => (value === undefined ? defaultParameters() : parameters(value, path));

const generateFields = object<Omit<GenerateRequest, 'addSpecialTokens' | 'hint'>>('GenerateRequest', {
  inputs: required(string, 'inputs'),
  parameters: parametersOrDefault,
});

export const readGenerateRequest: Reader<GenerateRequest> = (value, path) => ({ ...generateFields(value, path), addSpecialTokens: true });

const compatFields = object<{ stream: boolean }>('CompatGenerateRequest', { stream: withDefault(boolean, false) });

export const readCompatGenerateRequest: Reader<CompatGenerateRequest> = (value, path) => ({ ...readGenerateRequest(value, path), ...compatFields(value, path) });

export type MessageChunk = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

export interface FunctionDefinition {
  description?: string;
  name: string;
  /** The JSON schema of the parameters (wire name `arguments`, alias `parameters`). */
  arguments: unknown;
}

export interface Tool {
  type: string;
  function: FunctionDefinition;
}

export interface ToolCallJson {
  id: string;
  type: string;
  function: FunctionDefinition;
}

export interface ChatMessage {
  role: string;
  /** MessageBody is either `content` or `tool_calls` (an assistant turn that called tools). */
  content?: string | MessageChunk[];
  tool_calls?: ToolCallJson[];
  name?: string;
}

export type ToolChoice = { kind: 'auto' } | { kind: 'none' } | { kind: 'required' } | { kind: 'function'; name: string };

export interface ChatRequest {
  model?: string;
  messages: ChatMessage[];
  frequency_penalty?: number;
  logit_bias?: number[];
  logprobs?: boolean;
  top_logprobs?: number;
  /** Also read from `max_completion_tokens` (a serde alias). */
  max_tokens?: number;
  n?: number;
  presence_penalty?: number;
  stop?: string[];
  stream: boolean;
  seed?: number;
  temperature?: number;
  top_p?: number;
  tools?: Tool[];
  tool_prompt?: string;
  tool_choice: ToolChoice;
  response_format?: GrammarRequest;
  stream_options: { include_usage: boolean };
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

const functionFields = object<{ description?: string; name: string }>('FunctionDefinition', { description: optional(string), name: required(string, 'name') });

/** `arguments`, or its alias `parameters`; one of them must be there. */
const functionDefinition: Reader<FunctionDefinition> = (value, path) => {
  const fields = functionFields(value, path);
  const source = value as Record<string, unknown>;
  const args = source.arguments !== undefined ? source.arguments : source.parameters;
  if (args === undefined) throw at(path, 'missing field `arguments`');
  return { ...fields, arguments: args };
};

const tool = object<Tool>('Tool', { type: required(string, 'type'), function: required(functionDefinition, 'function') });
const toolCall = object<ToolCallJson>('ToolCall', { id: required(string, 'id'), type: required(string, 'type'), function: required(functionDefinition, 'function') });

const contentBody = object<{ content: string | MessageChunk[] }>('MessageBody', { content: required(oneOf<string | MessageChunk[]>('MessageContent', string, array(messageChunk)), 'content') });
const toolCallsBody = object<{ tool_calls: ToolCallJson[] }>('MessageBody', { tool_calls: required(array(toolCall), 'tool_calls') });
const messageBody = oneOf<{ content?: string | MessageChunk[]; tool_calls?: ToolCallJson[] }>('MessageBody', contentBody, toolCallsBody);
const messageFields = object<{ role: string; name?: string }>('Message', { role: required(string, 'role'), name: optional(string) });

const message: Reader<ChatMessage> = (value, path) => ({ ...messageFields(value, path), ...messageBody(value, path) });

/** ToolChoice from its untagged forms: null, "auto" | "none" | "required" | "<name>", {"type":"function","function":{"name"}}. */
const toolChoice: Reader<ToolChoice> = (value, path) => {
  if (value === undefined || value === null) return { kind: 'auto' };
  if (typeof value === 'string') {
    if (value === 'auto' || value === 'none' || value === 'required') return { kind: value };
    return { kind: 'function', name: value };
  }
  const typed = value as { type?: unknown; function?: { name?: unknown } };
  if (typeof typed === 'object' && !Array.isArray(typed) && typed.type === 'function' && typeof typed.function?.name === 'string') return { kind: 'function', name: typed.function.name };
  throw at(path, 'data did not match any variant of untagged enum ToolTypeDeserializer');
};

const chatFields = object<Omit<ChatRequest, 'max_tokens'>>('ChatRequest', {
  model: optional(string),
  messages: required(array(message), 'messages'),
  frequency_penalty: optional(float),
  logit_bias: optional(array(float)),
  logprobs: optional(boolean),
  top_logprobs: optional(u32),
  n: optional(u32),
  presence_penalty: optional(float),
  stop: optional(array(string)),
  stream: withDefault(boolean, false),
  seed: optional(u64),
  temperature: optional(float),
  top_p: optional(float),
  tools: optional(array(tool)),
  tool_prompt: optional(string),
  tool_choice: toolChoice,
  response_format: optional(readGrammar),
  stream_options: withDefault(object<{ include_usage: boolean }>('StreamOptions', { include_usage: withDefault(boolean, false) }), { include_usage: false }),
});

export const readChatRequest: Reader<ChatRequest> = (value, path) => {
  const fields = chatFields(value, path);
  const source = value as Record<string, unknown>;
  if (source.max_tokens !== undefined && source.max_completion_tokens !== undefined) throw at(path, 'duplicate field `max_tokens`');
  const maxTokens = source.max_tokens !== undefined ? source.max_tokens : source.max_completion_tokens;
  const field = source.max_tokens !== undefined ? 'max_tokens' : 'max_completion_tokens';
  return { ...fields, max_tokens: optional(u32)(maxTokens, path ? `${path}.${field}` : field) };
};

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

const prompt: Reader<string[]> = refined(
  oneOf<string[]>('PromptDeserializer', (value, path) => [string(value, path)], array(string)),
  (prompts) => (prompts.length === 0 ? 'Empty array detected. Do not use an empty array for the prompt.' : undefined),
);

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

export type VertexInstance = { kind: 'generate'; inputs: string; parameters?: GenerateParameters } | { kind: 'chat'; chat: ChatRequest };

const generateInstance = object<{ inputs: string; parameters?: GenerateParameters }>('GenerateVertexInstance', { inputs: required(string, 'inputs'), parameters: optional(parameters) });

const vertexInstance = oneOf<VertexInstance>(
  'VertexInstance',
  (value, path) => ({ kind: 'generate', ...generateInstance(value, path) }),
  (value, path) => ({ kind: 'chat', chat: readChatRequest(value, path) }),
);

export const readVertexRequest = object<{ instances: VertexInstance[] }>('VertexRequest', { instances: required(array(vertexInstance), 'instances') });

export type SagemakerRequest = { kind: 'generate'; request: CompatGenerateRequest } | { kind: 'chat'; request: ChatRequest } | { kind: 'completion'; request: CompletionRequest };

export const readSagemakerRequest = oneOf<SagemakerRequest>(
  'SagemakerRequest',
  (value, path) => ({ kind: 'generate', request: readCompatGenerateRequest(value, path) }),
  (value, path) => ({ kind: 'chat', request: readChatRequest(value, path) }),
  (value, path) => ({ kind: 'completion', request: readCompletionRequest(value, path) }),
);

