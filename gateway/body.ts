import type { IncomingMessage } from 'node:http';
import { GatewayError } from './errors.ts';

// Request bodies the gateway itself must read (/generate, /generate_stream, the root OpenAI routes):
// size-limited, then parsed as a JSON object. Passthrough routes never come here; their size is
// checked by bodyTooLarge() on the Content-Length alone and counted while piping.

export interface JsonBody {
  raw: Buffer;
  json: Record<string, unknown>;
}

export function tooLargeError(maxBytes: number): GatewayError {
  return new GatewayError(413, `the request body is larger than ${maxBytes} bytes (gateway.max_body_size in models.yaml); send a smaller body, e.g. a smaller image`, { connection: 'close' });
}

/** 413 when the declared Content-Length is over the limit. */
export function bodyTooLarge(req: IncomingMessage, maxBytes: number): GatewayError | undefined {
  const declared = req.headers['content-length'];
  return declared !== undefined && Number(declared) > maxBytes ? tooLargeError(maxBytes) : undefined;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = bodyTooLarge(req, maxBytes);
  if (tooLarge) return Promise.reject(tooLarge);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (size > maxBytes) return;
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      req.pause();
      reject(tooLargeError(maxBytes));
    });
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.once('error', () => reject(new GatewayError(400, 'the request body could not be read: the connection failed')));
    req.once('close', () => {
      if (!req.complete) reject(new GatewayError(400, 'the client closed the connection before sending its whole body'));
    });
  });
}

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<JsonBody> {
  const raw = await readBody(req, maxBytes);
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
