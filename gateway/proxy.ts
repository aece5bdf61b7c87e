import { Agent, request, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type { Exchange } from './accounting.ts';
import { tooLargeError, uploadTimeoutError } from './body.ts';
import { GatewayError, sendError } from './errors.ts';
import { reportedUsage, streamErrorEvents, TokenEventCounter, type StreamDialect } from './event-stream.ts';
import type { Logger, Upstream } from './types.ts';

// The relay between a client and one TGI server, on node's http client with a keep-alive agent.
// http-proxy-middleware was measured on this path and left out: it spent 120–190 µs of CPU per small
// request against 50–60 µs for a bare node relay (a promise-based middleware, option copies and
// http-proxy's chain of passes on every request), which alone put the benchmark's "half of nginx's
// throughput" out of reach.
//
// Plain answers are piped; event streams are written chunk by chunk as they arrive, counted, and
// ended with an error event in TGI's format if the upstream fails or falls silent. request_timeout
// bounds the client's upload (408), then the upstream's answer (504), then each silence of a stream.
// Whatever happens, `ended` hears of each request exactly once, with its outcome: the status the
// client got, 502/504 for an answer that failed after its status line went out, or 499 when the
// client left first. A translated answer (/generate on vLLM or SGLang: ForwardRequest.translate) is
// read whole and re-shaped, or, streamed, re-framed event by event on its way to the counting.

/** Request headers that are not passed upstream: hop-by-hop ones, the client's Host, and the bearer token. */
const NOT_FORWARDED = new Set(['authorization', 'host', 'connection', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'transfer-encoding', 'te', 'trailer', 'upgrade']);
/** Upstream response headers that belong to the upstream connection only. */
const HOP_BY_HOP_RESPONSE = new Set(['connection', 'keep-alive', 'transfer-encoding']);

export const CLIENT_CLOSED_REQUEST = 499;

export interface ForwardRequest {
  req: IncomingMessage;
  res: ServerResponse;
  exchange: Exchange;
  /** Path and query on the upstream server. */
  upstreamPath: string;
  /** How an error event is framed if the answer turns out to be a stream. */
  dialect: StreamDialect;
  /** A body the gateway already read (and maybe rewrote); without it the client's body is piped. */
  body?: Buffer;
  /** The largest body piped from the client (Content-Length was checked before; this counts chunked bodies). */
  maxBodyBytes: number;
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
 * keep-alive (node then closes them a second early), so a request is never sent on a connection the
 * server is closing at the same moment.
 */
const IDLE_UPSTREAM_SOCKET_MS = 60_000;

export class UpstreamProxy {
  readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo', timeout: IDLE_UPSTREAM_SOCKET_MS, noDelay: true } as ConstructorParameters<typeof Agent>[0]);

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
    new Relay(f, upstream, this.agent, this.ended, this.log).start();
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * One request's relay. Its state machine is small: waiting for the upstream's answer, then relaying a
 * plain answer or a stream, until the client has it all, the client leaves, the upstream fails, or
 * the timer runs out. (A class rather than closures: tsx names every closure it creates, per request.)
 */
class Relay {
  private readonly proxyReq: ClientRequest;
  private readonly timer: NodeJS.Timeout;
  private readonly timeoutMs: number;
  private finished = false;
  /** The gateway ended the upstream side itself (client gone, timeout): its errors are expected. */
  private abandoned = false;
  /** Set when the answer failed after its status line went out (502/504). */
  private failedStatus?: number;
  private streaming = false;

  constructor(
    private readonly f: ForwardRequest,
    private readonly upstream: Upstream,
    agent: Agent,
    private readonly ended: ExchangeEnded,
    private readonly log: Logger,
  ) {
    const { req } = f;
    this.timeoutMs = f.exchange.deployment.spec.limits.requestTimeoutMs;
    this.proxyReq = request({ host: upstream.host, port: upstream.port, method: req.method, path: f.upstreamPath, headers: upstreamHeaders(req.headers, f.body), agent });
    this.timer = setTimeout(() => this.onTimeout(), this.timeoutMs);
  }

  start(): void {
    const { req, res, body, maxBodyBytes } = this.f;
    res.on('close', () => this.onClientClose());
    this.proxyReq.on('error', (error: NodeJS.ErrnoException) => this.onUpstreamError(error));
    this.proxyReq.on('response', (upstreamRes: IncomingMessage) => this.onResponse(upstreamRes));
    if (body) this.proxyReq.end(body);
    else {
      pipeBody(req, this.proxyReq, maxBodyBytes, () => this.onBodyTooLarge());
      // The upstream's time to answer counts from the end of the upload.
      if (!req.complete) req.once('end', () => this.timer.refresh());
    }
  }

  private get key(): string {
    return this.f.exchange.deployment.key;
  }

  private abandon(): void {
    this.abandoned = true;
    this.proxyReq.destroy();
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

  private onUpstreamError(error: NodeJS.ErrnoException): void {
    if (this.abandoned || this.f.res.headersSent) return; // mid-answer failures are handled where the answer is relayed
    const why = error.code?.startsWith('HPE_') ? 'its answer is not valid HTTP' : 'its server is down or restarting, see `npm run status`';
    const message = `${this.key} (${this.upstream.url}) failed: ${error.code ?? error.message}; ${why}`;
    this.log.warn({ deployment: this.key, code: error.code }, message);
    sendError(this.f.res, new GatewayError(502, message));
  }

  private onBodyTooLarge(): void {
    this.abandon();
    sendError(this.f.res, tooLargeError(this.f.maxBodyBytes));
  }

  private onTimeout(): void {
    const { req, res, dialect, body } = this.f;
    this.abandon();
    if (!body && !req.complete && !res.headersSent) return sendError(res, uploadTimeoutError(this.timeoutMs));
    const seconds = this.timeoutMs / 1000;
    this.log.warn({ deployment: this.key, timeoutMs: this.timeoutMs }, `${this.key}: no answer or event for ${seconds} s (request_timeout); request ended`);
    if (!res.headersSent) {
      sendError(res, new GatewayError(504, `${this.key} did not answer within ${seconds} s (request_timeout); lower max_new_tokens, use streaming, or raise request_timeout in models.yaml`));
      return;
    }
    this.failedStatus = 504;
    if (this.streaming) res.end(streamErrorEvents(dialect, `no event from ${this.key} for ${seconds} s (request_timeout); the stream was ended`, 504));
    else res.destroy();
  }

  private onResponse(upstreamRes: IncomingMessage): void {
    const { res, exchange } = this.f;
    const contentType = upstreamRes.headers['content-type'];
    this.streaming = contentType !== undefined && contentType.startsWith('text/event-stream');
    exchange.stream = this.streaming;
    const generated = upstreamRes.headers['x-generated-tokens'];
    if (generated !== undefined) exchange.generatedTokens = Number(generated) || 0;
    const prompt = upstreamRes.headers['x-prompt-tokens'];
    if (prompt !== undefined) exchange.promptTokens = Number(prompt) || 0;
    else if (this.streaming) exchange.promptTokens = estimatedPromptTokens(upstreamRes.headers['x-compute-characters']);
    upstreamRes.on('error', () => {}); // a reset upstream is handled on 'close'
    if (this.f.translate) return this.relayTranslated(upstreamRes, this.f.translate);
    if (this.f.rewriteJson && !this.streaming && upstreamRes.statusCode === 200 && contentType?.startsWith('application/json')) {
      return this.relayRewritten(upstreamRes, this.f.rewriteJson);
    }
    try {
      res.writeHead(upstreamRes.statusCode ?? 502, clientHeaders(upstreamRes.rawHeaders, this.streaming));
    } catch (error) {
      // Node refuses to send a header it finds invalid; that must not take the gateway down.
      this.abandon();
      const message = `${this.key} answered with a header the gateway cannot relay: ${(error as Error).message}`;
      this.log.warn({ deployment: this.key }, message);
      return sendError(res, new GatewayError(502, message));
    }
    upstreamRes.on('close', () => this.onUpstreamClose(upstreamRes));
    if (!this.streaming) {
      upstreamRes.pipe(res);
      return;
    }
    res.flushHeaders();
    this.timer.refresh();
    relayEvents(upstreamRes, res, exchange, this.timer);
  }

  /** Reads the whole (small) JSON answer, rewrites it, and sends it with its new length. */
  private relayRewritten(upstreamRes: IncomingMessage, rewrite: (body: Record<string, unknown>) => Record<string, unknown>): void {
    const chunks: Buffer[] = [];
    upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstreamRes.on('close', () => this.onUpstreamClose(upstreamRes));
    upstreamRes.on('end', () => {
      let text: string;
      try {
        text = JSON.stringify(rewrite(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>));
      } catch {
        text = Buffer.concat(chunks).toString('utf8'); // not the JSON object we expected: pass it on as it came
      }
      const headers = clientHeaders(upstreamRes.rawHeaders, false, 'content-length');
      this.f.res.writeHead(200, [...headers, 'Content-Length', String(Buffer.byteLength(text))]);
      this.f.res.end(text);
    });
  }

  /** A translated answer: streams re-framed event by event, anything else read whole and re-shaped. */
  private relayTranslated(upstreamRes: IncomingMessage, translate: AnswerTranslation): void {
    const { res, exchange } = this.f;
    upstreamRes.on('close', () => this.onUpstreamClose(upstreamRes));
    if (this.streaming) {
      res.writeHead(upstreamRes.statusCode ?? 200, clientHeaders(upstreamRes.rawHeaders, true, 'content-length'));
      res.flushHeaders();
      this.timer.refresh();
      // The prompt's count comes from the upstream; generated tokens are the translated events counted.
      const events = upstreamRes.pipe(
        translate.stream((usage) => {
          if (usage.prompt !== undefined) exchange.promptTokens = usage.prompt;
        }),
      );
      relayEvents(events, res, exchange, this.timer);
      return;
    }
    const chunks: Buffer[] = [];
    upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
    upstreamRes.on('end', () => {
      const answer = translate.json(upstreamRes.statusCode ?? 502, Buffer.concat(chunks).toString('utf8'));
      if (answer.usage?.prompt !== undefined) exchange.promptTokens = answer.usage.prompt;
      if (answer.usage?.generated !== undefined) exchange.generatedTokens = answer.usage.generated;
      const headers = withoutContentType(clientHeaders(upstreamRes.rawHeaders, false, 'content-length'));
      res.writeHead(answer.status, [...headers, 'Content-Type', 'application/json', 'Content-Length', String(Buffer.byteLength(answer.body))]);
      res.end(answer.body);
    });
  }

  private onUpstreamClose(upstreamRes: IncomingMessage): void {
    const { res, dialect } = this.f;
    if (upstreamRes.complete || this.abandoned || res.writableEnded) return;
    this.failedStatus = 502;
    this.log.warn({ deployment: this.key }, `${this.key}: the upstream closed the connection in the middle of an answer`);
    if (this.streaming) res.end(streamErrorEvents(dialect, `${this.key} closed the stream before it finished; its server may have crashed`, 502));
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

/** Writes each chunk as it arrives (no buffering), counting token events and timing the first. */
function relayEvents(upstreamRes: Readable, res: ServerResponse, exchange: Exchange, idleTimer: NodeJS.Timeout): void {
  const counter = new TokenEventCounter();
  upstreamRes.on('data', (chunk: Buffer) => {
    idleTimer.refresh();
    const tokens = counter.count(chunk);
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
    if (!res.write(chunk)) {
      upstreamRes.pause();
      res.once('drain', () => upstreamRes.resume());
    }
  });
  upstreamRes.on('end', () => res.end());
}

/** Pipes the client's body upstream; a body without Content-Length is counted against the limit. */
function pipeBody(req: IncomingMessage, proxyReq: ClientRequest, maxBytes: number, onTooLarge: () => void): void {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined) {
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > maxBytes) return;
      size += chunk.length;
      if (size <= maxBytes) return;
      req.unpipe(proxyReq);
      onTooLarge();
    });
  }
  req.pipe(proxyReq);
}

function upstreamHeaders(incoming: IncomingHttpHeaders, body: Buffer | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const name in incoming) if (!NOT_FORWARDED.has(name)) headers[name] = incoming[name];
  if (body) headers['content-length'] = body.length;
  return headers;
}

/** The upstream's raw headers minus hop-by-hop ones (and `dropped`); streams also get X-Accel-Buffering: no. */
function clientHeaders(raw: string[], streaming: boolean, dropped?: string): string[] {
  const headers: string[] = [];
  let accelBuffering = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (dropped !== undefined && name.length === dropped.length && name.toLowerCase() === dropped) continue;
    // Only names of these lengths can be hop-by-hop or X-Accel-Buffering: most headers skip toLowerCase.
    if (name.length === 10 || name.length === 17) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP_RESPONSE.has(lower)) continue;
      if (lower === 'x-accel-buffering') accelBuffering = true;
    }
    headers.push(name, raw[i + 1]);
  }
  if (streaming && !accelBuffering) headers.push('X-Accel-Buffering', 'no');
  return headers;
}

/** Raw headers without Content-Type (a translated answer sets its own). */
function withoutContentType(raw: string[]): string[] {
  const headers: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() !== 'content-type') headers.push(raw[i], raw[i + 1]);
  return headers;
}
