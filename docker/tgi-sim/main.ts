// tgi-sim: a stand-in for Hugging Face TGI 3.3.x's text-generation-launcher (see USAGE and
// docs/tgi-contract.md), or with SIM_ENGINE=vllm / sglang for `vllm serve` (docs/vllm-contract.md)
// or `python -m sglang.launch_server` (docs/sglang-contract.md). Runs as a local process
// (`tsx docker/tgi-sim/main.ts …`) and, bundled, as the FROM-scratch image tgi-sim:local
// (scripts/build-sim-image.sh).
import { TGI_VERSION } from './app.ts';
import { chosenEngine } from './engines/engine-choice.ts';
import { runEngine } from './engines/run-engine.ts';
import { runLauncher } from './lifecycle.ts';
import { parseCommand, SettingsError, USAGE } from './settings.ts';

function main(): void {
  let engine;
  try {
    engine = chosenEngine(process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  if (engine !== 'tgi') {
    runEngine(engine, process.argv.slice(2), process.env).catch((error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    });
    return;
  }
  let command;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(error.exitCode);
  }
  if (command.kind === 'help') return void process.stdout.write(USAGE);
  if (command.kind === 'version') return void process.stdout.write(`text-generation-launcher ${TGI_VERSION} (simulator)\n`);
  runLauncher(command.settings).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}

main();
