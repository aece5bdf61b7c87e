// `npm run conformance -- --url http://HOST:PORT [--engine tgi|vllm|sglang] [--token T] [--payload-limit BYTES]`
// Runs the cases of docs/tgi-contract.md (or, with --engine, docs/vllm-contract.md /
// docs/sglang-contract.md) against such a server (or anything that claims to be one: the
// simulator, a gateway route) and prints one line per case: pass, differ (with what differed)
// or skip (with why). Exit 0 when no case differs, 1 when one does, 2 for a usage error.
import { parseArgs } from 'node:util';
import type { Case } from './case.ts';
import { CASES } from './cases/index.ts';
import { probeServer, type Context } from './context.ts';
import { probeEngine, type OpenAiEngine } from './engines/context.ts';
import { ENGINE_CASES } from './engines/index.ts';
import { Differ, Skip } from './expect.ts';

const USAGE = 'usage: npm run conformance -- --url http://HOST:PORT [--engine tgi|vllm|sglang (default tgi)] [--token TOKEN] [--payload-limit BYTES (default 2000000)]';

type Engine = 'tgi' | OpenAiEngine;

type Verdict = 'pass' | 'differ' | 'skip';

interface Result {
  testCase: Case<any>;
  verdict: Verdict;
  detail: string;
}

function parseCommandLine(): { url: string; token?: string; payloadLimit: number; engine: Engine } {
  try {
    const { values } = parseArgs({ options: { url: { type: 'string' }, token: { type: 'string' }, engine: { type: 'string', default: 'tgi' }, 'payload-limit': { type: 'string', default: '2000000' }, help: { type: 'boolean', short: 'h' } } });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    if (!values.url) throw new Error('--url is required');
    const payloadLimit = Number(values['payload-limit']);
    if (!Number.isInteger(payloadLimit) || payloadLimit < 1) throw new Error(`--payload-limit must be a whole number of bytes, not "${values['payload-limit']}"`);
    const engine = values.engine as Engine;
    if (!['tgi', 'vllm', 'sglang'].includes(engine)) throw new Error(`--engine must be tgi, vllm or sglang, not "${values.engine}"`);
    return { url: values.url, token: values.token, payloadLimit, engine };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : error}\n${USAGE}`);
    process.exit(2);
  }
}

async function runCase<C>(testCase: Case<C>, ctx: C): Promise<Result> {
  try {
    await testCase.run(ctx);
    return { testCase, verdict: 'pass', detail: '' };
  } catch (error) {
    if (error instanceof Skip) return { testCase, verdict: 'skip', detail: error.message };
    if (error instanceof Differ) return { testCase, verdict: 'differ', detail: error.message };
    return { testCase, verdict: 'differ', detail: `request failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function printTable(results: Result[]): void {
  const sectionWidth = Math.max(...results.map((r) => r.testCase.section.length));
  console.log(`${'verdict'.padEnd(7)}  ${'section'.padEnd(sectionWidth)}  case`);
  for (const { testCase, verdict, detail } of results) {
    console.log(`${verdict.padEnd(7)}  ${testCase.section.padEnd(sectionWidth)}  ${testCase.name}${detail ? `\n${' '.repeat(9)}↳ ${detail}` : ''}`);
  }
}

function report(results: Result[]): never {
  printTable(results);
  const count = (verdict: Verdict) => results.filter((r) => r.verdict === verdict).length;
  console.log(`\n${results.length} cases: ${count('pass')} pass, ${count('differ')} differ, ${count('skip')} skipped`);
  process.exit(count('differ') === 0 ? 0 : 1);
}

async function runEngineCases(engine: OpenAiEngine, url: string, token: string | undefined): Promise<never> {
  let ctx;
  try {
    ctx = await probeEngine({ url, token }, engine);
  } catch (error) {
    console.error(`conformance: cannot reach a ${engine} server at ${url}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  console.log(`conformance: ${url} serves ${ctx.model} (${engine}; max_model_len ${ctx.maxModelLen}; metrics: ${ctx.metrics ? 'yes' : 'no'})\n`);
  const results: Result[] = [];
  for (const testCase of ENGINE_CASES[engine]) results.push(await runCase(testCase, ctx));
  report(results);
}

async function main(): Promise<void> {
  const { url, token, payloadLimit, engine } = parseCommandLine();
  if (engine !== 'tgi') await runEngineCases(engine, url, token);
  let ctx: Context;
  try {
    ctx = await probeServer({ url, token }, payloadLimit);
  } catch (error) {
    console.error(`conformance: cannot reach a TGI server at ${url}: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
  console.log(`conformance: ${url} serves ${ctx.info.model_id} (TGI ${ctx.info.version}; chat template: ${ctx.chat ? 'yes' : 'no'}; grammar: ${ctx.grammar ? 'on' : 'off'})\n`);
  const results: Result[] = [];
  for (const testCase of CASES) results.push(await runCase(testCase, ctx));
  report(results);
}

await main();
