// The simulated model's chat template: ChatML (what Hermes 2 Pro uses), ending with the assistant
// turn opened. Content parts are joined the way TGI flattens them: text as is, images as
// Markdown images, so a vision model sees `![](data:…)` just as on /generate.
import type { ChatMessage } from './requests.ts';

function messageText(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part) => (part.type === 'text' ? part.text : `![](${part.image_url.url})`)).join('');
}

export function applyChatTemplate(messages: ChatMessage[]): string {
  const turns = messages.map((message) => `<|im_start|>${message.role}\n${messageText(message)}<|im_end|>\n`);
  return `${turns.join('')}<|im_start|>assistant\n`;
}
