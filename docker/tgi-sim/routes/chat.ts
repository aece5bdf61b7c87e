// POST /v1/chat/completions: TGI's Messages API (OpenAI chat completions), streaming and not.
import type { App } from '../app.ts';
import { applyChatTemplate } from '../chat-template.ts';
import { TgiError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readChatRequest, type ChatRequest, type GenerateRequest } from '../requests.ts';
import { SseStream } from '../sse.ts';
import type { GeneratedToken } from '../text-generator.ts';
import { openAiFinishReason } from '../tgi-json.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { generateInternal, streamHeaders, streamInternal } from './generation.ts';

/** ChatRequest → GenerateRequest, as TGI's try_into_generate does it. */
export function chatToGenerate(chat: ChatRequest): GenerateRequest {
  // temperature 0 means greedy; anything else samples.
  const greedy = chat.temperature === 0;
  return {
    inputs: applyChatTemplate(chat.messages),
    parameters: {
      temperature: greedy ? undefined : chat.temperature,
      // presence_penalty (-2..2) is rescaled to a repetition_penalty (0..4).
      repetition_penalty: chat.presence_penalty === undefined ? undefined : chat.presence_penalty + 2,
      frequency_penalty: chat.frequency_penalty,
      top_p: chat.top_p,
      do_sample: !greedy,
      max_new_tokens: chat.max_completion_tokens ?? chat.max_tokens,
      stop: chat.stop ?? [],
      watermark: false,
      details: true,
      decoder_input_details: !chat.stream,
      seed: chat.seed,
      top_n_tokens: chat.top_logprobs,
    },
  };
}

function created(): number {
  return Math.floor(Date.now() / 1000);
}

function logprobsOf(tokens: GeneratedToken[], topTokens: GeneratedToken[][]): { content: unknown[] } {
  return {
    content: tokens.map((token, i) => ({
      token: token.text,
      logprob: token.logprob,
      top_logprobs: (topTokens[i] ?? []).map((top) => ({ token: top.text, logprob: top.logprob })),
    })),
  };
}

function chunk(app: App, choices: unknown[], usage: unknown = null): Record<string, unknown> {
  return { object: 'chat.completion.chunk', id: '', created: created(), model: app.info.model_id, system_fingerprint: app.systemFingerprint, choices, usage };
}

export async function chatCompletions(x: Exchange): Promise<void> {
  const chat = readShape(readChatRequest, await jsonBody(x));
  x.app.metrics.requestCount.inc();
  const request = chatToGenerate(chat);
  if (chat.stream) await streamChat(x, chat, request);
  else await answerChat(x, chat, request);
}

async function answerChat(x: Exchange, chat: ChatRequest, request: GenerateRequest): Promise<void> {
  const result = await generateInternal(x.app, request, x.receivedAt, x.signal);
  if (!result) return;
  const { generation } = result.run;
  const details = result.body.details!;
  sendJson(
    x.res,
    200,
    {
      object: 'chat.completion',
      id: '',
      created: created(),
      model: x.app.info.model_id,
      system_fingerprint: x.app.systemFingerprint,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: generation.text },
          logprobs: chat.logprobs ? logprobsOf(generation.tokens, generation.topTokens) : null,
          finish_reason: openAiFinishReason(generation.finishReason),
        },
      ],
      usage: { prompt_tokens: details.prefill.length, completion_tokens: details.generated_tokens, total_tokens: details.prefill.length + details.generated_tokens },
    },
    result.headers,
  );
}

/** Chunks with delta.content; errors as `{"error":{"message","http_status_code":422}}`; always ends with [DONE]. */
async function streamChat(x: Exchange, chat: ChatRequest, request: GenerateRequest): Promise<void> {
  const sse = new SseStream(x.res, streamHeaders(request.inputs), x.app.settings.sim.keepAliveSeconds * 1000);
  try {
    for await (const item of streamInternal(x.app, request, x.receivedAt, sse.signal)) {
      if (item instanceof TgiError) {
        sse.send({ error: { message: item.message, http_status_code: 422 } });
        continue;
      }
      const { event, run } = item;
      const token = run.generation.tokens[event.index - 1];
      const topTokens = run.generation.topTokens[event.index - 1];
      sse.send(
        chunk(x.app, [
          {
            index: 0,
            delta: { role: 'assistant', content: token.special ? '' : token.text },
            logprobs: chat.logprobs ? logprobsOf([token], [topTokens]) : null,
            finish_reason: event.details ? openAiFinishReason(event.details.finish_reason) : null,
          },
        ]),
      );
      if (event.details && chat.stream_options?.include_usage) {
        const { generated_tokens, input_length } = event.details;
        sse.send(chunk(x.app, [], { prompt_tokens: input_length, completion_tokens: generated_tokens, total_tokens: input_length + generated_tokens }));
      }
    }
    if (!sse.signal.aborted) sse.send('[DONE]');
  } finally {
    sse.end();
  }
}
