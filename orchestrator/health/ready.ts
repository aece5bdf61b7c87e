import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Upstream } from '../../gateway/types.ts';

/** One GET with node:http, no keep-alive: its status and body, or undefined if it failed or took over timeoutMs. */
function getOnce(upstream: Upstream, path: string, timeoutMs: number): Promise<{ status: number; body: Buffer } | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: upstream.host, port: upstream.port, path, method: 'GET', agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', () => resolve(undefined));
      // Cut off mid-body (the timeout, a reset): 'close' without 'end'.
      res.on('close', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

/**
 * GET /health once. True on 200. Connection refused, reset or an empty reply (what docker-proxy
 * gives while nothing listens inside the container) count as "not yet", not as errors.
 */
export async function probeHealth(upstream: Upstream, timeoutMs = 2000): Promise<boolean> {
  return (await getOnce(upstream, '/health', timeoutMs))?.status === 200;
}

/** Polls /health until it answers 200. Rejects with the signal's reason if aborted first. */
export async function waitUntilHealthy(upstream: Upstream, signal: AbortSignal, intervalMs = 250): Promise<void> {
  while (!signal.aborted) {
    if (await probeHealth(upstream)) return;
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
  throw signal.reason ?? new Error('aborted');
}

/**
 * The server's GET /info, or undefined when it cannot be read. With node:http like probeHealth: it
 * comes right after a probe, and the first global fetch() of a process costs tens of ms to set up.
 */
export async function fetchInfo(upstream: Upstream, timeoutMs = 3000): Promise<Record<string, unknown> | undefined> {
  const answer = await getOnce(upstream, '/info', timeoutMs);
  if (!answer || answer.status < 200 || answer.status >= 300) return undefined;
  try {
    return JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
