// `vllm serve MODEL [options]` (vllm/entrypoints/cli/serve.py, vllm/engine/arg_utils.py,
// vllm/entrypoints/openai/cli_args.py): the options the simulator acts on, the common ones it
// accepts and ignores, and argparse's refusal (exit 2) of anything else. FlexibleArgumentParser
// also takes --max_model_len for --max-model-len.
import { ArgparseError, numberOption, parseArguments, stringOption, type OptionSpec } from '../shared/argparse.ts';
import { readEngineKnobs, type EngineKnobs } from '../shared/sim-knobs.ts';

export const VLLM_VERSION = '0.11.0';

export interface VllmSettings {
  model: string;
  servedModelName: string;
  host: string;
  port: number;
  maxModelLen: number;
  tensorParallelSize: number;
  gpuMemoryUtilization: number;
  maxNumSeqs: number;
  apiKey?: string;
  /** Only the non-default arguments, as vLLM logs them at start-up. */
  nonDefault: Record<string, string | number | boolean>;
  knobs: EngineKnobs;
}

export type VllmCommand = { kind: 'serve'; settings: VllmSettings } | { kind: 'help' } | { kind: 'version' };

const USAGE = 'usage: vllm serve [model_tag] [options]';
const PROG = 'vllm serve';

const ACTED_ON: OptionSpec[] = [
  { names: ['--model'] },
  { names: ['--served-model-name'] },
  { names: ['--host'] },
  { names: ['--port'] },
  { names: ['--max-model-len'] },
  { names: ['--tensor-parallel-size', '-tp'] },
  { names: ['--gpu-memory-utilization'] },
  { names: ['--max-num-seqs'] },
  { names: ['--api-key'] },
];

const VALUED_IGNORED = [
  '--tokenizer', '--revision', '--tokenizer-revision', '--dtype', '--quantization', '--download-dir', '--load-format', '--seed',
  '--kv-cache-dtype', '--block-size', '--swap-space', '--cpu-offload-gb', '--max-num-batched-tokens', '--pipeline-parallel-size',
  '--data-parallel-size', '--distributed-executor-backend', '--chat-template', '--tool-call-parser', '--reasoning-parser',
  '--generation-config', '--hf-token', '--max-logprobs', '--limit-mm-per-prompt', '--max-lora-rank', '--lora-modules',
  '--uvicorn-log-level', '--root-path', '--response-role', '--allowed-origins', '--config', '--hf-overrides', '--override-generation-config',
  '--compilation-config', '-O', '--speculative-config', '--task', '--runner', '--trust-request-chat-template',
];
const FLAGS_IGNORED = [
  '--trust-remote-code', '--enforce-eager', '--enable-prefix-caching', '--no-enable-prefix-caching', '--enable-chunked-prefill',
  '--no-enable-chunked-prefill', '--disable-log-requests', '--enable-log-requests', '--disable-log-stats', '--enable-auto-tool-choice',
  '--enable-lora', '--disable-frontend-multiprocessing', '--disable-fastapi-docs', '--disable-custom-all-reduce', '--enable-expert-parallel',
];

// vLLM's boolean arguments are argparse BooleanOptionalActions: each also has its `--no-` form.
const BOOLEAN_FORMS = FLAGS_IGNORED.flatMap((name) => (name.startsWith('--no-') ? [name] : [name, `--no-${name.slice(2)}`]));

const SPECS: OptionSpec[] = [...ACTED_ON, ...VALUED_IGNORED.map((name) => ({ names: [name] })), ...[...new Set(BOOLEAN_FORMS)].map((name) => ({ names: [name], flag: true }))];

export function parseVllmCommand(argv: string[], env: NodeJS.ProcessEnv): VllmCommand {
  // The image's entrypoint is the simulator, so `vllm serve …` may come with or without `vllm`.
  const args = argv[0] === 'vllm' ? argv.slice(1) : argv;
  if (args.includes('--version')) return { kind: 'version' };
  if (args[0] !== 'serve') throw new ArgparseError('usage: vllm [-h] [-v] {chat,complete,serve,bench,collect-env,run-batch} ...', 'vllm', `argument subparser: invalid choice: '${args[0] ?? ''}' (choose from 'chat', 'complete', 'serve', 'bench', 'collect-env', 'run-batch')`);
  const rest = args.slice(1);
  if (rest.includes('-h') || rest.includes('--help')) return { kind: 'help' };
  const parsed = parseArguments(rest, SPECS, { prog: PROG, usage: USAGE, maxPositionals: 1, underscoresAsDashes: true });
  const error = (detail: string): never => {
    throw new ArgparseError(USAGE, PROG, detail);
  };
  const model = parsed.positionals[0] ?? stringOption(parsed, 'model') ?? 'Qwen/Qwen3-0.6B';
  const maxModelLen = numberOption(parsed, 'max-model-len', 4096, 'int', error);
  const nonDefault: Record<string, string | number | boolean> = {};
  if (parsed.positionals[0]) nonDefault.model_tag = parsed.positionals[0];
  for (const [name, value] of parsed.values) nonDefault[name.replace(/-/g, '_')] = value === true || Number.isNaN(Number(value)) ? value : Number(value);
  if (nonDefault.api_key !== undefined) nonDefault.api_key = '***';
  return {
    kind: 'serve',
    settings: {
      model,
      servedModelName: stringOption(parsed, 'served-model-name') ?? model,
      host: stringOption(parsed, 'host') ?? '0.0.0.0',
      port: numberOption(parsed, 'port', 8000, 'int', error),
      maxModelLen,
      tensorParallelSize: numberOption(parsed, 'tensor-parallel-size', 1, 'int', error),
      gpuMemoryUtilization: numberOption(parsed, 'gpu-memory-utilization', 0.9, 'float', error),
      maxNumSeqs: numberOption(parsed, 'max-num-seqs', 256, 'int', error),
      apiKey: stringOption(parsed, 'api-key') ?? env.VLLM_API_KEY,
      nonDefault,
      knobs: readEngineKnobs(env),
    },
  };
}

export const VLLM_HELP = `${USAGE}

Start the vLLM OpenAI Compatible API server (simulated by tgi-sim, SIM_ENGINE=vllm).

Options acted on:
  model_tag / --model MODEL            [default: Qwen/Qwen3-0.6B]
  --served-model-name NAME             [default: the model]
  --host HOST                          [default: 0.0.0.0]
  --port PORT                          [default: 8000]
  --max-model-len N                    [default: 4096]
  --tensor-parallel-size, -tp N        [default: 1]
  --gpu-memory-utilization F           [default: 0.9]
  --max-num-seqs N                     [default: 256]
  --api-key KEY                        (or VLLM_API_KEY) /v1 routes want Authorization: Bearer KEY
Common vLLM options (--dtype, --quantization, --trust-remote-code, …) are accepted and ignored; others are refused.
Simulator env: SIM_LOAD_SECONDS, SIM_TOKENS_PER_SECOND, SIM_CRASH_ON_LOAD, SIM_CRASH_AFTER_REQUESTS, SIM_HANG.
`;
