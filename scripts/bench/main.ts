import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from '../../test/helpers/sim.ts';
import { cleanupEverything, killLeftoverChildren } from './cleanup.ts';
import type { BenchContext } from './context.ts';
import { renderReport, type BenchResults, type Outcome } from './report.ts';
import { benchFairness } from './scenario-fairness.ts';
import { benchFlood } from './scenario-flood.ts';
import { benchMemory } from './scenario-memory.ts';
import { benchStartup } from './scenario-startup.ts';
import { benchStreams } from './scenario-streams.ts';
import { benchThroughput } from './scenario-throughput.ts';

// `npm run bench [-- --only throughput,streams,memory,fairness,flood,startup] [--seconds N] [--rounds N] [--help]`
// Runs the scenarios one after another on this machine, prints the Markdown report and writes it to
// bench-results.md. Set BENCH_CPU_PROF_DIR=<folder> to get a CPU profile of each gateway process.

const SCENARIOS = ['throughput', 'streams', 'memory', 'fairness', 'flood', 'startup'] as const;
type Scenario = (typeof SCENARIOS)[number];
const REPORT_FILE = join(ROOT, 'bench-results.md');

const USAGE = `usage: npm run bench [-- --only ${SCENARIOS.join(',')}] [--seconds N (default 4)] [--rounds N (default 3)]
Runs the scenarios, prints the Markdown report and writes it to bench-results.md.`;

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        only: { type: 'string' },
        seconds: { type: 'string', default: '4' },
        rounds: { type: 'string', default: '3' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    process.exit(2);
  }
}

const args = parseCommandLine();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const only = (args.only?.split(',').map((s) => s.trim()) ?? [...SCENARIOS]) as Scenario[];
const unknown = only.filter((s) => !SCENARIOS.includes(s));
if (unknown.length) {
  console.error(`--only: unknown scenario(s) ${unknown.join(', ')}; choose from ${SCENARIOS.join(', ')}`);
  process.exit(2);
}
const loadSeconds = Number(args.seconds);
const rounds = Number(args.rounds);
if (!(Number.isInteger(loadSeconds) && loadSeconds >= 1 && Number.isInteger(rounds) && rounds >= 1)) {
  console.error('--seconds and --rounds take whole numbers of at least 1');
  process.exit(2);
}

const workDir = await mkdtemp(join(tmpdir(), 'tgi-fleet-bench-'));
process.on('exit', killLeftoverChildren);
/** Set by Ctrl-C / SIGTERM: the handler tears everything down and exits; no further scenario starts. */
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    interrupted = true;
    console.error(`\n${signal}: stopping everything the bench started`);
    await cleanupEverything();
    await rm(workDir, { recursive: true, force: true });
    process.exit(130);
  });
}

const ctx: BenchContext = { workDir, loadSeconds, rounds, progress: (message) => console.error(`[bench] ${message}`) };
const startedAt = new Date();
const loadAverageAtStart = loadavg()[0];

async function attempt<T>(scenario: Scenario, run: (ctx: BenchContext) => Promise<T>): Promise<Outcome<T>> {
  if (!only.includes(scenario) || interrupted) return undefined;
  try {
    return { value: await run(ctx) };
  } catch (error) {
    if (interrupted) return undefined;
    console.error(`[bench] ${scenario} failed: ${error instanceof Error ? error.stack ?? error.message : error}`);
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

let results: BenchResults;
try {
  results = {
    throughput: await attempt('throughput', benchThroughput),
    streams: await attempt('streams', benchStreams),
    memory: await attempt('memory', benchMemory),
    fairness: await attempt('fairness', benchFairness),
    flood: await attempt('flood', benchFlood),
    startup: await attempt('startup', benchStartup),
  };
} finally {
  await rm(workDir, { recursive: true, force: true });
}

if (!interrupted) {
  const report = renderReport(results, {
    startedAt,
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    node: process.version,
    loadAverageAtStart,
    loadAverageAtEnd: loadavg()[0],
    loadSeconds,
    rounds,
  });
  console.log(report);
  await writeFile(REPORT_FILE, report + '\n');
  console.error(`[bench] written to ${REPORT_FILE}`);
  process.exit(Object.values(results).some((o) => o && 'error' in o) ? 1 : 0);
}
