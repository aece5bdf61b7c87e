// One request through the simulated model, the way the OpenAI-compatible engines see it: wait for a
// batch slot, then tokens paced at SIM_TOKENS_PER_SECOND, ending with "stop" (EOS or a stop string,
// which is left out of the text) or "length". Reuses the TGI simulator's text generator.
import { setTimeout as sleep } from 'node:timers/promises';
import { generateText, type GeneratedToken } from '../../text-generator.ts';
import type { Scheduler } from './scheduler.ts';
import type { EngineStats } from './stats.ts';
import { remember } from './vocabulary.ts';

export interface Job {
  /** The prompt as the model sees it (after the chat template). */
  prompt: string;
  promptTokens: number;
  /** Absent: until the model stops by itself, within the context left. */
  maxTokens?: number;
  /** What the context leaves after the prompt. */
  limit: number;
  /** null: greedy (temperature 0). */
  seed: number | null;
  stop: string[];
  /** Alternatives asked per token (top_logprobs), 0 for none. */
  topLogprobs: number;
  /** What the answer opens with (the simulated vision model's description of each image). */
  opening?: string[];
}

export interface Token {
  id: number;
  /** The text this token adds to the output ('' for EOS and for a stop string's tokens). */
  text: string;
  logprob: number;
  top: GeneratedToken[];
}

export interface Ending {
  finishReason: 'stop' | 'length';
  /** The stop string matched, null otherwise. */
  matchedStop: string | null;
  /** Ended on the EOS token. */
  eos: boolean;
  completionTokens: number;
  text: string;
}

export interface Timing {
  queuedMs: number;
  firstTokenMs?: number;
}

export async function* runJob(job: Job, scheduler: Scheduler, stats: EngineStats, tokensPerSecond: number, signal: AbortSignal): AsyncGenerator<Token, Ending> {
  const arrived = performance.now();
  await scheduler.admit(signal);
  const admitted = performance.now();
  stats.queueTime.observe((admitted - arrived) / 1000);
  stats.promptTokens += job.promptTokens;
  let firstAt: number | undefined;
  let lastAt = admitted;
  try {
    // Unlike TGI's max_new_tokens, max_tokens is only a cap here: the model may reach EOS before it.
    const generation = generateText({ inputs: job.prompt, seed: job.seed, maxNewTokens: undefined, limit: Math.min(job.maxTokens ?? Infinity, job.limit), stop: job.stop, opening: job.opening ?? [], topN: job.topLogprobs });
    const matchedStop = generation.finishReason === 'stop_sequence' ? job.stop.find((stop) => stop.length > 0 && generation.text.endsWith(stop)) ?? null : null;
    const text = matchedStop ? generation.text.slice(0, -matchedStop.length) : generation.text;
    let emitted = 0;
    for (const [i, token] of generation.tokens.entries()) {
      if (tokensPerSecond > 0) await sleep(1000 / tokensPerSecond, undefined, { signal });
      if (signal.aborted) throw signal.reason;
      const now = performance.now();
      if (firstAt === undefined) {
        firstAt = now;
        stats.timeToFirstToken.observe((now - arrived) / 1000);
      } else {
        stats.interTokenLatency.observe((now - lastAt) / 1000);
      }
      lastAt = now;
      stats.generationTokens++;
      remember(token.id, token.text);
      const piece = token.special ? '' : text.slice(emitted, Math.min(text.length, emitted + token.text.length));
      emitted += piece.length;
      yield { id: token.id, text: piece, logprob: token.logprob, top: generation.topTokens[i] ?? [] };
    }
    const finishReason = generation.finishReason === 'length' ? 'length' : 'stop';
    stats.finished(finishReason, (performance.now() - arrived) / 1000);
    return { finishReason, matchedStop, eos: generation.finishReason === 'eos_token', completionTokens: generation.tokens.length, text };
  } finally {
    scheduler.release();
  }
}

/** Runs a job to its end, collecting its tokens. */
export async function runToEnd(job: Job, scheduler: Scheduler, stats: EngineStats, tokensPerSecond: number, signal: AbortSignal): Promise<{ tokens: Token[]; ending: Ending }> {
  const tokens: Token[] = [];
  const run = runJob(job, scheduler, stats, tokensPerSecond, signal);
  for (;;) {
    const next = await run.next();
    if (next.done) return { tokens, ending: next.value };
    tokens.push(next.value);
  }
}
