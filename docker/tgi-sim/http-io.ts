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

/** serde_json's wording for a syntax error, with its line and column. */
function serdeSyntaxMessage(text: string, error: unknown): string {
  const position = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  const at = position ? Number(position[1]) : text.length;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const column = at - (before.lastIndexOf('\n') + 1);
  const what = at >= text.trimEnd().length ? 'EOF while parsing a value' : 'expected value';
  return `${what} at line ${line} column ${column}`;
}
