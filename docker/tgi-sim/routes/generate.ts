// POST /generate, POST /generate_stream and the compat POST /.
import { TgiError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readCompatGenerateRequest, readGenerateRequest, type CompatGenerateRequest, type GenerateRequest } from '../requests.ts';
import { SseStream } from '../sse.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { generateInternal, streamHeaders, streamInternal } from './generation.ts';

/** A `"stream": true` in the body is ignored here, exactly like TGI: the answer is plain JSON. */
export async function generate(x: Exchange): Promise<void> {
  const request = readShape(readGenerateRequest, await jsonBody(x));
  await answerGenerate(x, request, (body) => body);
}

export async function generateStream(x: Exchange): Promise<void> {
  const request = readShape(readGenerateRequest, await jsonBody(x));
  await answerStream(x, request);
}

/** api-inference compatibility: SSE when stream is true, otherwise the response wrapped in an array. */
export async function compatGenerate(x: Exchange): Promise<void> {
  await compatGenerateWith(x, readShape(readCompatGenerateRequest, await jsonBody(x)));
}

/** The route once its body is read (/invocations reads it itself). */
export async function compatGenerateWith(x: Exchange, { stream, ...request }: CompatGenerateRequest): Promise<void> {
  // TGI defaults return_full_text from the pipeline tag on this route only.
  request.parameters.return_full_text ??= x.app.pipelineTag === 'text-generation';
  if (stream) await answerStream(x, request);
  else await answerGenerate(x, request, (body) => [body]);
}

async function answerGenerate(x: Exchange, request: GenerateRequest, shape: (body: unknown) => unknown): Promise<void> {
  const result = await generateInternal(x.app, request, x.receivedAt, x.signal);
  if (result) sendJson(x.res, 200, shape(result.body), result.headers);
}

/** Every outcome, errors included, goes inside one 200 event stream that then ends (no [DONE]). */
async function answerStream(x: Exchange, request: GenerateRequest): Promise<void> {
  const sse = new SseStream(x.res, streamHeaders(request.inputs), x.app.settings.sim.keepAliveSeconds * 1000);
  try {
    for await (const item of streamInternal(x.app, request, x.receivedAt, sse.signal)) {
      sse.send(item instanceof TgiError ? item.body() : item.event);
    }
  } finally {
    sse.end();
  }
}
