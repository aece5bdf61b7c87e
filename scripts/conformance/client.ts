// HTTP for the conformance suite: every call keeps status, headers and the raw body, so a case can
// check plain-text rejections and SSE framing byte for byte.

export interface Target {
  /** Base URL of the server (a TGI, or a gateway route in front of one). */
  url: string;
  /** Sent as `Authorization: Bearer <token>` when given. */
  token?: string;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export interface CallOptions {
  method?: string;
  /** A value to send as JSON. */
  json?: unknown;
  /** A body sent as is, with `contentType`. */
  raw?: string;
  contentType?: string;
  timeoutMs?: number;
}

export async function call(target: Target, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (target.token) headers.authorization = `Bearer ${target.token}`;
  let body: string | undefined;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers['content-type'] = 'application/json';
  } else if (options.raw !== undefined) {
    body = options.raw;
    if (options.contentType) headers['content-type'] = options.contentType;
  }
  const res = await fetch(new URL(path.replace(/^\//, ''), target.url.endsWith('/') ? target.url : `${target.url}/`), {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export function post(target: Target, path: string, json: unknown): Promise<Answer> {
  return call(target, path, { json });
}

/** The `data:` payloads of an SSE body, in order; `: ` comments (keep-alives) are left out. */
export function sseData(text: string): string[] {
  return text
    .split('\n\n')
    .filter((block) => block.length > 0 && !block.startsWith(':'))
    .map((block) => {
      if (!block.startsWith('data: ') && !block.startsWith('data:')) throw new Error(`not an SSE data event: ${JSON.stringify(block.slice(0, 80))}`);
      return block.replace(/^data: ?/, '');
    });
}
