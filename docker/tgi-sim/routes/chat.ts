// POST /v1/chat/completions: TGI's Messages API (OpenAI chat completions), streaming and not, with
// response_format and tools (router/src/server.rs chat_completions, lib.rs try_into_generate, chat.rs).
import type { App } from '../app.ts';
import { applyChatTemplate, conversationText } from '../chat-template.ts';
import { TgiError, toolError } from '../errors.ts';
import { sendJson } from '../http-io.ts';
import { readShape } from '../json-shape.ts';
import { readChatRequest, type ChatRequest, type GenerateRequest } from '../requests.ts';
import { SseStream } from '../sse.ts';
import type { GeneratedToken } from '../text-generator.ts';
import { openAiFinishReason } from '../tgi-json.ts';
import { DEFAULT_TOOL_PROMPT, nextToolCallId, parseToolOutput, toolGrammar, ToolStream } from '../tools.ts';
import { jsonBody, type Exchange } from './exchange.ts';
import { generateInternal, streamHeaders, streamInternal, type StreamItem } from './generation.ts';

export interface ChatPlan {
  request: GenerateRequest;
  /** The output is a tool call to parse (the tools grammar is on). */
  usingTools: boolean;
}

/** ChatRequest → GenerateRequest, as TGI's try_into_generate does it. */
export function chatToGenerate(chat: ChatRequest): ChatPlan {
  // temperature 0 means greedy; anything else (or nothing) samples.
  const greedy = chat.temperature === 0;
  if (chat.response_format !== undefined && chat.tools !== undefined) throw toolError('Grammar and tools are mutually exclusive');
  let inputs: string;
  let grammar = chat.response_format;
  let usingTools = false;
  const tools = chat.response_format === undefined && chat.tools !== undefined ? toolGrammar(chat.tools, chat.tool_choice) : undefined;
  if (tools) {
    inputs = applyChatTemplate(chat.messages, { tools: tools.tools, prompt: chat.tool_prompt || DEFAULT_TOOL_PROMPT });
    grammar = tools.grammar;
    usingTools = true;
  } else {
    inputs = applyChatTemplate(chat.messages);
  }
  const request: GenerateRequest = {
    inputs,
    addSpecialTokens: false,
    hint: conversationText(chat.messages),
    parameters: {
      temperature: greedy ? undefined : chat.temperature,
      // presence_penalty (-2..2) is shifted to a repetition_penalty (0..4).
      repetition_penalty: chat.presence_penalty === undefined ? undefined : chat.presence_penalty + 2,
      frequency_penalty: chat.frequency_penalty,
      top_p: chat.top_p,
      do_sample: !greedy,
      max_new_tokens: chat.max_tokens,
      stop: chat.stop ?? [],
      watermark: false,
      details: true,
      decoder_input_details: false,
      seed: chat.seed,
      top_n_tokens: chat.top_logprobs,
      grammar,
      adapter_id: chat.model !== undefined && chat.model !== 'tgi' ? chat.model : undefined,
    },
  };
  return { request, usingTools };
}

/** The same request without tools and response_format: what TGI runs when the model picked `no_tool`. */
function withoutTools(chat: ChatRequest): ChatRequest {
  return { ...chat, tools: undefined, response_format: undefined };
}

function created(): number {
  return Math.floor(Date.now() / 1000);
}

/** The `model` of the answer: the request's, unless it is absent or "tgi". */
function answerModel(app: App, chat: ChatRequest): string {
  return chat.model === undefined || chat.model === 'tgi' ? String(app.info.model_id) : chat.model;
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

export async function chatCompletions(x: Exchange): Promise<void> {
  await chatCompletionsWith(x, readShape(readChatRequest, await jsonBody(x)));
}

/** The route once its body is read (/invocations reads it itself). */
export async function chatCompletionsWith(x: Exchange, chat: ChatRequest): Promise<void> {
  x.app.metrics.requestCount.inc();
  // Errors here (tools, template) are plain 422 answers, streaming or not.
  const plan = chatToGenerate(chat);
  if (chat.stream) await streamChat(x, chat, plan);
  else await answerChat(x, chat, plan);
}

async function answerChat(x: Exchange, chat: ChatRequest, plan: ChatPlan): Promise<void> {
  const first = await generateInternal(x.app, plan.request, x.receivedAt, x.signal);
  if (!first) return;
  let final = first;
  let message: Record<string, unknown> = { role: 'assistant', content: first.body.generated_text };
  if (plan.usingTools) {
    const parsed = parseToolOutput(first.body.generated_text);
    if (parsed.kind === 'tool_calls') {
      message = { role: 'assistant', tool_calls: parsed.toolCalls };
    } else {
      const again = await generateInternal(x.app, chatToGenerate(withoutTools(chat)).request, x.receivedAt, x.signal);
      if (!again) return;
      final = again;
      message = { role: 'assistant', content: again.body.generated_text };
    }
  }
  // As in TGI, finish_reason, completion_tokens and logprobs come from the first generation, the
  // text, the headers and prompt_tokens from the one that answered.
  const { generation } = first.run;
  const details = first.body.details!;
  const promptTokens = final.run.valid.inputLength;
  sendJson(
    x.res,
    200,
    {
      object: 'chat.completion',
      id: '',
      created: created(),
      model: answerModel(x.app, chat),
      system_fingerprint: x.app.systemFingerprint,
      choices: [
        {
          index: 0,
          message,
          logprobs: chat.logprobs ? logprobsOf(generation.tokens, first.run.valid.topN > 0 ? generation.topTokens : []) : null,
          finish_reason: openAiFinishReason(details.finish_reason),
        },
      ],
      usage: { prompt_tokens: promptTokens, completion_tokens: details.generated_tokens, total_tokens: promptTokens + details.generated_tokens },
    },
    final.headers,
  );
}

/** One streamed chat chunk. */
function chunk(app: App, model: string, choices: unknown[], usage: unknown = null): Record<string, unknown> {
  return { object: 'chat.completion.chunk', id: '', created: created(), model, system_fingerprint: app.systemFingerprint, choices, usage };
}

/**
 * Chunks with delta.content (or tool-call deltas), a usage chunk with no choices after the last
 * token when stream_options.include_usage, errors as `{"error":{"message","http_status_code":422}}`,
 * and always `[DONE]` at the end.
 */
async function streamChat(x: Exchange, chat: ChatRequest, plan: ChatPlan): Promise<void> {
  const sse = new SseStream(x.res, streamHeaders(plan.request.inputs), x.app.settings.sim.keepAliveSeconds * 1000);
  const model = answerModel(x.app, chat);
  const toolCallId = nextToolCallId(chat.messages);
  let tools = plan.usingTools ? new ToolStream() : undefined;
  let current = new AbortController();
  let stream = streamInternal(x.app, plan.request, x.receivedAt, AbortSignal.any([sse.signal, current.signal]));
  try {
    for (;;) {
      const next = await stream.next();
      if (next.done) break;
      const item = next.value;
      if (item instanceof TgiError) {
        sse.send(item.openAiEvent());
        continue;
      }
      const { event, run } = item;
      const index = event.index - 1;
      const token = run.generation.tokens[index];
      const logprobs = chat.logprobs ? logprobsOf([token], [run.generation.topTokens[index]]) : null;
      const finishReason = event.details ? openAiFinishReason(event.details.finish_reason) : null;
      if (tools) {
        const step = tools.push(token.text);
        if (step.kind === 'no_tool') {
          // The model answers in prose: this generation is dropped and the request runs again without tools.
          current.abort();
          await stream.return(undefined);
          current = new AbortController();
          tools = undefined;
          stream = streamInternal(x.app, chatToGenerate(withoutTools(chat)).request, x.receivedAt, AbortSignal.any([sse.signal, current.signal]));
          continue;
        }
        if (step.kind === 'delta') {
          const delta = { role: 'assistant', tool_calls: [{ index: 0, id: toolCallId, type: 'function', function: { name: step.name, arguments: step.arguments } }] };
          sse.send(chunk(x.app, model, [{ index: 0, delta, logprobs, finish_reason: finishReason }]));
        }
      } else {
        const delta = { role: 'assistant', content: token.special ? '' : token.text };
        sse.send(chunk(x.app, model, [{ index: 0, delta, logprobs, finish_reason: finishReason }]));
      }
      if (event.details && chat.stream_options.include_usage) sendUsage(x.app, sse, model, item);
    }
    if (!sse.signal.aborted) sse.send('[DONE]');
  } finally {
    current.abort();
    sse.end();
  }
}

function sendUsage(app: App, sse: SseStream, model: string, { event }: StreamItem): void {
  const { generated_tokens, input_length } = event.details!;
  sse.send(chunk(app, model, [], { prompt_tokens: input_length, completion_tokens: generated_tokens, total_tokens: input_length + generated_tokens }));
}
