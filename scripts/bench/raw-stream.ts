import { connect, type Socket } from 'node:net';
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
  /** The answer is over: its connection closed (it ended, failed, or was closed by us), or on a kept-alive connection its last chunk came. */
  closed: boolean;
  /** Resolves at the first event; rejects if the stream ends or fails before one arrives. */
  firstEvent: Promise<number>;
  /** Resolves when the server closes the connection (kept-alive: at the answer's last chunk). */
  ended: Promise<void>;
  close(): void;
}

// An event starts a line: "data: {" (the socket bytes also hold chunked-encoding size lines).
const EVENT_START = /(?:^|\n)data: ?\{/g;
const ERROR_EVENT = /(?:^|\n)data: ?\{"error"/g;

export function openStream(target: Upstream, path: string, body: string, headers: Record<string, string> = {}): StreamTrace {
  const socket = connect(target.port, target.host);
  socket.setNoDelay(true);
  const request = requestText(target, path, body, { ...headers, Connection: 'close' });
  const recorder = new TraceRecorder(() => socket.destroy());
  const { trace } = recorder;
  socket.on('error', (error) => recorder.fail(new Error(`stream ${target.url}${path}: ${error.message}`)));
  socket.on('close', () => recorder.end(`stream ${target.url}${path} ended before its first event`));
  socket.on('connect', () => {
    recorder.start();
    socket.write(request);
  });
  socket.on('data', (chunk: Buffer) => recorder.read(chunk.toString('latin1')));
  return trace;
}

/**
 * One kept-alive connection, as the SDKs hold one: streams go over it one after another, each ending
 * at its chunked body's last chunk instead of at the connection's close.
 */
export class KeptAliveConnection {
  private readonly socket: Socket;
  private readonly connected: Promise<void>;
  private current?: TraceRecorder;

  constructor(private readonly target: Upstream) {
    this.socket = connect(target.port, target.host);
    this.socket.setNoDelay(true);
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.connected.catch(() => {});
    this.socket.on('error', (error) => this.current?.fail(new Error(`kept-alive stream ${target.url}: ${error.message}`)));
    this.socket.on('close', () => this.current?.end(`kept-alive connection to ${target.url} closed before the stream's first event`));
    this.socket.on('data', (chunk: Buffer) => {
      const recorder = this.current;
      if (!recorder) return;
      recorder.read(chunk.toString('latin1'));
      if (recorder.tail.endsWith(LAST_CHUNK)) {
        this.current = undefined;
        recorder.end('the stream ended before its first event');
      }
    });
  }

  /** Sends one streaming request on the connection; its trace's `ended` resolves at the answer's last chunk. */
  async stream(path: string, body: string, headers: Record<string, string> = {}): Promise<StreamTrace> {
    await this.connected;
    if (this.current) throw new Error('KeptAliveConnection: one stream at a time');
    const recorder = new TraceRecorder(() => this.close());
    this.current = recorder;
    recorder.start();
    this.socket.write(requestText(this.target, path, body, headers));
    return recorder.trace;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The end of a chunked body: the previous chunk's CRLF, then the zero-size last chunk. */
const LAST_CHUNK = '\r\n0\r\n\r\n';

function requestText(target: Upstream, path: string, body: string, headers: Record<string, string>): string {
  const head = [
    `POST ${path} HTTP/1.1`,
    `Host: ${target.host}:${target.port}`,
    'Content-Type: application/json',
    'Accept: text/event-stream',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  return `${head}\r\n\r\n${body}`;
}

/** Builds one stream's trace from the socket reads of its answer. */
class TraceRecorder {
  readonly trace: StreamTrace;
  /** The end of the reads so far, so an event (or the last chunk) split over two reads is seen once. */
  tail = '';
  private startedAt = 0;
  private gotFirst!: (at: number) => void;
  private noFirst!: (error: Error) => void;
  private ended!: () => void;
  private failed!: (error: Error) => void;

  constructor(close: () => void) {
    const firstEvent = new Promise<number>((resolve, reject) => ((this.gotFirst = resolve), (this.noFirst = reject)));
    firstEvent.catch(() => {}); // callers that only wait for `ended` must not see an unhandled rejection
    const ended = new Promise<void>((resolve, reject) => ((this.ended = resolve), (this.failed = reject)));
    ended.catch(() => {}); // likewise for callers that hold streams open and then close them
    this.trace = { reads: [], eventTimes: [], errorEvents: 0, closed: false, firstEvent, ended, close };
  }

  /** The request is being written now. */
  start(): void {
    this.startedAt = performance.now();
  }

  read(text: string): void {
    const at = performance.now() - this.startedAt;
    const trace = this.trace;
    if (trace.status === undefined) trace.status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
    const window = this.tail + text;
    const events = countFrom(EVENT_START, window, this.tail.length);
    trace.errorEvents += countFrom(ERROR_EVENT, window, this.tail.length);
    this.tail = window.slice(-16);
    trace.reads.push({ at, events });
    for (let i = 0; i < events; i++) trace.eventTimes.push(at);
    if (events > 0 && trace.eventTimes.length === events) this.gotFirst(at);
  }

  /** The answer is over (or its connection closed): `why` explains a missing first event. */
  end(why: string): void {
    this.trace.closed = true;
    this.noFirst(new Error(`${why} (HTTP ${this.trace.status ?? 'no response'})`));
    this.ended();
  }

  fail(error: Error): void {
    this.noFirst(error);
    this.failed(error);
  }
}

/** Matches of the pattern in text that end after `from` (i.e. not already counted in the previous read). */
function countFrom(pattern: RegExp, text: string, from: number): number {
  let count = 0;
  for (const match of text.matchAll(pattern)) if (match.index + match[0].length > from) count++;
  return count;
}
