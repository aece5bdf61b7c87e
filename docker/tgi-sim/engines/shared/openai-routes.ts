// POST /v1/chat/completions and /v1/completions as vLLM and SGLang serve them: the same OpenAI
// shapes, with what differs between the two (ids, the model check, the context-length error, the
// extra fields of a finished choice) supplied by the engine's profile.
import { randomInt } from 'node:crypto';
import { applyChatTemplate } from '../../chat-template.ts';
import { describeImage } from '../../images.ts';
import { sendJson } from '../../http-io.ts';
import { EventStream, type EngineError, type Request } from './fastapi-server.ts';
import { runJob, runToEnd, type Ending, type Job, type Token } from './generation.ts';
import { readChatBody, readCompletionBody, type SamplingFields } from './openai-requests.ts';
import type { Scheduler } from './scheduler.ts';
import type { EngineStats } from './stats.ts';
import { promptIds } from './vocabulary.ts';

export interface OpenAiProfile {
  servedModelName: string;
  maxModelLen: number;
  tokensPerSecond: number;
  scheduler: Scheduler;
  stats: EngineStats;
  /** Throws the engine's error when the request names a model it does not serve. */
  checkModel(model: string | undefined): void;
  /** The engine's error when prompt + max_tokens does not fit the context. */
  contextError(promptTokens: number, maxTokens: number | undefined): EngineError | undefined;
  /** Fields of a finished choice besides finish_reason (vLLM stop_reason, SGLang matched_stop). */
  finishFields(ending: Ending | undefined): Record<string, unknown>;
  newId(kind: 'chat' | 'completion'): string;
}

function created(): number {
  return Math.floor(Date.now() / 1000);
}

function bytes(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

function chatLogprobs(tokens: Token[]): { content: unknown[] } {
  const entry = (text: string, logprob: number) => ({ token: text, logprob, bytes: bytes(text) });
  return { content: tokens.map((t) => ({ ...entry(t.text, t.logprob), top_logprobs: t.top.map((top) => entry(top.text, top.logprob)) })) };
}

function completionLogprobs(tokens: Token[], offset: number): Record<string, unknown> {
  const offsets: number[] = [];
  let at = offset;
  for (const t of tokens) {
    offsets.push(at);
    at += t.text.length;
  }
  return {
    text_offset: offsets,
    token_logprobs: tokens.map((t) => t.logprob),
    tokens: tokens.map((t) => t.text),
    top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((top) => [top.text, top.logprob]))),
  };
}

function usage(promptTokens: number, completionTokens: number): Record<string, unknown> {
  return { prompt_tokens: promptTokens, total_tokens: promptTokens + completionTokens, completion_tokens: completionTokens, prompt_tokens_details: null };
}

function makeJob(profile: OpenAiProfile, fields: SamplingFields, prompt: string, promptTokens: number, topLogprobs: number): Job {
  profile.checkModel(fields.model);
  const error = profile.contextError(promptTokens, fields.maxTokens);
  if (error) throw error;
  const greedy = fields.temperature === 0;
  return { prompt, promptTokens, maxTokens: fields.maxTokens, limit: profile.maxModelLen - promptTokens, seed: greedy ? null : fields.seed ?? randomInt(2 ** 31), stop: fields.stop, topLogprobs };
}

export async function chatCompletions(profile: OpenAiProfile, x: Request): Promise<void> {
  const chat = readChatBody(await x.body());
  const prompt = applyChatTemplate(chat.messages);
  const job = { ...makeJob(profile, chat, prompt, promptIds(prompt, false).length, chat.logprobs ? chat.topLogprobs : 0), opening: chat.images.map(describeImage) };
  const id = profile.newId('chat');
  const model = profile.servedModelName;
  if (!chat.stream) {
    const { tokens, ending } = await runToEnd(job, profile.scheduler, profile.stats, profile.tokensPerSecond, x.signal);
    const choice = { index: 0, message: { role: 'assistant', content: ending.text, tool_calls: [] }, logprobs: chat.logprobs ? chatLogprobs(tokens) : null, finish_reason: ending.finishReason, ...profile.finishFields(ending) };
    return sendJson(x.res, 200, { id, object: 'chat.completion', created: created(), model, choices: [choice], usage: usage(job.promptTokens, ending.completionTokens) });
  }
  const stream = new EventStream(x.res);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id, object: 'chat.completion.chunk', created: created(), model, choices, ...extra });
  try {
    stream.send(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    const run = runJob(job, profile.scheduler, profile.stats, profile.tokensPerSecond, x.signal);
    let previous: Token | undefined;
    let ending: Ending | undefined;
    // Each token goes out once the next is known, so the last one carries finish_reason.
    for (;;) {
      const next = await run.next();
      if (next.done) ending = next.value;
      if (previous) {
        const finished = next.done ? { finish_reason: ending!.finishReason, ...profile.finishFields(ending) } : { finish_reason: null };
        stream.send(chunk([{ index: 0, delta: { content: previous.text }, logprobs: chat.logprobs ? chatLogprobs([previous]) : null, ...finished }]));
      } else if (next.done) {
        stream.send(chunk([{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: ending!.finishReason, ...profile.finishFields(ending) }]));
      }
      if (next.done) break;
      previous = next.value;
    }
    if (chat.includeUsage) stream.send(chunk([], { usage: usage(job.promptTokens, ending!.completionTokens) }));
    stream.send('[DONE]');
  } finally {
    stream.end();
  }
}

export async function completions(profile: OpenAiProfile, x: Request): Promise<void> {
  const completion = readCompletionBody(await x.body());
  const job = makeJob(profile, completion, completion.prompt, promptIds(completion.prompt, true).length, completion.logprobs ?? 0);
  const id = profile.newId('completion');
  const model = profile.servedModelName;
  const wantLogprobs = completion.logprobs !== undefined;
  if (!completion.stream) {
    const { tokens, ending } = await runToEnd(job, profile.scheduler, profile.stats, profile.tokensPerSecond, x.signal);
    const choice = { index: 0, text: ending.text, logprobs: wantLogprobs ? completionLogprobs(tokens, 0) : null, finish_reason: ending.finishReason, ...profile.finishFields(ending) };
    return sendJson(x.res, 200, { id, object: 'text_completion', created: created(), model, choices: [choice], usage: usage(job.promptTokens, ending.completionTokens) });
  }
  const stream = new EventStream(x.res);
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id, object: 'text_completion', created: created(), model, choices, ...extra });
  try {
    const run = runJob(job, profile.scheduler, profile.stats, profile.tokensPerSecond, x.signal);
    let previous: Token | undefined;
    let ending: Ending | undefined;
    let offset = 0;
    for (;;) {
      const next = await run.next();
      if (next.done) ending = next.value;
      if (previous || next.done) {
        const text = previous?.text ?? '';
        const finished = next.done ? { finish_reason: ending!.finishReason, ...profile.finishFields(ending) } : { finish_reason: null };
        stream.send(chunk([{ index: 0, text, logprobs: wantLogprobs && previous ? completionLogprobs([previous], offset) : null, ...finished }]));
        offset += text.length;
      }
      if (next.done) break;
      previous = next.value;
    }
    if (completion.includeUsage) stream.send(chunk([], { usage: usage(job.promptTokens, ending!.completionTokens) }));
    stream.send('[DONE]');
  } finally {
    stream.end();
  }
}
