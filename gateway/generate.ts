import type { JsonBody } from './body.ts';
import { GatewayError } from './errors.ts';
import type { ServedDeployment } from './types.ts';
import { hasImageTag, translateImages } from './vision.ts';

// The service API's /generate on top of TGI: `"stream": true` is answered by TGI's /generate_stream
// (TGI's /generate ignores the field), and <image> tags in `inputs` become Markdown images for vision
// deployments — or a 400 for the others.

export const GENERATE_ENDPOINTS: ReadonlySet<string> = new Set(['/generate', '/generate_stream']);

export interface UpstreamCall {
  /** Path and query on the TGI server. */
  path: string;
  body: Buffer;
}

/** Where a /generate or /generate_stream request goes and with which body. */
export function prepareGenerate(d: ServedDeployment, endpoint: string, query: string, body: JsonBody): UpstreamCall {
  const { json } = body;
  const inputs = json.inputs;
  if (typeof inputs !== 'string') throw new GatewayError(400, 'the body needs `inputs`, a string (the prompt)');
  const path = (endpoint === '/generate' && json.stream === true ? '/generate_stream' : endpoint) + query;
  if (!hasImageTag(inputs)) return { path, body: body.raw };
  if (!d.spec.vision) {
    throw new GatewayError(400, `${d.spec.model} does not accept images: it is not a vision model (vision: true in models.yaml); send text only, or send the image to a vision model`);
  }
  return { path, body: Buffer.from(JSON.stringify({ ...json, inputs: translateImages(inputs) })) };
}
