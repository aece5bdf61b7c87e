import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Upstream } from '../../gateway/types.ts';

/**
 * GET /health once. True on 200. Connection refused, reset or an empty reply (what docker-proxy
 * gives while nothing listens inside the container) count as "not yet", not as errors.
 */
export function probeHealth(upstream: Upstream, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: upstream.host, port: upstream.port, path: '/health', method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
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
export function fetchInfo(upstream: Upstream, timeoutMs = 3000): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: upstream.host, port: upstream.port, path: '/info', method: 'GET', agent: false, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const ok = res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300;
        try {
          resolve(ok ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
      // Cut off mid-body (the timeout, a reset): 'close' without 'end'.
      res.on('close', () => resolve(undefined));
    });
    req.on('error', () => resolve(undefined));
    req.end();
  });
}
