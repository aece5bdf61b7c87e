import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Upstream } from '../../gateway/types.ts';

// Open-loop HTTP load for the overload scenarios: requests start on a fixed schedule whether or not
// earlier ones have been answered (a closed loop, like wrk's, would slow down with the server and hide
// the overload). Every answer's status and latency is kept.

export interface Outcome {
  status: number;
  /** ms from the request's scheduled start to the end of its answer. */
  latencyMs: number;
}

export interface OpenLoopOptions {
  target: Upstream;
  path: string;
  body: string;
  headers: Record<string, string>;
  requestsPerSecond: number;
  durationSeconds: number;
  /** Source address, e.g. 127.0.0.2, so the gateway sees a client of its own. */
  localAddress?: string;
}

/** Sends requestsPerSecond × durationSeconds requests on schedule; resolves with every outcome once all are answered. */
export async function openLoop(options: OpenLoopOptions): Promise<Outcome[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  const total = Math.round(options.requestsPerSecond * options.durationSeconds);
  const interval = 1000 / options.requestsPerSecond;
  const started = performance.now();
  const pending: Promise<Outcome>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(send(options, agent, due));
  }
  const outcomes = await Promise.all(pending);
  agent.destroy();
  return outcomes;
}

/** One request; a socket error counts as status 0. */
export function send(options: Omit<OpenLoopOptions, 'requestsPerSecond' | 'durationSeconds'>, agent: Agent, startedAt = performance.now()): Promise<Outcome> {
  const { target, path, body, headers, localAddress } = options;
  return new Promise((resolve) => {
    const done = (status: number) => resolve({ status, latencyMs: performance.now() - startedAt });
    const req = request({ host: target.host, port: target.port, path, method: 'POST', agent, localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode ?? 0));
      res.once('error', () => done(0));
    });
    req.once('error', () => done(0));
    req.end(body);
  });
}
