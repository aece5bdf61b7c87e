// What the vLLM and SGLang cases know about the server under test, found out once: the engine, the
// served model and its context length (from GET /v1/models), and whether /metrics is served
// (SGLang only with --enable-metrics).
import { call, type Target } from '../client.ts';

export type OpenAiEngine = 'vllm' | 'sglang';

export interface EngineContext {
  target: Target;
  engine: OpenAiEngine;
  model: string;
  maxModelLen: number;
  metrics: boolean;
}

export async function probeEngine(target: Target, engine: OpenAiEngine): Promise<EngineContext> {
  const answer = await call(target, '/v1/models');
  if (answer.status !== 200) throw new Error(`GET ${target.url}/v1/models answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  const card = (JSON.parse(answer.text) as { data: Array<{ id: string; max_model_len: number }> }).data[0];
  if (!card || typeof card.max_model_len !== 'number') throw new Error(`GET ${target.url}/v1/models lists no model with max_model_len: ${answer.text.slice(0, 200)}`);
  const metrics = (await call(target, '/metrics')).status === 200;
  return { target, engine, model: card.id, maxModelLen: card.max_model_len, metrics };
}
