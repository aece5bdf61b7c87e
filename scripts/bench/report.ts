import type { FairnessResult, KeyShare } from './scenario-fairness.ts';
import { CONCURRENCY as FAIR_CONCURRENCY, OVERLOAD, RATIO } from './scenario-fairness.ts';
import type { FloodResult } from './scenario-flood.ts';
import { FLOOD_CONNECTIONS } from './scenario-flood.ts';
import type { MemoryResult } from './scenario-memory.ts';
import { TARGET_STREAMS } from './scenario-memory.ts';
import type { StartupResult } from './scenario-startup.ts';
import { CONTAINERS } from './scenario-startup.ts';
import type { StreamStats, StreamsResult } from './scenario-streams.ts';
import { IDLE_BEFORE_STREAM_MS, TOKENS_PER_SECOND } from './scenario-streams.ts';
import type { ThroughputResult } from './scenario-throughput.ts';
import { CONCURRENCY, TARGETS } from './scenario-throughput.ts';

// The bench's Markdown: first the targets (measured, goal, met), then the numbers behind them.

/** A scenario's outcome: its result, why it failed, or undefined when it was not run (--only). */
export type Outcome<T> = { value: T } | { error: string } | undefined;

export interface BenchResults {
  throughput: Outcome<ThroughputResult>;
  streams: Outcome<StreamsResult>;
  memory: Outcome<MemoryResult>;
  fairness: Outcome<FairnessResult>;
  flood: Outcome<FloodResult>;
  startup: Outcome<StartupResult>;
}

export interface RunInfo {
  startedAt: Date;
  cpu: string;
  cores: number;
  node: string;
  loadAverageAtStart: number;
  loadAverageAtEnd: number;
  loadSeconds: number;
  rounds: number;
}

const MET = (ok: boolean) => (ok ? 'yes' : '**no**');
const ms = (v: number) => `${v.toFixed(2)} ms`;
const signedMs = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)} ms`;
const rps = (v: number) => Math.round(v).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1024 ** 2).toFixed(0)} MB`;
const pct = (v: number) => `${(v * 100).toFixed(0)} %`;

type Row = [target: string, measured: string, goal: string, met: string];

export function renderReport(results: BenchResults, run: RunInfo): string {
  const out: string[] = [];
  out.push('## Benchmark (`npm run bench`)', '');
  out.push(
    `One run on ${run.cpu} (${run.cores} cores), Node ${run.node}, ${run.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; ` +
      `load average ${run.loadAverageAtStart.toFixed(2)} at the start, ${run.loadAverageAtEnd.toFixed(2)} at the end. ` +
      'Every comparison is against a baseline measured in the same run.',
    '',
  );
  out.push('| Target | Measured | Goal | Met |', '|---|---|---|---|');
  for (const row of targetRows(results)) out.push(`| ${row.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`);
  out.push('');

  if (results.throughput && 'value' in results.throughput) out.push(...throughputSection(results.throughput.value, run));
  if (results.streams && 'value' in results.streams) out.push(...streamsSection(results.streams.value));
  if (results.memory && 'value' in results.memory) out.push(...memorySection(results.memory.value));
  if (results.fairness && 'value' in results.fairness) out.push(...fairnessSection(results.fairness.value));
  if (results.flood && 'value' in results.flood) out.push(...floodSection(results.flood.value));
  return out.join('\n');
}

function targetRows(results: BenchResults): Row[] {
  return [
    ...rowsOf(results.throughput, 'Throughput and latency (non-streaming)', (t) => {
      const ratio = (level: keyof typeof CONCURRENCY, baseline: 'nginx' | 'express+hpm' = 'nginx') =>
        t.gateway[level].requestsPerSecond / t[baseline][level].requestsPerSecond;
      const added = (target: 'gateway' | 'nginx' | 'node:http' | 'undici') => t[target].single.p50Ms - t.direct.single.p50Ms;
      const clientRatio = t.undici.high.requestsPerSecond / t['node:http'].high.requestsPerSecond;
      return [
        [`Gateway throughput ÷ nginx, ${CONCURRENCY.high} connections (API key with every limit set, queue on)`, `${ratio('high').toFixed(2)}× (${rps(t.gateway.high.requestsPerSecond)} vs ${rps(t.nginx.high.requestsPerSecond)} req/s)`, '≥ 0.7×', MET(ratio('high') >= 0.7)],
        [`Gateway throughput ÷ nginx, 1 connection`, `${ratio('single').toFixed(2)}× (${rps(t.gateway.single.requestsPerSecond)} vs ${rps(t.nginx.single.requestsPerSecond)} req/s)`, '(reference)', '–'],
        [`Gateway throughput ÷ Express+http-proxy-middleware, ${CONCURRENCY.high} connections`, `${ratio('high', 'express+hpm').toFixed(2)}× (${rps(t.gateway.high.requestsPerSecond)} vs ${rps(t['express+hpm'].high.requestsPerSecond)} req/s)`, '(reference)', '–'],
        ['Added p50 latency, gateway vs direct, 1 connection', `${signedMs(added('gateway'))} (${ms(t.gateway.single.p50Ms)} vs ${ms(t.direct.single.p50Ms)})`, '≤ 0.5 ms', MET(added('gateway') <= 0.5)],
        [`Cost of gateway.redis_url: throughput with ÷ without, ${CONCURRENCY.high} connections`, `${(t['gateway+redis'].high.requestsPerSecond / t.gateway.high.requestsPerSecond).toFixed(2)}× (${rps(t['gateway+redis'].high.requestsPerSecond)} vs ${rps(t.gateway.high.requestsPerSecond)} req/s); p50 at 1 connection ${signedMs(t['gateway+redis'].single.p50Ms - t.gateway.single.p50Ms)}`, '(reported)', '–'],
        ['Added p50 latency, nginx vs direct, 1 connection', `${signedMs(added('nginx'))} (${ms(t.nginx.single.p50Ms)} vs ${ms(t.direct.single.p50Ms)})`, '(reference)', '–'],
        ['Added p50 latency, a textbook node:http proxy vs direct, 1 connection', `${signedMs(added('node:http'))} (${ms(t['node:http'].single.p50Ms)} vs ${ms(t.direct.single.p50Ms)}); the gateway: ${signedMs(added('gateway') - added('node:http'))} against it`, '(reference)', '–'],
        [`Upstream client: the textbook proxy on undici ÷ on node:http, throughput at ${CONCURRENCY.high} connections`, `${clientRatio.toFixed(2)}× (${rps(t.undici.high.requestsPerSecond)} vs ${rps(t['node:http'].high.requestsPerSecond)} req/s); added p50 at 1 connection ${signedMs(added('undici'))} vs ${signedMs(added('node:http'))}`, '(reference: why the relay uses undici)', '–'],
      ];
    }),
    ...rowsOf(results.streams, 'Streams', (s) => {
      const added = (path: StreamStats) => signedMs(path.ttftP50Ms - s.direct.ttftP50Ms);
      return [
        ['Added time to first token, gateway vs direct (p50, API key)', `${signedMs(s.addedTtftMs)} (${ms(s.gateway.ttftP50Ms)} vs ${ms(s.direct.ttftP50Ms)})`, '≤ 0.5 ms', MET(s.addedTtftMs <= 0.5)],
        ['Added time to first token vs direct (p50): nginx / textbook Node proxy on node:http / on undici', `${added(s.nginx)} / ${added(s.nodeHttp)} / ${added(s.undici)}`, '(reference)', '–'],
        ['Added time to first token vs direct (p50): a bare Node byte relay, no HTTP (the floor under any Node gateway here)', `${added(s.tcpRelay)} (${ms(s.tcpRelay.ttftP50Ms)} vs ${ms(s.direct.ttftP50Ms)})`, '(reference)', '–'],
        ['Added time to first token on a kept-alive connection (as the SDKs call), gateway vs direct (p50)', `${signedMs(s.gatewayKeptAlive.ttftP50Ms - s.directKeptAlive.ttftP50Ms)} (${ms(s.gatewayKeptAlive.ttftP50Ms)} vs ${ms(s.directKeptAlive.ttftP50Ms)})`, '(reference)', '–'],
        ['Event spacing through the gateway vs direct (gap p50 / p99)', `${ms(s.gateway.gapP50Ms)} / ${ms(s.gateway.gapP99Ms)} vs ${ms(s.direct.gapP50Ms)} / ${ms(s.direct.gapP99Ms)}`, `(reference: one event every ${(1000 / TOKENS_PER_SECOND).toFixed(0)} ms)`, '–'],
        ['Socket reads holding more than one event, through the gateway', `${s.gateway.coalescedReads} (of ${s.gateway.events} events; direct: ${s.direct.coalescedReads})`, '0', MET(s.gateway.coalescedReads === 0)],
      ];
    }),
    ...rowsOf(results.memory, 'Memory', (m) => {
      const limited = m.streams < TARGET_STREAMS ? ` — the open-files limit here (${m.openFilesLimit.toLocaleString('en-US')}) holds no more than ${m.streams.toLocaleString('en-US')} (two sockets each in the gateway), not ${TARGET_STREAMS.toLocaleString('en-US')}` : '';
      const addedGap = m.probeGapP99Ms.gateway - m.probeGapP99Ms.direct;
      return [
        [`Gateway RSS growth with ${m.streams.toLocaleString('en-US')} open streams`, `${mb(m.growthBytes)} (${mb(m.idleRssBytes)} → ${mb(m.withStreamsRssBytes)})${limited}`, '≤ 300 MB', MET(m.growthBytes <= 300 * 1024 ** 2)],
        [`Added per-event delay p99 with ${m.streams.toLocaleString('en-US')} streams open (probe streams' gap p99, gateway − direct)`, `${signedMs(addedGap)} (${ms(m.probeGapP99Ms.gateway)} vs ${ms(m.probeGapP99Ms.direct)})`, '(reference)', '–'],
      ];
    }),
    ...rowsOf(results.fairness, 'Queue fairness', (f) => {
      const lightShare = f.queue.light.served / f.queue.light.offered;
      return [
        [`Light key's requests served, burst of ${OVERLOAD}× capacity from two keys ${RATIO}:1, fair queue`, `${pct(lightShare)} (heavy key: ${pct(f.queue.heavy.served / f.queue.heavy.offered)}); light wait p99 ${ms(f.queue.light.waitP99Ms)}`, '≥ 90 %', MET(lightShare >= 0.9)],
        [`… the same burst with queue_timeout: 0 (429 at once)`, `${pct(f.noQueue.light.served / f.noQueue.light.offered)} (heavy key: ${pct(f.noQueue.heavy.served / f.noQueue.heavy.offered)})`, '(baseline)', '–'],
      ];
    }),
    ...rowsOf(results.flood, 'Connection flood', (f) => {
      const ratio = f.flooded.p99Ms / f.idle.p99Ms;
      return [
        [`Another client's p99 during a ${FLOOD_CONNECTIONS.toLocaleString('en-US')}-connection flood from one address ÷ its idle p99`, `${ratio.toFixed(2)}× (${ms(f.flooded.p99Ms)} vs ${ms(f.idle.p99Ms)}; p50 ${ms(f.flooded.p50Ms)} vs ${ms(f.idle.p50Ms)})`, '≤ 5×', MET(ratio <= 5)],
        ["… that client's failed requests during the flood", `${f.flooded.failures} of ${f.flooded.requests}`, '0', MET(f.flooded.failures === 0)],
      ];
    }),
    ...rowsOf(results.startup, 'Docker start-up', (s): Row[] => {
      if ('skipped' in s) return [[`\`up\` with ${CONTAINERS} containers`, `skipped: ${s.skipped}`, '', '–']];
      const ratio = s.coldStartSeconds / s.loadSeconds;
      return [
        [`\`up\` → ${s.containers} simulator containers ready (${s.loadSeconds} s load each)`, `${s.coldStartSeconds.toFixed(1)} s = ${ratio.toFixed(2)}× the load time (gateway answering after ${s.gatewayAnswersSeconds.toFixed(1)} s)`, `≤ 1.5× (parallel; one at a time would be ${s.containers}×)`, MET(ratio <= 1.5)],
        [`Second \`up\` adopting ${s.containers} running containers`, `${s.adoptSeconds.toFixed(2)} s${s.sameContainers ? ' (same container IDs)' : ' (**containers were replaced**)'}`, '< 2 s, same containers', MET(s.adoptSeconds < 2 && s.sameContainers)],
      ];
    }),
  ];
}

function rowsOf<T>(outcome: Outcome<T>, name: string, rows: (value: T) => Row[]): Row[] {
  if (!outcome) return [];
  if ('error' in outcome) return [[name, `not measured: ${outcome.error.split('\n')[0]}`, '', '**no**']];
  return rows(outcome.value);
}

function throughputSection(t: ThroughputResult, run: RunInfo): string[] {
  const lines = [
    `### Non-streaming: POST /generate, max_new_tokens 1–5, simulator without token pacing`,
    '',
    `The gateway with auth, metrics and rate limiting on, called with an API key whose every limit is set (rate, tokens per minute, concurrency; sized out of the way) and the fair queue on; gateway+redis: the same with gateway.redis_url (a local redis-server: one round trip per admission); nginx as a plain reverse proxy (HTTP/1.1 keep-alive upstream, no buffering); node:http: a textbook Node proxy (read the body, relay it over a keep-alive agent, pipe the answer back), in its own process, no auth or metrics; undici: the same textbook proxy with undici as its upstream client (as the gateway's relay has it); express+hpm: Express 5 with only http-proxy-middleware 3 (keep-alive agent, 256 sockets) in its own process, no auth or metrics. wrk, one thread, ${run.loadSeconds} s per measurement, best of ${run.rounds} interleaved rounds.`,
    '',
    '| Path | Connections | Requests/s | p50 | p99 |',
    '|---|---|---|---|---|',
  ];
  for (const level of Object.keys(CONCURRENCY) as (keyof typeof CONCURRENCY)[]) {
    for (const target of TARGETS) {
      const r = t[target][level];
      lines.push(`| ${target} | ${CONCURRENCY[level]} | ${rps(r.requestsPerSecond)} | ${ms(r.p50Ms)} | ${ms(r.p99Ms)} |`);
    }
  }
  return [...lines, ''];
}

function streamsSection(s: StreamsResult): string[] {
  const row = (name: string, x: StreamsResult['direct']) =>
    `| ${name} | ${x.streams} | ${ms(x.ttftP50Ms)} | ${ms(x.ttftP99Ms)} | ${ms(x.gapP50Ms)} | ${ms(x.gapP99Ms)} | ${x.coalescedReads} of ${x.events} |`;
  return [
    `### Streams: /generate_stream at ${TOKENS_PER_SECOND} tokens/s (an event every ${(1000 / TOKENS_PER_SECOND).toFixed(0)} ms)`,
    '',
    `Raw-socket client, one stream at a time, direct, gateway, nginx (no buffering), the textbook node:http and undici proxies and a bare Node byte relay (no HTTP parsing, its upstream connection opened ahead of time) in turn, each stream after ${IDLE_BEFORE_STREAM_MS} ms idle (so that no path starts sooner for the one that ran before it), a new connection per stream, then direct and gateway again on one kept-alive connection each, after warming the gateway up with unpaced streams. "Gap" is the time between consecutive events.`,
    '',
    '| Path | Streams | TTFT p50 | TTFT p99 | Gap p50 | Gap p99 | Reads with > 1 event |',
    '|---|---|---|---|---|---|---|',
    row('direct', s.direct),
    row('gateway', s.gateway),
    row('nginx', s.nginx),
    row('node:http', s.nodeHttp),
    row('undici', s.undici),
    row('Node byte relay', s.tcpRelay),
    row('direct, kept-alive', s.directKeptAlive),
    row('gateway, kept-alive', s.gatewayKeptAlive),
    '',
  ];
}

function memorySection(m: MemoryResult): string[] {
  return [
    `### Memory: gateway process with ${m.streams.toLocaleString('en-US')} concurrent streams (a token every 2 s each)`,
    '',
    'Each reading follows a full GC in the gateway process.',
    '',
    '| | RSS | Heap used |',
    '|---|---|---|',
    `| idle, warmed up | ${mb(m.idleRssBytes)} | ${mb(m.idleHeapBytes)} |`,
    `| ${m.streams.toLocaleString('en-US')} streams open | ${mb(m.withStreamsRssBytes)} | ${mb(m.withStreamsHeapBytes)} |`,
    `| after closing them | ${mb(m.afterCloseRssBytes)} | |`,
    '',
  ];
}

function fairnessSection(f: FairnessResult): string[] {
  const row = (mode: string, key: string, k: KeyShare) => `| ${mode} | ${key} | ${k.offered} | ${k.served} | ${k.refused} | ${k.failed} | ${ms(k.waitP50Ms)} | ${ms(k.waitP99Ms)} |`;
  return [
    `### Queue fairness: a burst of ${OVERLOAD}× capacity from two API keys, ${RATIO}:1`,
    '',
    `One model with max_concurrent_requests ${FAIR_CONCURRENCY}, each request ${ms(f.serviceMs)} when idle (capacity ≈ ${f.capacityPerSecond.toFixed(0)} requests/s); both keys send on a fixed schedule (open loop), each from its own address. "Wait" is a served request's latency minus the idle service time. With the queue (queue_timeout 3 s) waiting requests are served round-robin across keys; with queue_timeout 0 a request that finds every slot taken gets 429 at once.`,
    '',
    '| Mode | Key | Offered | Served | 429 | Other | Wait p50 | Wait p99 |',
    '|---|---|---|---|---|---|---|---|',
    row('fair queue', 'heavy', f.queue.heavy),
    row('fair queue', 'light', f.queue.light),
    row('queue_timeout: 0', 'heavy', f.noQueue.heavy),
    row('queue_timeout: 0', 'light', f.noQueue.light),
    '',
  ];
}

function floodSection(f: FloodResult): string[] {
  const statuses = Object.entries(f.flood.statuses).map(([status, n]) => `${n.toLocaleString('en-US')} × ${status}`).join(', ') || 'none';
  return [
    `### Connection flood: ${FLOOD_CONNECTIONS.toLocaleString('en-US')} connections from one address`,
    '',
    `The flood (its own process, 127.0.0.1) sends the next request as soon as an answer arrives and reconnects at once when closed; the deployment's rate limit answers it 429, and the gateway keeps at most ${f.maxConnectionsPerClient} connections per address (max_connections_per_client). Meanwhile another client (127.0.0.2) sends ordinary requests one at a time. The flood got ${statuses}; the gateway closed its connections ${f.flood.closedByServer.toLocaleString('en-US')} times (${f.flood.connects.toLocaleString('en-US')} connects).`,
    '',
    '| Other client | Requests | Failed | p50 | p99 |',
    '|---|---|---|---|---|',
    `| idle | ${f.idle.requests} | ${f.idle.failures} | ${ms(f.idle.p50Ms)} | ${ms(f.idle.p99Ms)} |`,
    `| during the flood | ${f.flooded.requests} | ${f.flooded.failures} | ${ms(f.flooded.p50Ms)} | ${ms(f.flooded.p99Ms)} |`,
    '',
  ];
}
