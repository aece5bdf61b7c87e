import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { Agent, errors, type Dispatcher } from 'undici';
import type { Exchange } from './accounting.ts';
import { GatewayError, sendError } from './errors.ts';
import { reportedUsage, streamErrorEvents, TokenEventCounter, type StreamDialect } from './event-stream.ts';
import type { Logger, Upstream } from './types.ts';

// The relay between a client and one TGI server. The upstream side is undici (the HTTP client behind
// Node's fetch), not node:http's ClientRequest: measured on this path (README, Benchmarks), it costs
// less CPU per request (one write of a request built once, no IncomingMessage stream per answer),
// which shows as throughput at 64 connections and as time to first token. http-proxy-middleware was
// measured and left out earlier: it spent 120–190 µs of CPU per small request against 50–60 µs for a
// bare node relay (a promise-based middleware, option copies and http-proxy's chain of passes on every
// request).
//
// The request body has been read by the dispatcher (size-limited, within request_timeout: body.ts).
// Plain answers are written as they arrive; event streams are also counted, and ended with an error
// event in TGI's format if the upstream fails or falls silent. request_timeout bounds the upstream's
// answer (504), then each silence of a stream. Whatever happens, `ended` hears of each request
// exactly once, with its outcome: the status the client got, 502/504 for an answer that failed after
// its status line went out, or 499 when the client left first. A translated answer (/generate on vLLM
// or SGLang: ForwardRequest.translate) is read whole and re-shaped, or, streamed, re-framed event by
// event on its way to the counting.

/** Request headers that are not passed upstream: hop-by-hop ones, the client's Host, the bearer token, and Expect (the gateway answered it). */
const NOT_FORWARDED = new Set(['authorization', 'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'content-length']);
/** Upstream response headers that belong to the upstream connection only. */
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding']);
/** Upstream headers a re-shaped answer sets anew: its length, and for a translated one its type too. */
const RESHAPED_BODY: ReadonlySet<string> = new Set(['content-length']);
const TRANSLATED_BODY: ReadonlySet<string> = new Set(['content-length', 'content-type']);

/** Response headers as undici hands them over: name, value, name, value… */
type RawHeaders = readonly (Buffer | string)[];

export const CLIENT_CLOSED_REQUEST = 499;

export interface ForwardRequest {
  /** The client's method and headers. */
  req: { method?: string; headers: IncomingHttpHeaders };
  res: ServerResponse;
  exchange: Exchange;
  /** Path and query on the upstream server. */
  upstreamPath: string;
  /** How an error event is framed if the answer turns out to be a stream. */
  dialect: StreamDialect;
  /** The request body, read whole by the dispatcher; none for a request without one. */
  body?: Buffer;
  /** For small JSON answers the gateway completes (GET /info): a 200 JSON answer is read whole and rewritten. */
  rewriteJson?: (body: Record<string, unknown>) => Record<string, unknown>;
  /** For answers the gateway re-shapes (/generate on vLLM and SGLang): every answer goes through it. */
  translate?: AnswerTranslation;
}

/** Token counts an upstream reported for a translated answer. */
export interface ReportedUsage {
  prompt?: number;
  generated?: number;
}

/** How an upstream's answer is turned into another API's shapes (gateway/engine-generate/). */
export interface AnswerTranslation {
  /** A whole (not streamed) answer, error or not: the status and body the client gets. */
  json(status: number, text: string): { status: number; body: string; usage?: ReportedUsage };
  /** An event stream: a transform of its bytes into the client's events; `onUsage` hears the upstream's token counts. */
  stream(onUsage: (usage: ReportedUsage) => void): Duplex;
}

/** Told once per forwarded request how it ended. */
export type ExchangeEnded = (exchange: Exchange, status: number) => void;

/**
 * Idle upstream connections are closed after this long, or sooner when the server announces a shorter
 * keep-alive (undici then closes them a second early), so a request is never sent on a connection the
 * server is closing at the same moment.
 */
const IDLE_UPSTREAM_SOCKET_MS = 60_000;

export class UpstreamProxy {
  /**
   * One connection pool per upstream address, dropped once its last connection has closed (a
   * restarted deployment's old port leaves nothing behind). undici's own timeouts are off: the relay
   * holds each request to its deployment's request_timeout.
   */
  private readonly agent = new Agent({ keepAliveTimeout: IDLE_UPSTREAM_SOCKET_MS, keepAliveTimeoutThreshold: 1000, headersTimeout: 0, bodyTimeout: 0 });

  constructor(
    private readonly ended: ExchangeEnded,
    private readonly log: Logger,
  ) {}

  forward(f: ForwardRequest): void {
    const upstream = f.exchange.deployment.upstream;
    if (!upstream) {
      sendError(f.res, new GatewayError(502, `${f.exchange.deployment.key} is marked ready but has no upstream address; this is a bug in the orchestrator, please report it`));
      this.ended(f.exchange, 502);
      return;
    }
    const relay = new Relay(f, upstream, this.ended, this.log);
    this.agent.dispatch({ origin: upstream.url, method: (f.req.method ?? 'GET') as Dispatcher.HttpMethod, path: f.upstreamPath, headers: upstreamHeaders(f.req.headers), body: f.body ?? null }, relay);
  }

  close(): void {
    void this.agent.destroy();
  }
}

/** What the relay does with the answer's bytes once its status line is known. */
type AnswerMode = 'plain' | 'events' | 'translated-events' | 'collect';

/**
 * One request's relay, as undici's dispatch handler. Its state machine is small: waiting for the
 * upstream's answer, then relaying a plain answer or a stream, until the client has it all, the client
 * leaves, the upstream fails, or the timer runs out. (A class rather than closures: tsx names every
 * closure it creates, per request.)
 */
class Relay implements Dispatcher.DispatchHandler {
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private controller?: Dispatcher.DispatchController;
  private finished = false;
  /** The gateway ended the upstream side itself (client gone, timeout): its errors are expected. */
  private abandoned = false;
  /** Set when the answer failed after its status line went out (502/504). */
  private failedStatus?: number;
  private mode: AnswerMode = 'plain';
  private status = 502;
  private rawHeaders: RawHeaders = [];
  private counter?: TokenEventCounter;
  /** translated-events: the upstream's bytes go in, the client's events come out. */
  private translator?: Duplex;
  /** collect: the whole answer, for rewriteJson or translate.json. */
  private chunks?: Buffer[];

  constructor(
    private readonly f: ForwardRequest,
    private readonly upstream: Upstream,
    private readonly ended: ExchangeEnded,
    private readonly log: Logger,
  ) {
    this.timeoutMs = f.exchange.deployment.spec.limits.requestTimeoutMs;
    this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
    f.res.on('close', () => this.onClientClose());
  }

  private get key(): string {
    return this.f.exchange.deployment.key;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abandoned) controller.abort(new Error('the request was abandoned'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    if (statusCode < 100 || statusCode > 999) return this.refuseAnswer(`answered with status ${statusCode}, which is not valid HTTP`);
    if (statusCode < 200) return; // 1xx: the answer is still to come
    const { res, exchange, translate, rewriteJson } = this.f;
    this.status = statusCode;
    this.rawHeaders = Array.isArray(controller.rawHeaders) ? controller.rawHeaders : [];
    const contentType = headers['content-type'];
    const streaming = typeof contentType === 'string' && contentType.startsWith('text/event-stream');
    exchange.stream = streaming;
    const generated = headers['x-generated-tokens'];
    if (generated !== undefined) exchange.generatedTokens = Number(generated) || 0;
    const prompt = headers['x-prompt-tokens'];
    if (prompt !== undefined) exchange.promptTokens = Number(prompt) || 0;
    else if (streaming) exchange.promptTokens = estimatedPromptTokens(headers['x-compute-characters']);

    if (translate && streaming) return this.startTranslatedEvents(translate);
    if (translate || (rewriteJson && !streaming && statusCode === 200 && typeof contentType === 'string' && contentType.startsWith('application/json'))) {
      this.mode = 'collect';
      this.chunks = [];
      return;
    }
    if (!this.writeHead(statusCode, clientHeaders(this.rawHeaders, streaming))) return;
    if (!streaming) return;
    this.mode = 'events';
    this.counter = new TokenEventCounter();
    res.flushHeaders();
    this.timer.refresh();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.abandoned) return; // the client has its answer (a 502) or is gone: nothing more is written
    if (this.mode === 'collect') return void this.chunks!.push(chunk);
    if (this.mode === 'translated-events') {
      if (!this.translator!.write(chunk)) this.pauseUntilDrained(controller, this.translator!);
      return;
    }
    if (this.mode === 'events') this.countEvents(chunk);
    if (!this.f.res.write(chunk)) this.pauseUntilDrained(controller, this.f.res);
  }

  onResponseEnd(): void {
    if (this.abandoned) return;
    if (this.mode === 'translated-events') return void this.translator!.end(); // the translator's 'end' ends the answer
    if (this.mode === 'collect') return this.sendCollected();
    this.f.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.abandoned) return;
    const { res, dialect } = this.f;
    if (!res.headersSent) {
      const code = (error as NodeJS.ErrnoException).code;
      // undici's parser errors carry llhttp's reason in the message and, in undici 7, no code.
      const why = error instanceof errors.HTTPParserError ? 'its answer is not valid HTTP' : 'its server is down or restarting, see `npm run status`';
      const message = `${this.key} (${this.upstream.url}) failed: ${code ?? error.message}; ${why}`;
      this.log.warn({ deployment: this.key, code }, message);
      return sendError(res, new GatewayError(502, message));
    }
    if (res.writableEnded) return;
    this.failedStatus = 502;
    this.log.warn({ deployment: this.key }, `${this.key}: the upstream closed the connection in the middle of an answer`);
    if (this.f.exchange.stream) res.end(streamErrorEvents(dialect, `${this.key} closed the stream before it finished; its server may have crashed`, 502));
    else res.destroy();
  }

  private writeHead(status: number, headers: string[]): boolean {
    try {
      this.f.res.writeHead(status, headers);
      return true;
    } catch (error) {
      // Node refuses to send a header it finds invalid; that must not take the gateway down.
      this.refuseAnswer(`answered with a header the gateway cannot relay: ${(error as Error).message}`);
      return false;
    }
  }

  /** An answer the gateway cannot pass on: the client gets a 502 saying why. */
  private refuseAnswer(why: string): void {
    this.abandon();
    const message = `${this.key} (${this.upstream.url}) ${why}`;
    this.log.warn({ deployment: this.key }, message);
    sendError(this.f.res, new GatewayError(502, message));
  }

  private pauseUntilDrained(controller: Dispatcher.DispatchController, sink: NodeJS.WritableStream): void {
    controller.pause();
    sink.once('drain', () => controller.resume());
  }

  /** Counts token events, times the first, and takes the final event's own counts. */
  private countEvents(chunk: Buffer): void {
    const exchange = this.f.exchange;
    this.timer.refresh();
    const tokens = this.counter!.count(chunk);
    if (tokens > 0) {
      if (exchange.ttftMs === undefined) exchange.ttftMs = performance.now() - exchange.startedAt;
      exchange.generatedTokens += tokens;
    }
    const usage = reportedUsage(chunk);
    if (usage) {
      // The final event's own count wins over the events counted (an OpenAI usage event is no token).
      if (usage.prompt !== undefined) exchange.promptTokens = usage.prompt;
      if (usage.generated !== undefined) exchange.generatedTokens = usage.generated;
    }
  }

  /** A translated stream: the upstream's events are re-framed, then counted and written like any stream. */
  private startTranslatedEvents(translate: AnswerTranslation): void {
    const { res, exchange } = this.f;
    if (!this.writeHead(this.status, clientHeaders(this.rawHeaders, true, RESHAPED_BODY))) return;
    res.flushHeaders();
    this.timer.refresh();
    this.mode = 'translated-events';
    this.counter = new TokenEventCounter();
    // The prompt's count comes from the upstream; generated tokens are the translated events counted.
    const translator = translate.stream((usage) => {
      if (usage.prompt !== undefined) exchange.promptTokens = usage.prompt;
    });
    this.translator = translator;
    translator.on('data', (chunk: Buffer) => {
      this.countEvents(chunk);
      if (!res.write(chunk)) {
        translator.pause();
        res.once('drain', () => translator.resume());
      }
    });
    translator.on('end', () => res.end());
  }

  /** A whole answer the gateway re-shapes: a translated one, or a JSON answer it completes (rewriteJson). */
  private sendCollected(): void {
    const { res, exchange, translate, rewriteJson } = this.f;
    const text = Buffer.concat(this.chunks!).toString('utf8');
    if (translate) {
      const answer = translate.json(this.status, text);
      if (answer.usage?.prompt !== undefined) exchange.promptTokens = answer.usage.prompt;
      if (answer.usage?.generated !== undefined) exchange.generatedTokens = answer.usage.generated;
      const headers = clientHeaders(this.rawHeaders, false, TRANSLATED_BODY);
      if (this.writeHead(answer.status, [...headers, 'Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(answer.body))])) res.end(answer.body);
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(rewriteJson!(JSON.parse(text) as Record<string, unknown>));
    } catch {
      body = text; // not the JSON object we expected: pass it on as it came
    }
    const headers = clientHeaders(this.rawHeaders, false, RESHAPED_BODY);
    if (this.writeHead(200, [...headers, 'Content-Length', String(Buffer.byteLength(body))])) res.end(body);
  }

  private abandon(): void {
    this.abandoned = true;
    this.controller?.abort(new Error('the request was abandoned'));
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.timer);
    this.ended(this.f.exchange, status);
  }

  private onClientClose(): void {
    const { res } = this.f;
    if (res.writableFinished) return this.finish(this.failedStatus ?? res.statusCode);
    if (!this.abandoned) this.abandon();
    this.finish(this.failedStatus ?? CLIENT_CLOSED_REQUEST);
  }

  private onTimeout(): void {
    const { res, dialect } = this.f;
    this.abandon();
    const seconds = this.timeoutMs / 1000;
    this.log.warn({ deployment: this.key, timeoutMs: this.timeoutMs }, `${this.key}: no answer or event for ${seconds} s (request_timeout); request ended`);
    if (!res.headersSent) {
      sendError(res, new GatewayError(504, `${this.key} did not answer within ${seconds} s (request_timeout); lower max_new_tokens, use streaming, or raise request_timeout in models.yaml`));
      return;
    }
    this.failedStatus = 504;
    if (this.f.exchange.stream) res.end(streamErrorEvents(dialect, `no event from ${this.key} for ${seconds} s (request_timeout); the stream was ended`, 504));
    else res.destroy();
  }
}

/**
 * TGI streams report their prompt's tokens only in the final event, and only when the client asked for
 * details (or usage): until then (or if that event never comes) the prompt counts as its characters / 4,
 * the usual rule of thumb for English text, so streaming is no way around a token budget.
 */
function estimatedPromptTokens(characters: string | string[] | undefined): number | undefined {
  const n = Number(characters);
  return characters !== undefined && Number.isFinite(n) && n > 0 ? Math.ceil(n / 4) : undefined;
}

function upstreamHeaders(incoming: IncomingHttpHeaders): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const name in incoming) {
    const value = incoming[name];
    if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
  }
  return headers;
}

/**
 * The upstream's raw headers (as undici read them) minus hop-by-hop ones and `dropped` (lower case);
 * streams also get X-Accel-Buffering: no.
 */
function clientHeaders(raw: RawHeaders, streaming: boolean, dropped?: ReadonlySet<string>): string[] {
  const headers: string[] = [];
  let accelBuffering = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toString('latin1');
    // Only names of these lengths can be hop-by-hop, X-Accel-Buffering or dropped: most headers skip toLowerCase.
    if (name.length === 10 || name.length === 17 || (dropped && (name.length === 12 || name.length === 14))) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP_RESPONSE.has(lower) || dropped?.has(lower)) continue;
      if (lower === 'x-accel-buffering') accelBuffering = true;
    }
    headers.push(name, raw[i + 1].toString('latin1'));
  }
  if (streaming && !accelBuffering) headers.push('X-Accel-Buffering', 'no');
  return headers;
}
