import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_CONFIG, parseFleetName, parsePort } from './options.ts';

const asOption = <T>(parse: (value: string) => T) => (value: string) => {
  try {
    return parse(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};
const portOption = asOption(parsePort);
const fleetOption = asOption(parseFleetName);

/** --config, --state-dir and --fleet: which fleet a command acts on, resolved as `up` resolves it. */
function targetOptions(command: Command, action: string): Command {
  return command
    .option('-c, --config <file>', 'models.yaml whose gateway.fleet names the fleet (when --fleet is not given)', DEFAULT_CONFIG)
    .option('--state-dir <dir>', `state dir of the \`up\` to ${action} (default ./.state; a running fleet's own state dir wins)`)
    .option('--fleet <name>', 'the fleet (default: gateway.fleet of --config, else "default")', fleetOption);
}

const program = new Command('fleet')
  .description('Serve many LLMs from one multi-GPU host: GPU-pinned TGI servers behind one authenticated gateway')
  .showHelpAfterError();

program
  .command('up')
  .description('start (or adopt) every deployment in models.yaml and serve the gateway; follows edits of the file')
  .option('-c, --config <file>', 'models.yaml to run', DEFAULT_CONFIG)
  .option('-p, --port <port>', 'gateway port (overrides gateway.port)', portOption)
  .option('--state-dir <dir>', 'where the token, logs and runtime state live (default ./.state)')
  .option('--fleet <name>', 'the fleet to run, owning its containers exclusively (overrides gateway.fleet; default "default")', fleetOption)
  .action(async (options) => (await import('./up.ts')).up(options));

targetOptions(program.command('down'), 'stop')
  .description('stop the fleet\'s running `up` (SIGTERM, it drains), then stop (gracefully) and remove every TGI container of the fleet')
  .action(async (options) => process.exit(await (await import('./down.ts')).down(options)));

targetOptions(program.command('status'), 'ask')
  .description('table of the fleet\'s deployments: container, GPU, host port, state, uptime, restarts')
  .action(async (options) => process.exit(await (await import('./status.ts')).status(options)));

targetOptions(program.command('logs'), 'read (simulator and process deployments log there)')
  .description('print a deployment\'s server log')
  .argument('<deployment>', 'model/gpuN, e.g. hermes-2-pro-tgi/gpu0')
  .option('-f, --follow', 'keep printing new lines')
  .option('-n, --tail <lines>', 'lines from the end', (v) => Number(v), 100)
  .action(async (deployment, options) => process.exit(await (await import('./logs.ts')).logs(deployment, options)));

program
  .command('validate')
  .description('check models.yaml (against this host\'s GPUs when it needs them) without starting anything')
  .option('-c, --config <file>', 'models.yaml to check', DEFAULT_CONFIG)
  .action(async (options) => process.exit(await (await import('./validate.ts')).validate(options)));

program
  .command('token')
  .description('print the gateway token (VALID_TOKEN) of a state dir; only `up` creates one')
  .option('--rotate', 'make a new token; the old one keeps working for the grace period')
  .option('--grace <seconds>', 'grace period of the old token when rotating (default 3600)', (v) => Number(v))
  .option('--state-dir <dir>', 'state dir of the gateway (default ./.state)')
  .action(async (options) => process.exit(await (await import('./token.ts')).token({ stateDir: options.stateDir, rotate: options.rotate, graceSeconds: options.grace })));

await program.parseAsync();
