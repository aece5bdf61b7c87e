// Writing responses the way axum/hyper does: lower-case header names, JSON with
// `content-type: application/json`, plain-text rejections, empty bodies with content-length 0.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpRejection } from './errors.ts';

export type Headers = Record<string, string | number>;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Headers = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Headers = {}): void {
  res.writeHead(status, { 'content-length': 0, ...headers });
  res.end();
}

/** axum's Json extractor accepts application/json and application/*+json. */
function isJsonContentType(value: string | undefined): boolean {
  if (!value) return false;
  const essence = value.split(';')[0].trim().toLowerCase();
  return essence === 'application/json' || (essence.startsWith('application/') && essence.endsWith('+json'));
}

/** Reads the body as JSON, with axum's checks and messages: 415, 413 (payload limit), 400 (syntax). */
export async function readJson(req: IncomingMessage, payloadLimit: number): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    req.resume();
    throw new HttpRejection(415, 'Expected request with `Content-Type: application/json`');
  }
  const text = await readBody(req, payloadLimit);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HttpRejection(400, `Failed to parse the request body as JSON: ${serdeSyntaxMessage(text, error)}`);
  }
}

/**
 * The body as text, or a 413 as soon as it passes the limit. The rest of an oversized body is read
 * and dropped (not left unread), so the 413 reaches the client instead of a connection reset.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const tooLarge = () => new HttpRejection(413, 'Failed to buffer the request body: length limit exceeded');
  if (Number(req.headers['content-length'] ?? 0) > limit) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const collect = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', collect);
      req.resume();
      reject(tooLarge());
    };
    req.on('data', collect);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
}

/** The innermost unclosed bracket of (the start of) a JSON text, strings skipped. */
function openBracket(text: string): '{' | '[' | undefined {
  const stack: string[] = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') stack.push(c);
    else if (c === '}' || c === ']') stack.pop();
  }
  return stack.at(-1) as '{' | '[' | undefined;
}

/** What serde_json says when the text ends too early. */
function eofMessage(text: string): string {
  const last = text.trimEnd().at(-1);
  const bracket = openBracket(text);
  if ((text.match(/"/g)?.length ?? 0) % 2 === 1) return 'EOF while parsing a string';
  if (last === ':' || bracket === undefined) return 'EOF while parsing a value';
  if (bracket === '{') return 'EOF while parsing an object';
  return last === ',' ? 'EOF while parsing a value' : 'EOF while parsing a list';
}

/** serde_json's message for what V8's JSON.parse complains about at a position. */
function unexpectedMessage(v8Message: string): string {
  if (v8Message.includes("Expected property name or '}'")) return 'key must be a string';
  if (v8Message.includes("Expected ':'")) return 'expected `:`';
  if (v8Message.includes("Expected ',' or '}'")) return 'expected `,` or `}`';
  if (v8Message.includes("Expected ',' or ']'")) return 'expected `,` or `]`';
  if (v8Message.includes('non-whitespace character after JSON')) return 'trailing characters';
  return 'expected value';
}

/** serde_json's wording for a syntax error, with its line and (1-based) column. */
export function serdeSyntaxMessage(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : '';
  const eof = message.includes('Unexpected end of JSON input') || message.includes('Unterminated string');
  // V8 names the position of most errors; an unexpected token it does not: take the first one.
  const position = Number(/position (\d+)/.exec(message)?.[1] ?? text.search(/\S/));
  // At the end serde points at the last character read; elsewhere at the offending one.
  const at = eof || position >= text.length ? text.length : position + 1;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1);
  return `${eof || position >= text.length ? eofMessage(text) : unexpectedMessage(message)} at line ${line} column ${column}`;
}
