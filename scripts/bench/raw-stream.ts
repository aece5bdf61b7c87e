import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Upstream } from '../../gateway/types.ts';

// An SSE client on a bare TCP socket. It timestamps every socket read (performance.now(), sub-ms)
// and counts the `data:` events in it, below any HTTP parsing, so two events that reached the
// client in one read — coalesced somewhere on the way — are seen as such.

export interface SocketRead {
  /** ms since the request was written */
  at: number;
  events: number;
}

export interface StreamTrace {
  status?: number;
  reads: SocketRead[];
  /** ms since the request was written, one entry per `data:` event */
  eventTimes: number[];
  /** Events that carried {"error": …}. */
  errorEvents: number;
  /** The connection has closed (the stream ended, failed, or was closed by us). */
  closed: boolean;
  /** Resolves at the first event; rejects if the stream ends or fails before one arrives. */
  firstEvent: Promise<number>;
  /** Resolves when the server closes the connection. */
  ended: Promise<void>;
  close(): void;
}

// An event starts a line: "data: {" (the socket bytes also hold chunked-encoding size lines).
const EVENT_START = /(?:^|\n)data: ?\{/g;
const ERROR_EVENT = /(?:^|\n)data: ?\{"error"/g;

export function openStream(target: Upstream, path: string, body: string, headers: Record<string, string> = {}): StreamTrace {
  const socket = connect(target.port, target.host);
  socket.setNoDelay(true);
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${target.host}:${target.port}`,
    'Content-Type: application/json',
    'Accept: text/event-stream',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');

  let startedAt = 0;
  let carry = ''; // the end of the previous read, so an event split over two reads is counted once
  let gotFirst!: (at: number) => void;
  let noFirst!: (error: Error) => void;
  const firstEvent = new Promise<number>((resolve, reject) => ((gotFirst = resolve), (noFirst = reject)));
  firstEvent.catch(() => {}); // callers that only wait for `ended` must not see an unhandled rejection
  const ended = new Promise<void>((resolve, reject) => {
    socket.on('error', (error) => {
      noFirst(error);
      reject(new Error(`stream ${target.url}${path}: ${error.message}`));
    });
    socket.on('close', () => {
      trace.closed = true;
      noFirst(new Error(`stream ${target.url}${path} ended before its first event (HTTP ${trace.status ?? 'no response'})`));
      resolve();
    });
  });
  ended.catch(() => {}); // likewise for callers that hold streams open and then close them
  const trace: StreamTrace = { reads: [], eventTimes: [], errorEvents: 0, closed: false, firstEvent, ended, close: () => socket.destroy() };

  socket.on('connect', () => {
    startedAt = performance.now();
    socket.write(`${head}\r\n\r\n${body}`);
  });
  socket.on('data', (chunk: Buffer) => {
    const at = performance.now() - startedAt;
    const text = chunk.toString('latin1');
    if (trace.status === undefined) trace.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
    const window = carry + text;
    const events = countFrom(EVENT_START, window, carry.length);
    trace.errorEvents += countFrom(ERROR_EVENT, window, carry.length);
    carry = text.slice(-16);
    trace.reads.push({ at, events });
    for (let i = 0; i < events; i++) trace.eventTimes.push(at);
    if (events > 0 && trace.eventTimes.length === events) gotFirst(at);
  });
  return trace;
}

/** Matches of the pattern in text that end after `from` (i.e. not already counted in the previous read). */
function countFrom(pattern: RegExp, text: string, from: number): number {
  let count = 0;
  for (const match of text.matchAll(pattern)) if (match.index + match[0].length > from) count++;
  return count;
}
