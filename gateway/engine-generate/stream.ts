import { Transform, type TransformCallback } from 'node:stream';
import { tgiFinishReason, type GeneratePlan, type TgiFinishReason, type TgiToken } from './plan.ts';
import { engineErrorMessage, fullText, usageOf, type Usage } from './response.ts';
import { choiceText, choiceTokens, markEos, matchedStop } from './tokens.ts';

// A vLLM or SGLang OpenAI event stream (`data: <chunk>` events, a `choices: []` usage chunk, then
// `data: [DONE]`) re-framed as TGI's /generate_stream (docs/tgi-contract.md "Streaming framing"):
// one `{"index", "token", "generated_text": null, "details": null}` event per token, index from 1;
// the last token's event carries `generated_text` and, with `details`, `{finish_reason,
// generated_tokens, seed, input_length}`; no `[DONE]`. Token events go out as soon as their chunk
// arrives; only the last one waits for the usage chunk that follows it. An engine error event becomes
// TGI's `{"error", "error_type": "generation"}`; an engine stream that ends without a finish reason
// gets TGI's `incomplete_generation_stream` error.

const NEWLINE = 0x0a;

interface FinalEvent {
  index: number;
  token: TgiToken;
  finishReason: TgiFinishReason;
  matched: unknown;
}

export class GenerateStreamTranslator extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private index = 0;
  private text = '';
  private final?: FinalEvent;
  private usage?: Usage;
  private done = false;

  constructor(
    private readonly plan: GeneratePlan,
    /** Told of the engine's token counts (its usage chunk). */
    private readonly onUsage: (usage: Usage) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const data = this.pending.length > 0 ? Buffer.concat([this.pending, chunk]) : chunk;
    let from = 0;
    let out = '';
    for (let nl = data.indexOf(NEWLINE, from); nl >= 0; nl = data.indexOf(NEWLINE, from)) {
      out += this.line(data.toString('utf8', from, nl));
      from = nl + 1;
    }
    this.pending = data.subarray(from);
    callback(null, out.length > 0 ? out : undefined);
  }

  override _flush(callback: TransformCallback): void {
    let out = this.pending.length > 0 ? this.line(this.pending.toString('utf8')) : '';
    if (!this.done) out += this.finish();
    callback(null, out.length > 0 ? out : undefined);
  }

  /** What one line of the engine's stream becomes (often nothing). */
  private line(raw: string): string {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (this.done || !line.startsWith('data:')) return '';
    const payload = line.slice(5).trim();
    if (payload === '[DONE]') return this.finish();
    let chunk: Record<string, unknown>;
    try {
      chunk = JSON.parse(payload) as Record<string, unknown>;
    } catch {
      return '';
    }
    if (chunk.error !== undefined || chunk.object === 'error') {
      this.done = true;
      return event({ error: engineErrorMessage(chunk, payload), error_type: 'generation' });
    }
    const usage = usageOf(chunk.usage);
    if (usage) {
      this.usage = usage;
      this.onUsage(usage);
    }
    const choice = Array.isArray(chunk.choices) ? (chunk.choices[0] as Record<string, unknown> | undefined) : undefined;
    if (!choice) return '';
    let { tokens } = choiceTokens(this.plan, choice);
    const delta = choiceText(choice);
    // Without logprobs in a chunk, its text is one token of unknown id.
    if (tokens.length === 0 && delta !== '') tokens = [{ id: -1, text: delta, logprob: 0, special: false }];
    const finished = choice.finish_reason !== null && choice.finish_reason !== undefined && choice.finish_reason !== '';
    let out = '';
    if (!finished) {
      for (const token of tokens) out += this.tokenEvent(token);
      return out;
    }
    const matched = matchedStop(choice);
    const finishReason = tgiFinishReason(choice.finish_reason, matched);
    markEos(tokens, finishReason);
    const last = tokens.pop() ?? { id: -1, text: '', logprob: 0, special: true };
    for (const token of tokens) out += this.tokenEvent(token);
    this.text += last.special ? '' : last.text;
    this.index += 1;
    this.final = { index: this.index, token: last, finishReason, matched };
    return out;
  }

  private tokenEvent(token: TgiToken): string {
    this.index += 1;
    this.text += token.text;
    return event({ index: this.index, token, generated_text: null, details: null });
  }

  /** The last token's event, or TGI's error for a stream that ended without one. */
  private finish(): string {
    this.done = true;
    const final = this.final;
    if (!final) return event({ error: 'Incomplete generation stream', error_type: 'incomplete_generation_stream' });
    const details = this.plan.details
      ? { finish_reason: final.finishReason, generated_tokens: this.usage?.generated ?? final.index, seed: this.plan.seed, input_length: this.usage?.prompt ?? 0 }
      : null;
    return event({ index: final.index, token: final.token, generated_text: fullText(this.plan, this.text, final.matched), details });
  }
}

function event(payload: unknown): string {
  return `data: ${JSON.stringify(payload)}\n\n`;
}
