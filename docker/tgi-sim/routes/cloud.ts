// POST /invocations (SageMaker) and POST /vertex (Vertex AI): other shapes over the same routes
// (router/src/sagemaker.rs, router/src/vertex.rs).
import { TgiError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readSagemakerRequest, readVertexRequest, type GenerateRequest, type VertexInstance } from '../requests.ts';
import { chatCompletionsWith, chatToGenerate } from './chat.ts';
import { completionsWith } from './completions.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { compatGenerateWith } from './generate.ts';
import { generateInternal } from './generation.ts';

/**
 * SageMaker sends one of three bodies to one route, tried in this order: a generate request
 * ({inputs}), a chat request ({messages}), a completions request ({prompt}).
 */
export async function invocations(x: Exchange): Promise<void> {
  const body = readShape(readSagemakerRequest, await jsonBody(x));
  if (body.kind === 'generate') await compatGenerateWith(x, body.request);
  else if (body.kind === 'chat') await chatCompletionsWith(x, body.request);
  else await completionsWith(x, body.request);
}

/**
 * Vertex: every instance is generated at once; a generate instance keeps only max_new_tokens and
 * seed of its parameters (and samples); once all are done, any failure answers 500 "Incomplete generation".
 */
export async function vertex(x: Exchange): Promise<void> {
  const request = readShape(readVertexRequest, await jsonBody(x));
  x.app.metrics.requestCount.inc();
  if (request.instances.length === 0) throw new TgiError(422, 'Input validation error', 'Input validation error');
  const requests = request.instances.map(toGenerateRequest);
  const results = await Promise.allSettled(requests.map((generate) => generateInternal(x.app, generate, x.receivedAt, x.signal)));
  if (results.some((result) => result.status === 'rejected')) throw new TgiError(500, 'Incomplete generation', 'Incomplete generation');
  const done = results.map((result) => (result as PromiseFulfilledResult<Awaited<ReturnType<typeof generateInternal>>>).value);
  if (done.some((result) => !result)) return;
  sendJson(x.res, 200, { predictions: done.map((result) => result!.body.generated_text) });
}

function toGenerateRequest(instance: VertexInstance): GenerateRequest {
  if (instance.kind === 'chat') return chatToGenerate(instance.chat).request;
  return {
    inputs: instance.inputs,
    addSpecialTokens: true,
    parameters: {
      do_sample: true,
      max_new_tokens: instance.parameters?.max_new_tokens,
      seed: instance.parameters?.seed,
      stop: [],
      watermark: false,
      details: true,
      decoder_input_details: true,
    },
  };
}
