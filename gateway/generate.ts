import type { JsonBody } from './body.ts';
import { engineGenerateRequest } from './engine-generate/request.ts';
import { translateAnswer } from './engine-generate/response.ts';
import { GenerateStreamTranslator } from './engine-generate/stream.ts';
import { GatewayError } from './errors.ts';
import type { AnswerTranslation } from './proxy.ts';
import type { ServedDeployment } from './types.ts';
import { hasImageTag, translateImages } from './vision.ts';

// The service API's /generate. On TGI: `"stream": true` is answered by TGI's /generate_stream
// (TGI's /generate ignores the field), and <image> tags in `inputs` become Markdown images for vision
// deployments — or a 400 for the others. On vLLM and SGLang, which have no /generate of TGI's kind,
// the request is translated onto their OpenAI routes and the answer back into TGI's shapes
// (engine-generate/).

export const GENERATE_ENDPOINTS: ReadonlySet<string> = new Set(['/generate', '/generate_stream']);

export interface UpstreamCall {
  /** Path and query on the upstream server. */
  path: string;
  body: Buffer;
  /** How the answer is turned into TGI's shapes; absent on TGI, whose answer is relayed as it is. */
  translate?: AnswerTranslation;
}

/** Where a /generate or /generate_stream request goes and with which body. */
export function prepareGenerate(d: ServedDeployment, endpoint: string, query: string, body: JsonBody): UpstreamCall {
  const { json } = body;
  const inputs = json.inputs;
  if (typeof inputs !== 'string') throw new GatewayError(400, 'the body needs `inputs`, a string (the prompt)');
  const stream = endpoint === '/generate_stream' || json.stream === true;
  const engine = d.spec.engine;
  if (engine === 'vllm' || engine === 'sglang') {
    if (inputs === '') throw new GatewayError(400, '`inputs` cannot be empty');
    const call = engineGenerateRequest(d, engine, inputs, json, stream);
    const plan = call.plan;
    return {
      path: call.path,
      body: call.body,
      translate: { json: (status, text) => translateAnswer(plan, status, text), stream: (onUsage) => new GenerateStreamTranslator(plan, onUsage) },
    };
  }
  const path = (stream ? '/generate_stream' : endpoint) + query;
  if (!hasImageTag(inputs)) return { path, body: body.raw };
  if (!d.spec.vision) {
    throw new GatewayError(400, `${d.spec.model} does not accept images: it is not a vision model (vision: true in models.yaml); send text only, or send the image to a vision model`);
  }
  return { path, body: Buffer.from(JSON.stringify({ ...json, inputs: translateImages(inputs) })) };
}
