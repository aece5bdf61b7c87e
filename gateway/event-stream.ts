// What the gateway needs to know about the server-sent events it relays (it re-frames none, except
// vLLM's and SGLang's answers to a translated /generate, which engine-generate/stream.ts turns into
// TGI's events before they are counted here): how many token events a chunk carries, and how to end a
// stream with an error in TGI's own format.

/** Which error framing a stream uses: /generate_stream (TGI's) or the OpenAI routes. */
export type StreamDialect = 'generate' | 'openai';

const DATA = Buffer.from('data:');
const NEWLINE = 0x0a;
const SPACE = 0x20;
const OPEN_BRACKET = 0x5b; // '[' of [DONE]
const ERROR = Buffer.from('{"error"');

/**
 * Counts `data:` events that carry a token: every data line at the start of a line, except
 * `data: [DONE]` and error events. Keeps whether the previous chunk ended a line, so an event at the
 * start of a chunk is counted; an event whose `data:` itself is split between two chunks is missed
 * (TGI writes each event in one piece).
 */
export class TokenEventCounter {
  private atLineStart = true;

  count(chunk: Buffer): number {
    let events = 0;
    let from = 0;
    for (;;) {
      const at = chunk.indexOf(DATA, from);
      if (at < 0) break;
      const lineStart = at === 0 ? this.atLineStart : chunk[at - 1] === NEWLINE;
      if (lineStart && carriesToken(chunk, at + DATA.length)) events += 1;
      from = at + DATA.length;
    }
    if (chunk.length > 0) this.atLineStart = chunk[chunk.length - 1] === NEWLINE;
    return events;
  }
}

function carriesToken(chunk: Buffer, valueAt: number): boolean {
  const at = chunk[valueAt] === SPACE ? valueAt + 1 : valueAt;
  if (chunk[at] === OPEN_BRACKET) return false;
  return at + ERROR.length > chunk.length || ERROR.compare(chunk, at, at + ERROR.length) !== 0;
}

const USAGE_HINT = Buffer.from('_tokens"');
const PROMPT_TOKENS = /"(?:input_length|prompt_tokens)"\s*:\s*(\d+)/;
const GENERATED_TOKENS = /"(?:generated_tokens|completion_tokens)"\s*:\s*(\d+)/;

/**
 * The token counts a stream's final event reports (TGI's `details`, the OpenAI routes' `usage`), if
 * this chunk carries them. Only chunks with a `…_tokens"` field are decoded, so token events cost an
 * indexOf.
 */
export function reportedUsage(chunk: Buffer): { prompt?: number; generated?: number } | undefined {
  if (chunk.indexOf(USAGE_HINT) < 0) return undefined;
  const text = chunk.toString('utf8');
  const prompt = PROMPT_TOKENS.exec(text);
  const generated = GENERATED_TOKENS.exec(text);
  if (!prompt && !generated) return undefined;
  return { prompt: prompt ? Number(prompt[1]) : undefined, generated: generated ? Number(generated[1]) : undefined };
}

/** The event(s) that end a stream which failed mid-way, as TGI itself would send them. */
export function streamErrorEvents(dialect: StreamDialect, message: string, status: number): string {
  if (dialect === 'generate') return `data: ${JSON.stringify({ error: message, error_type: 'incomplete_generation' })}\n\n`;
  return `data: ${JSON.stringify({ error: { message, http_status_code: status } })}\n\ndata: [DONE]\n\n`;
}

/** The dialect of the stream an upstream endpoint answers with. */
export function dialectOf(endpoint: string): StreamDialect {
  return endpoint === '/generate' || endpoint === '/generate_stream' ? 'generate' : 'openai';
}
