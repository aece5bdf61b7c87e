import type { JsonBody } from './body.ts';
import type { ServedDeployment } from './types.ts';

// vLLM and SGLang answer 404 (or an error) for a `model` other than their --served-model-name
// (docs/vllm-contract.md "OpenAI routes"), which the orchestrator sets to the models.yaml `name`
// (orchestrator/runtime/launcher-args.ts), while clients of TGI send anything ("tgi", the model id, a
// replica's "<model>/gpuN" at the root). On those engines the gateway sets the body's `model` to that
// name; TGI accepts any `model`, and its bodies are relayed untouched.

const OPENAI_BODY_ENDPOINTS: ReadonlySet<string> = new Set(['/v1/chat/completions', '/v1/completions']);

/** Whether a request to this endpoint of `d` needs its `model` set to the served name. */
export function needsServedModel(d: ServedDeployment, endpoint: string): boolean {
  const engine = d.spec.engine;
  return (engine === 'vllm' || engine === 'sglang') && OPENAI_BODY_ENDPOINTS.has(endpoint);
}

/** The body with `model` set to the name the engine serves the model as. */
export function withServedModel(d: ServedDeployment, body: JsonBody): Buffer {
  if (body.json.model === d.spec.model) return body.raw;
  return Buffer.from(JSON.stringify({ ...body.json, model: d.spec.model }));
}
