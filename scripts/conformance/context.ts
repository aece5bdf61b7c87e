// What every case knows about the server under test: where it is, its /info, and what it supports
// (a chat template, grammars), found out once before the cases run.
import { call, post, type Target } from './client.ts';

export interface ServerInfo {
  model_id: string;
  model_pipeline_tag: string | null;
  max_best_of: number;
  max_stop_sequences: number;
  max_input_tokens: number;
  max_total_tokens: number;
  max_client_batch_size: number;
  version: string;
}

export interface Context {
  target: Target;
  info: ServerInfo;
  /** The model has a chat template (chat routes do not answer template_error). */
  chat: boolean;
  /** Grammars are on (no --disable-grammar-support). */
  grammar: boolean;
  /** The --payload-limit the server runs with (TGI's default 2000000). */
  payloadLimit: number;
}

export async function probeServer(target: Target, payloadLimit: number): Promise<Context> {
  const infoAnswer = await call(target, '/info');
  if (infoAnswer.status !== 200) throw new Error(`GET ${target.url}/info answered ${infoAnswer.status}: ${infoAnswer.text.slice(0, 200)}`);
  const info = JSON.parse(infoAnswer.text) as ServerInfo;
  const chatProbe = await post(target, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 1 });
  const chat = !(chatProbe.status === 422 && chatProbe.text.includes('template_error'));
  const grammarProbe = await post(target, '/generate', { inputs: 'Digit:', parameters: { max_new_tokens: 2, grammar: { type: 'regex', value: '[0-9]' } } });
  const grammar = !grammarProbe.text.includes('grammar is not supported');
  return { target, info, chat, grammar, payloadLimit };
}
