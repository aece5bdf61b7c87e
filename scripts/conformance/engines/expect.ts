// The error bodies of the two engines, as their contracts give them.
import type { Answer } from '../client.ts';
import { check, json, same, status } from '../expect.ts';
import type { OpenAiEngine } from './context.ts';

/** vLLM: {"error": {message, type, param, code}}; SGLang (OpenAI routes): {object: "error", message, type, param, code}. */
export function engineError(engine: OpenAiEngine, answer: Answer, code: number, message?: RegExp): { message: string; type: string } {
  status(answer, code);
  check((answer.headers.get('content-type') ?? '').startsWith('application/json'), `content-type ${answer.headers.get('content-type')}, expected application/json`);
  const body = json(answer);
  const error = engine === 'vllm' ? body.error : body;
  if (engine === 'vllm') {
    same(Object.keys(body), ['error'], 'error body keys');
  } else {
    same(body.object, 'error', 'object');
  }
  for (const key of ['message', 'type', 'param', 'code']) check(key in error, `error has no ${key}: ${answer.text.slice(0, 200)}`);
  same(error.code, code, 'error code');
  if (message) check(message.test(error.message), `message ${JSON.stringify(error.message)} does not match ${message}`);
  return error;
}

export function fastApiDetail(answer: Answer, code: number, detail: string): void {
  status(answer, code);
  same(json(answer), { detail }, 'body');
}
