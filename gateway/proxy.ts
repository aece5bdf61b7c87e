import { Agent, request, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Exchange } from './accounting.ts';
import { tooLargeError } from './body.ts';
import { GatewayError, sendError } from './errors.ts';
import { streamErrorEvents, TokenEventCounter, type StreamDialect } from './event-stream.ts';

// The relay between a client and one TGI server, on node's http client with a keep-alive agent.
// (http-proxy-middleware was measured and left out: see the README's benchmark section.)
// Plain answers are piped; event streams are written chunk by chunk as they arrive, counted, and
// ended with an error event in TGI's format if the upstream fails or falls silent. Whatever happens,
// `done` is called exactly once with the status the client got (499: the client went away first).

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
  done: (status: number) => void;
}

/**
 * Idle upstream connections are closed after this long, or sooner when the server announces a shorter
 * keep-alive (node then closes them a second early), so a request is never sent on a connection the
 * server is closing at the same moment.
 */
const IDLE_UPSTREAM_SOCKET_MS = 60_000;

export class UpstreamProxy {
  readonly agent = new Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo', timeout: IDLE_UPSTREAM_SOCKET_MS, noDelay: true } as ConstructorParameters<typeof Agent>[0]);

  forward(f: ForwardRequest): void {
    const { req, res, exchange } = f;
    const d = exchange.deployment;
    const upstream = d.upstream;
    if (!upstream) {
      sendError(res, new GatewayError(502, `${d.key} is marked ready but has no upstream address; this is a bug in the orchestrator, please report it`));
      f.done(502);
      return;
    }
    const timeoutMs = d.spec.limits.requestTimeoutMs;
    let finished = false;
    /** The gateway ended the upstream side itself (client gone, timeout): its errors are expected. */
    let abandoned = false;
    let failedStatus: number | undefined;
    let streaming = false;

    const proxyReq = request({ host: upstream.host, port: upstream.port, method: req.method, path: f.upstreamPath, headers: upstreamHeaders(req.headers, f.body), agent: this.agent });

    const abandon = () => {
      abandoned = true;
      proxyReq.destroy();
    };
    const finish = (status: number) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      f.done(status);
    };

    const timer = setTimeout(() => {
      abandon();
      const seconds = timeoutMs / 1000;
      if (!res.headersSent) {
        sendError(res, new GatewayError(504, `${d.key} did not answer within ${seconds} s (request_timeout); lower max_new_tokens, use streaming, or raise request_timeout in models.yaml`));
      } else if (streaming) {
        failedStatus = 504;
        res.end(streamErrorEvents(f.dialect, `no event from ${d.key} for ${seconds} s (request_timeout); the stream was ended`, 504));
      } else {
        failedStatus = 504;
        res.destroy();
      }
    }, timeoutMs);

    res.on('close', () => {
      if (res.writableFinished) return finish(failedStatus ?? res.statusCode);
      if (!abandoned) abandon();
      finish(failedStatus ?? CLIENT_CLOSED_REQUEST);
    });

    proxyReq.on('error', (error: NodeJS.ErrnoException) => {
      if (abandoned || res.headersSent) return; // mid-answer failures are handled where the answer is relayed
      sendError(res, new GatewayError(502, `${d.key} (${upstream.url}) failed: ${error.code ?? error.message}; its server is down or restarting, see \`npm run status\``));
    });

    proxyReq.on('response', (upstreamRes) => {
      const contentType = upstreamRes.headers['content-type'];
      streaming = contentType !== undefined && contentType.startsWith('text/event-stream');
      exchange.stream = streaming;
      const generated = upstreamRes.headers['x-generated-tokens'];
      if (generated !== undefined) exchange.generatedTokens = Number(generated) || 0;
      res.writeHead(upstreamRes.statusCode ?? 502, clientHeaders(upstreamRes.rawHeaders, streaming));
      upstreamRes.on('error', () => {}); // a reset upstream is handled on 'close' below
      upstreamRes.on('close', () => {
        if (upstreamRes.complete || abandoned || res.writableEnded) return;
        failedStatus = 502;
        if (streaming) res.end(streamErrorEvents(f.dialect, `${d.key} closed the stream before it finished; its server may have crashed`, 502));
        else res.destroy();
      });
      if (!streaming) {
        upstreamRes.pipe(res);
        return;
      }
      res.flushHeaders();
      timer.refresh();
      relayEvents(upstreamRes, res, exchange, timer);
    });

    if (f.body) proxyReq.end(f.body);
    else pipeBody(req, proxyReq, f.maxBodyBytes, () => {
      abandon();
      sendError(res, tooLargeError(f.maxBodyBytes));
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Writes each chunk as it arrives (no buffering), counting token events and timing the first. */
function relayEvents(upstreamRes: IncomingMessage, res: ServerResponse, exchange: Exchange, idleTimer: NodeJS.Timeout): void {
  const counter = new TokenEventCounter();
  const resume = () => upstreamRes.resume();
  upstreamRes.on('data', (chunk: Buffer) => {
    idleTimer.refresh();
    const tokens = counter.count(chunk);
    if (tokens > 0) {
      if (exchange.ttftMs === undefined) exchange.ttftMs = performance.now() - exchange.startedAt;
      exchange.generatedTokens += tokens;
    }
    if (!res.write(chunk)) {
      upstreamRes.pause();
      res.once('drain', resume);
    }
  });
  upstreamRes.on('end', () => res.end());
}

/** Pipes the client's body upstream; a body without Content-Length is counted against the limit. */
function pipeBody(req: IncomingMessage, proxyReq: ReturnType<typeof request>, maxBytes: number, onTooLarge: () => void): void {
  if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] !== undefined) {
    let size = 0;
    const count = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return;
      req.off('data', count);
      req.unpipe(proxyReq);
      onTooLarge();
    };
    req.on('data', count);
  }
  req.pipe(proxyReq);
}

function upstreamHeaders(incoming: IncomingHttpHeaders, body: Buffer | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const name in incoming) if (!NOT_FORWARDED.has(name)) headers[name] = incoming[name];
  if (body) headers['content-length'] = body.length;
  return headers;
}

/** The upstream's raw headers minus hop-by-hop ones; streams also get X-Accel-Buffering: no. */
function clientHeaders(raw: string[], streaming: boolean): string[] {
  const headers: string[] = [];
  let accelBuffering = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
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
