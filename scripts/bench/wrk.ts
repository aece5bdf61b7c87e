import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CleanupScope } from './cleanup.ts';

// The load generator: wrk (C, epoll), so generating load costs the two shared cores as little as
// possible. Requests come from a Lua script that rotates over the given POST bodies; its done() hook
// prints the summary as one JSON line (latencies in microseconds from wrk's own histogram), which is
// read instead of wrk's human-readable text with its mixed units.

export const WRK = '/usr/bin/wrk';

export interface LoadRun {
  /** Full URL including the path, e.g. http://127.0.0.1:8123/generate */
  url: string;
  bodies: string[];
  headers: Record<string, string>;
  connections: number;
  durationSeconds: number;
}

export interface LoadResult {
  requests: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Responses with a status of 400 or more (a rate limit hit would show here). */
  errorResponses: number;
  /** Connect, read, write errors and timeouts. */
  socketErrors: number;
}

interface WrkSummary {
  requests: number;
  duration_us: number;
  p50_us: number;
  p99_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

const SUMMARY_MARK = 'WRK_SUMMARY ';

/** A Lua string literal. For printable ASCII, JSON's escapes (\" and \\) are also Lua's. */
function luaString(text: string): string {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`wrk bodies and headers must be printable ASCII: ${JSON.stringify(text)}`);
  return JSON.stringify(text);
}

function luaScript(run: LoadRun): string {
  const headers = Object.entries(run.headers).map(([name, value]) => `[${luaString(name)}] = ${luaString(value)}`).join(', ');
  return `
local bodies = { ${run.bodies.map(luaString).join(', ')} }
local prepared = {}
local next_index = 0

init = function(args)
  for i, body in ipairs(bodies) do
    prepared[i] = wrk.format("POST", nil, { ${headers} }, body)
  end
end

request = function()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('${SUMMARY_MARK}{"requests":%.0f,"duration_us":%.0f,"p50_us":%.1f,"p99_us":%.1f,"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
`;
}

/** Runs wrk once (one thread: the machine has two cores and the servers under test need them). */
export async function runWrk(run: LoadRun, workDir: string, scope: CleanupScope): Promise<LoadResult> {
  const script = join(workDir, 'wrk-post.lua');
  await writeFile(script, luaScript(run));
  const args = ['-t1', `-c${run.connections}`, `-d${run.durationSeconds}s`, '--timeout', '5s', '-s', script, run.url];
  const child = spawn(WRK, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  scope.child('wrk', child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`cannot run ${WRK} (${error.message}); install it with apt-get install wrk`)));
    child.once('close', resolve); // not 'exit': the summary may not have been read by then
  });
  const line = output.split('\n').find((l) => l.startsWith(SUMMARY_MARK));
  if (code !== 0 || !line) throw new Error(`wrk ${args.join(' ')} exited with ${code} without a summary:\n${output}`);
  const s = JSON.parse(line.slice(SUMMARY_MARK.length)) as WrkSummary;
  return {
    requests: s.requests,
    requestsPerSecond: s.requests / (s.duration_us / 1e6),
    p50Ms: s.p50_us / 1000,
    p99Ms: s.p99_us / 1000,
    errorResponses: s.status,
    socketErrors: s.connect + s.read + s.write + s.timeout,
  };
}
