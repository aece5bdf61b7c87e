// Helpers for the simulator tests: HTTP calls that keep the raw bytes, SSE parsing, and small but
// valid PNG / JPEG / WebP images of any declared size (headers only, which is all a size reader needs).
import { request } from 'node:http';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received. */
  body: string;
  /** The body split the way it arrived from the socket. */
  chunks: string[];
}

/** POST (or GET) with full control over headers and body; resolves with the raw response. */
export function send(url: string, options: { method?: string; body?: string | Buffer; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? (options.body === undefined ? 'GET' : 'POST'), headers: options.headers, agent: false, signal: options.signal }, (res) => {
      const chunks: string[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: chunks.join(''), chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export function postJson(url: string, body: unknown, signal?: AbortSignal): Promise<RawResponse> {
  return send(url, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, signal });
}

/** Waits until the simulator's tgi_batch_current_size gauge shows n requests being generated. */
export async function waitForInFlight(url: string, n: number): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    if ((await send(`${url}/metrics`)).body.includes(`tgi_batch_current_size ${n}\n`)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the simulator at ${url} never had ${n} request(s) in flight`);
}

/** The data of each `data: …` event of an SSE body (comments dropped). */
export function sseData(body: string): string[] {
  return body
    .split('\n\n')
    .filter((block) => block.startsWith('data: '))
    .map((block) => block.slice('data: '.length));
}

function u32be(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value);
  return b;
}

function u16be(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u24le(value: number): Buffer {
  return Buffer.from([value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff]);
}

/** A real, complete 1x1 PNG. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

/** PNG signature and IHDR chunk declaring width x height (RGB, 8 bits). */
export function pngHeader(width: number, height: number): Buffer {
  const ihdr = Buffer.concat([u32be(width), u32be(height), Buffer.from([8, 2, 0, 0, 0])]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), u32be(13), Buffer.from('IHDR'), ihdr, u32be(0)]);
}

/** JPEG: SOI, a JFIF APP0 segment, a baseline SOF0 declaring the size, EOI. */
export function jpegHeader(width: number, height: number): Buffer {
  const app0 = Buffer.concat([Buffer.from([0xff, 0xe0]), u16be(16), Buffer.from('JFIF\0'), Buffer.from([1, 1, 0]), u16be(1), u16be(1), Buffer.from([0, 0])]);
  const sof0 = Buffer.concat([Buffer.from([0xff, 0xc0]), u16be(17), Buffer.from([8]), u16be(height), u16be(width), Buffer.from([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof0, Buffer.from([0xff, 0xd9])]);
}

/** WebP (extended format): RIFF, WEBP, a VP8X chunk with the canvas size. */
export function webpHeader(width: number, height: number): Buffer {
  const vp8x = Buffer.concat([Buffer.from('VP8X'), Buffer.from([10, 0, 0, 0]), Buffer.from([0, 0, 0, 0]), u24le(width - 1), u24le(height - 1)]);
  const payload = Buffer.concat([Buffer.from('WEBP'), vp8x]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(payload.length);
  return Buffer.concat([Buffer.from('RIFF'), size, payload]);
}

export function markdownImage(bytes: Buffer, mime = 'image/png'): string {
  return `![](data:${mime};base64,${bytes.toString('base64')})`;
}
