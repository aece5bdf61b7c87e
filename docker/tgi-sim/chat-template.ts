// The simulated model's chat template: BOS, then ChatML (what Hermes 2 Pro uses), ending with the
// assistant turn opened. Around it, what TGI's ChatTemplate::apply does for every template
// (router/src/infer/chat_template.rs): content parts are flattened (text as is, images as Markdown
// images, so a vision model sees `![](data:…)` just as on /generate), a turn of tool calls becomes
// their JSON, the tools and tool prompt are appended to the last message (this template does not
// use a `tools` variable), and a final assistant turn is continued rather than closed.
import type { ChatMessage, Tool, ToolCallJson } from './requests.ts';
import { BOS } from './tokenizer.ts';

/** FunctionDefinition serialises `arguments` as a string holding its JSON. */
function functionJson(fn: { description?: string; name: string; arguments: unknown }): Record<string, unknown> {
  return { description: fn.description ?? null, name: fn.name, arguments: JSON.stringify(fn.arguments) };
}

export function toolsJson(tools: Tool[]): string {
  return JSON.stringify(tools.map((tool) => ({ type: tool.type, function: functionJson(tool.function) })));
}

function toolCallsJson(calls: ToolCallJson[]): string {
  return JSON.stringify(calls.map((call) => ({ id: call.id, type: call.type, function: functionJson(call.function) })));
}

function messageText(message: ChatMessage): string {
  if (message.tool_calls) return toolCallsJson(message.tool_calls);
  if (typeof message.content === 'string') return message.content;
  return (message.content ?? []).map((part) => (part.type === 'text' ? part.text : `![](${part.image_url.url})`)).join('');
}

export interface ToolsAndPrompt {
  tools: Tool[];
  prompt: string;
}

export function applyChatTemplate(messages: ChatMessage[], tools?: ToolsAndPrompt): string {
  const texts = messages.map(messageText);
  const last = messages.length - 1;
  if (tools && last >= 0 && messages[last].content !== undefined) texts[last] += `\n---\n${toolsJson(tools.tools)}\n${tools.prompt}`;
  const turns = messages.map((message, i) => `<|im_start|>${message.role}\n${texts[i]}<|im_end|>\n`);
  const rendered = `${BOS.text}${turns.join('')}<|im_start|>assistant\n`;
  if (last >= 0 && messages[last].role === 'assistant') {
    const at = rendered.lastIndexOf(texts[last]);
    if (at >= 0) return rendered.slice(0, at + texts[last].length).trimEnd();
  }
  return rendered;
}

/** What the conversation says, without the template and the tool prompt: what the model "reads". */
export function conversationText(messages: ChatMessage[]): string {
  return messages.map(messageText).join('\n');
}
