// POST /invocations (SageMaker) and POST /vertex (Vertex AI): other shapes over the same routes.
import { TgiError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readVertexRequest } from '../requests.ts';
import { chatCompletions } from './chat.ts';
import { completions } from './completions.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { compatGenerate } from './generate.ts';
import { generateInternal, type GenerateResult } from './generation.ts';

/**
 * SageMaker sends one of three bodies to one route: {inputs} (generate), {messages} (chat) or
 * {prompt} (completions). The body is read once and handed on.
 */
export async function invocations(x: Exchange): Promise<void> {
  const body = await jsonBody(x);
  const fields = typeof body === 'object' && body !== null ? body : {};
  const handler = 'inputs' in fields ? compatGenerate : 'messages' in fields ? chatCompletions : 'prompt' in fields ? completions : undefined;
  if (!handler) {
    sendJson(x.res, 422, { error: 'Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum SagemakerRequest', error_type: 'validation' });
    return;
  }
  await handler({ ...x, body });
}

export async function vertex(x: Exchange): Promise<void> {
  const request = readShape(readVertexRequest, await jsonBody(x));
  if (request.instances.length > x.app.settings.maxClientBatchSize) {
    throw new TgiError(422, 'batch size exceeded', `Number of instances exceeds the maximum allowed batch size of ${x.app.settings.maxClientBatchSize}`);
  }
  const results = await Promise.all(
    request.instances.map((instance) =>
      generateInternal(
        x.app,
        { inputs: instance.inputs, parameters: instance.parameters ?? { do_sample: false, stop: [], watermark: false, details: false, decoder_input_details: false } },
        x.receivedAt,
        x.signal,
      ),
    ),
  );
  if (results.some((result) => !result)) return;
  sendJson(x.res, 200, { predictions: (results as GenerateResult[]).map((result) => result.body.generated_text) });
}
