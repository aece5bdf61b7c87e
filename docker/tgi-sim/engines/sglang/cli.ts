// `python -m sglang.launch_server --model-path … [options]` (python/sglang/srt/server_args.py
// ServerArgs.add_cli_args): the options the simulator acts on, common ones accepted and ignored,
// argparse's refusal (exit 2) of anything else, and --model-path required.
import { ArgparseError, numberOption, parseArguments, stringOption, type OptionSpec } from '../shared/argparse.ts';
import { readEngineKnobs, type EngineKnobs } from '../shared/sim-knobs.ts';

export const SGLANG_VERSION = '0.5.5';

export interface SglangSettings {
  modelPath: string;
  servedModelName: string;
  host: string;
  port: number;
  contextLength: number;
  tpSize: number;
  memFractionStatic: number;
  maxRunningRequests: number;
  enableMetrics: boolean;
  apiKey?: string;
  knobs: EngineKnobs;
}

export type SglangCommand = { kind: 'serve'; settings: SglangSettings } | { kind: 'help' };

const USAGE = 'usage: launch_server.py [-h] --model-path MODEL_PATH [--tokenizer-path TOKENIZER_PATH] [--host HOST] [--port PORT] [options]';
const PROG = 'launch_server.py';

const ACTED_ON: OptionSpec[] = [
  { names: ['--model-path', '--model'], required: true },
  { names: ['--served-model-name'] },
  { names: ['--host'] },
  { names: ['--port'] },
  { names: ['--context-length'] },
  { names: ['--tp-size', '--tensor-parallel-size', '--tp'] },
  { names: ['--mem-fraction-static'] },
  { names: ['--max-running-requests'] },
  { names: ['--enable-metrics'], flag: true },
  { names: ['--api-key'] },
];

const VALUED_IGNORED = [
  '--tokenizer-path', '--revision', '--dtype', '--quantization', '--kv-cache-dtype', '--load-format', '--download-dir', '--random-seed',
  '--chunked-prefill-size', '--max-prefill-tokens', '--max-total-tokens', '--schedule-policy', '--dp-size', '--pp-size', '--ep-size',
  '--attention-backend', '--sampling-backend', '--grammar-backend', '--tool-call-parser', '--reasoning-parser', '--chat-template',
  '--log-level', '--log-level-http', '--cuda-graph-max-bs', '--watchdog-timeout', '--device', '--nnodes', '--node-rank', '--dist-init-addr',
  '--speculative-algorithm', '--lora-paths', '--max-loras-per-batch', '--stream-interval', '--file-storage-path', '--hf-chat-template-name',
];
const FLAGS_IGNORED = [
  '--trust-remote-code', '--skip-tokenizer-init', '--disable-radix-cache', '--disable-cuda-graph', '--enable-torch-compile', '--enable-cache-report',
  '--log-requests', '--show-time-cost', '--disable-custom-all-reduce', '--enable-dp-attention', '--allow-auto-truncate', '--enable-lora', '--skip-server-warmup',
];

const SPECS: OptionSpec[] = [...ACTED_ON, ...VALUED_IGNORED.map((name) => ({ names: [name] })), ...FLAGS_IGNORED.map((name) => ({ names: [name], flag: true }))];

/** Drops `python -m sglang.launch_server` (or `python3 …`) in front of the options. */
function optionsOnly(argv: string[]): string[] {
  const at = argv.indexOf('sglang.launch_server');
  return at >= 0 ? argv.slice(at + 1) : argv;
}

export function parseSglangCommand(argv: string[], env: NodeJS.ProcessEnv): SglangCommand {
  const args = optionsOnly(argv);
  if (args.includes('-h') || args.includes('--help')) return { kind: 'help' };
  const parsed = parseArguments(args, SPECS, { prog: PROG, usage: USAGE, maxPositionals: 0 });
  const error = (detail: string): never => {
    throw new ArgparseError(USAGE, PROG, detail);
  };
  const modelPath = stringOption(parsed, 'model-path')!;
  return {
    kind: 'serve',
    settings: {
      modelPath,
      servedModelName: stringOption(parsed, 'served-model-name') ?? modelPath,
      host: stringOption(parsed, 'host') ?? '127.0.0.1',
      port: numberOption(parsed, 'port', 30000, 'int', error),
      contextLength: numberOption(parsed, 'context-length', 4096, 'int', error),
      tpSize: numberOption(parsed, 'tp-size', 1, 'int', error),
      memFractionStatic: numberOption(parsed, 'mem-fraction-static', 0.88, 'float', error),
      maxRunningRequests: numberOption(parsed, 'max-running-requests', 256, 'int', error),
      enableMetrics: parsed.values.get('enable-metrics') === true,
      apiKey: stringOption(parsed, 'api-key'),
      knobs: readEngineKnobs(env),
    },
  };
}

export const SGLANG_HELP = `${USAGE}

Launch the SGLang runtime server (simulated by tgi-sim, SIM_ENGINE=sglang).

Options acted on:
  --model-path, --model PATH           required
  --served-model-name NAME             [default: the model path]
  --host HOST                          [default: 127.0.0.1]
  --port PORT                          [default: 30000]
  --context-length N                   [default: 4096]
  --tp-size, --tp N                    [default: 1]
  --mem-fraction-static F              [default: 0.88]
  --max-running-requests N             [default: 256]
  --enable-metrics                     serve /metrics
  --api-key KEY                        every route but /health wants Authorization: Bearer KEY
Common SGLang options (--dtype, --trust-remote-code, …) are accepted and ignored; others are refused.
Simulator env: SIM_LOAD_SECONDS, SIM_WARMUP_SECONDS, SIM_TOKENS_PER_SECOND, SIM_CRASH_ON_LOAD, SIM_CRASH_AFTER_REQUESTS, SIM_HANG.
`;
