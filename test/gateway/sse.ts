// Reading server-sent events the way a client sees them: which network reads carried which events.

export interface StreamRead {
  text: string;
  /** data: payloads completed by this read. */
  events: string[];
}

export interface StreamResult {
  status: number;
  headers: Headers;
  reads: StreamRead[];
  /** Every data: payload, in order. */
  events: string[];
  text: string;
}

/** Splits SSE text into its data: payloads (comments and blank lines dropped). */
export function dataEvents(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(5).trimStart());
}

/** POSTs and reads the whole streamed answer, read by read. */
export async function readStream(url: string, token: string, body: unknown, signal?: AbortSignal): Promise<StreamResult> {
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  const reads: StreamRead[] = [];
  const decoder = new TextDecoder();
  let pending = '';
  let text = '';
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    const part = decoder.decode(chunk, { stream: true });
    text += part;
    pending += part;
    const complete = pending.lastIndexOf('\n\n');
    const events = complete >= 0 ? dataEvents(pending.slice(0, complete)) : [];
    if (complete >= 0) pending = pending.slice(complete + 2);
    reads.push({ text: part, events });
  }
  return { status: res.status, headers: res.headers, reads, events: dataEvents(text), text };
}
