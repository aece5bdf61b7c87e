import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.ts';

// Request bodies, read whole before anything goes upstream (as nginx buffers them): size-limited
// (gateway.max_body_size), within request_timeout, and for the routes the gateway must understand
// (/generate, /generate_stream, the root OpenAI routes) parsed as a JSON object. A slow or oversized
// upload is the client's fault and is answered as such (408, 413), before it holds an upstream
// connection.

export interface JsonBody {
  raw: Buffer;
  json: Record<string, unknown>;
}

export function tooLargeError(maxBytes: number): GatewayError {
  return new GatewayError(413, `the request body is larger than ${maxBytes} bytes (gateway.max_body_size in models.yaml); send a smaller body, e.g. a smaller image`, { connection: 'close' });
}

/**
 * 408 for a body that has not arrived within request_timeout. The connection is closed: the rest of
 * the body is never read, and a client that trickles it must not keep the connection either.
 */
export function uploadTimeoutError(timeoutMs: number): GatewayError {
  return new GatewayError(
    408,
    `the request body did not arrive within ${timeoutMs / 1000} s (request_timeout): the client's upload is too slow or stalled; send the whole body at once, or raise request_timeout in models.yaml`,
    { connection: 'close' },
  );
}

/** 413 when the declared Content-Length is over the limit. */
function bodyTooLarge(req: IncomingMessage, maxBytes: number): GatewayError | undefined {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > maxBytes ? tooLargeError(maxBytes) : undefined;
}

/** Whether the request carries a body (a Content-Length above 0, or a chunked one). */
export function hasBody(req: IncomingMessage): boolean {
  const declared = req.headers['content-length'];
  return declared !== undefined ? declared !== '0' : req.headers['transfer-encoding'] !== undefined;
}

/** The whole body; GatewayErrors for a body too large (413), too slow (408) or cut short (400). */
export function readBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<Buffer> {
  const tooLarge = bodyTooLarge(req, maxBytes);
  if (tooLarge) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => new BodyReader(req, maxBytes, timeoutMs, resolve, reject));
}

/**
 * One body being read. A class with its listeners inline rather than named closures: tsx names every
 * named closure it creates, per request (as proxy.ts's Relay explains). Once settled it ignores the rest.
 */
class BodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly req: IncomingMessage,
    private readonly maxBytes: number,
    timeoutMs: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: GatewayError) => void,
  ) {
    this.timer = setTimeout(() => this.fail(uploadTimeoutError(timeoutMs)), timeoutMs);
    req.on('data', (chunk: Buffer) => this.take(chunk));
    req.once('end', () => this.end());
    req.once('error', () => this.fail(new GatewayError(400, 'the request body could not be read: the connection failed')));
    req.once('close', () => {
      if (!req.complete) this.fail(new GatewayError(400, 'the client closed the connection before sending its whole body'));
    });
  }

  private take(chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size <= this.maxBytes) return void this.chunks.push(chunk);
    this.req.pause();
    this.fail(tooLargeError(this.maxBytes));
  }

  private end(): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.resolve(this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size));
  }

  private fail(error: GatewayError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.chunks.length = 0;
    this.reject(error);
  }
}

/** The body as a JSON object; GatewayErrors for a body too large (413), too slow (408) or not a JSON object (400). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, timeoutMs: number): Promise<JsonBody> {
  const raw = await readBody(req, maxBytes, timeoutMs);
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw new GatewayError(400, `the request body is not valid JSON (${(error as Error).message}); send a JSON object with Content-Type: application/json`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new GatewayError(400, 'the request body must be a JSON object');
  }
  return { raw, json: json as Record<string, unknown> };
}
