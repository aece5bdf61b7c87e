// Tool calling as TGI's router does it: the tools become one JSON grammar (router/src/infer/tool_grammar.rs),
// the model writes `{"function": {"_name": "<tool>", <arguments>}}`, and the output is turned into
// `tool_calls` (router/src/chat.rs parse_output; ChatState for streams). `no_tool` — offered with
// tool_choice "auto" — means "answer in plain text": the request is then run again without tools.
import { toolError } from './errors.ts';
import type { GrammarRequest, Tool, ToolChoice } from './requests.ts';

/** lib.rs default_tool_prompt(), used when the request has no (or an empty) tool_prompt. */
export const DEFAULT_TOOL_PROMPT =
  '\nGiven the functions available, please respond with a JSON for a function call with its proper arguments that best answers the given prompt. Respond in the format {name: function name, parameters: dictionary of argument name and its value}.Do not use variables.\n';

const NO_TOOL: Tool = {
  type: 'function',
  function: { name: 'no_tool', description: 'Open ended response with no specific tool selected', arguments: { type: 'object' } },
};

/** The tools the model may call under a tool_choice, and the grammar that forces one of them; undefined: no tools apply. */
export function toolGrammar(tools: Tool[], choice: ToolChoice): { tools: Tool[]; grammar: GrammarRequest } | undefined {
  let chosen: Tool[];
  if (choice.kind === 'function') {
    const tool = tools.find((t) => t.function.name === choice.name);
    if (!tool) throw toolError(`Tool with name ${choice.name} not found`);
    chosen = [tool];
  } else if (choice.kind === 'required') chosen = tools;
  else if (choice.kind === 'auto') chosen = [...tools, NO_TOOL];
  else chosen = [];
  if (chosen.length === 0) return undefined;

  const functions: Record<string, unknown> = {};
  for (const tool of chosen) {
    const args = tool.function.arguments;
    const properties: Record<string, unknown> = { _name: { type: 'string', const: tool.function.name } };
    const required: unknown[] = ['_name'];
    const params: Record<string, unknown> = { description: tool.function.description ?? '' };
    if (typeof args === 'object' && args !== null && !Array.isArray(args)) {
      const a = args as Record<string, unknown>;
      if (typeof a.properties === 'object' && a.properties !== null && !Array.isArray(a.properties)) Object.assign(properties, a.properties);
      if (Array.isArray(a.required)) required.push(...a.required);
      // Only the string "true" turns it on (tool_grammar.rs reads it with as_str()).
      params.additionalProperties = a.additionalProperties === 'true';
    }
    params.properties = properties;
    params.required = required;
    functions[tool.function.name] = params;
  }
  const schema = { $functions: functions, properties: { function: { anyOf: chosen.map((t) => ({ $ref: `#/$functions/${t.function.name}` })) } } };
  return { tools: chosen, grammar: { type: 'json', value: schema } };
}

interface Call {
  name: string;
  arguments: Record<string, unknown>;
}

/** The `{"function": {"_name": …, …}}` shape, or undefined when the text is not (yet) one. */
function readCall(text: string): Call | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const fn = (value as { function?: unknown } | null)?.function;
  if (typeof fn !== 'object' || fn === null || Array.isArray(fn)) return undefined;
  const { _name: name, ...rest } = fn as Record<string, unknown>;
  return typeof name === 'string' ? { name, arguments: rest } : undefined;
}

/** Rust's {:?} of a string, as parse_output prints the generated text. */
function rustDebug(text: string): string {
  return JSON.stringify(text);
}

export type ParsedOutput = { kind: 'no_tool' } | { kind: 'tool_calls'; toolCalls: Array<{ id: string; type: 'function'; function: { description: null; name: string; arguments: string } }> };

/** chat.rs parse_output: the non-streaming answer of a tools request. */
export function parseToolOutput(generatedText: string): ParsedOutput {
  const call = readCall(generatedText);
  if (!call) {
    let reason = 'missing field `function`';
    try {
      JSON.parse(generatedText);
    } catch {
      reason = 'EOF while parsing an object';
    }
    throw toolError(`Failed to parse generated text: ${reason} ${rustDebug(generatedText)}`);
  }
  if (call.name === 'no_tool') return { kind: 'no_tool' };
  return { kind: 'tool_calls', toolCalls: [{ id: '0', type: 'function', function: { description: null, name: call.name, arguments: JSON.stringify(call.arguments) } }] };
}

/** What the stream state machine makes of one token. */
export type ToolStreamStep = { kind: 'nothing' } | { kind: 'no_tool' } | { kind: 'delta'; name: string | null; arguments: string };

/**
 * ChatState for a tools request (chat.rs): buffer tokens until the function name is known, then
 * stream the arguments as tool-call deltas (the first one is "{"), and go back to buffering once the
 * call is complete, which also swallows the final EOS token (and its finish_reason).
 */
export class ToolStream {
  private state: 'buffering' | 'tool' = 'buffering';
  private text = '';

  push(tokenText: string): ToolStreamStep {
    this.text += tokenText;
    if (this.state === 'buffering') {
      const partial = this.text.replace(/[\s,}]+$/u, '');
      const call = readCall(`${partial}}}`);
      if (!call) return { kind: 'nothing' };
      if (call.name === 'no_tool') return { kind: 'no_tool' };
      this.state = 'tool';
      return { kind: 'delta', name: call.name, arguments: '{' };
    }
    if (readCall(this.text)) {
      this.state = 'buffering';
      let last = tokenText.trimEnd();
      if (last.endsWith('}')) last = last.slice(0, -1);
      return { kind: 'delta', name: null, arguments: last };
    }
    return { kind: 'delta', name: null, arguments: tokenText };
  }
}

/**
 * ChatRequest::next_tool_call_id: one more than the largest numeric id of the tool calls in the
 * conversation ("0" without any), or a random UUID when an id is not a number. Streams use it.
 */
export function nextToolCallId(messages: Array<{ tool_calls?: Array<{ id: string }> }>): string {
  let next = 0;
  for (const message of messages) {
    for (const call of message.tool_calls ?? []) {
      if (!/^\d+$/.test(call.id)) return crypto.randomUUID();
      next = Math.max(next, Number(call.id) + 1);
    }
  }
  return String(next);
}
