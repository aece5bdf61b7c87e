// Entry for SIM_ENGINE=vllm|sglang: the engine's CLI, its argparse errors (stderr, exit 2), and its
// launcher.
import { ArgparseError } from './shared/argparse.ts';
import { parseSglangCommand, SGLANG_HELP } from './sglang/cli.ts';
import { runSglang } from './sglang/launcher.ts';
import { parseVllmCommand, VLLM_HELP, VLLM_VERSION } from './vllm/cli.ts';
import { runVllm } from './vllm/launcher.ts';

function parsed<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof ArgparseError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
}

export async function runEngine(engine: 'vllm' | 'sglang', argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (engine === 'vllm') {
    const command = parsed(() => parseVllmCommand(argv, env));
    if (command.kind === 'help') return void process.stdout.write(VLLM_HELP);
    if (command.kind === 'version') return void process.stdout.write(`${VLLM_VERSION}\n`);
    return runVllm(command.settings);
  }
  const command = parsed(() => parseSglangCommand(argv, env));
  if (command.kind === 'help') return void process.stdout.write(SGLANG_HELP);
  return runSglang(command.settings);
}
