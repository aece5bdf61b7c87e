import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_CONFIG, parsePort } from './options.ts';

const portOption = (value: string) => {
  try {
    return parsePort(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
};

const program = new Command('fleet')
  .description('Serve many LLMs from one multi-GPU host: GPU-pinned TGI servers behind one authenticated gateway')
  .showHelpAfterError();

program
  .command('up')
  .description('start (or adopt) every deployment in models.yaml and serve the gateway; follows edits of the file')
  .option('-c, --config <file>', 'models.yaml to run', DEFAULT_CONFIG)
  .option('-p, --port <port>', 'gateway port (overrides gateway.port)', portOption)
  .option('--state-dir <dir>', 'where the token, logs and runtime state live (default ./.state)')
  .action(async (options) => (await import('./up.ts')).up(options));

program
  .command('down')
  .description('stop (gracefully) and remove every TGI container this project manages')
  .action(async () => process.exit(await (await import('./down.ts')).down()));

program
  .command('status')
  .description('table of deployments: container, GPU, host port, state, uptime, restarts')
  .option('--state-dir <dir>', 'state dir of the running `up`')
  .action(async (options) => process.exit(await (await import('./status.ts')).status(options)));

program
  .command('logs')
  .description('print a deployment\'s server log')
  .argument('<deployment>', 'model/gpuN, e.g. hermes-2-pro-tgi/gpu0')
  .option('-f, --follow', 'keep printing new lines')
  .option('-n, --tail <lines>', 'lines from the end', (v) => Number(v), 100)
  .option('--state-dir <dir>', 'state dir of the running `up` (for simulator and process deployments)')
  .action(async (deployment, options) => process.exit(await (await import('./logs.ts')).logs(deployment, options)));

program
  .command('validate')
  .description('check models.yaml (against this host\'s GPUs when it needs them) without starting anything')
  .option('-c, --config <file>', 'models.yaml to check', DEFAULT_CONFIG)
  .action(async (options) => process.exit(await (await import('./validate.ts')).validate(options)));

program
  .command('token')
  .description('print the gateway token (VALID_TOKEN)')
  .option('--rotate', 'make a new token; the old one keeps working for the grace period')
  .option('--grace <seconds>', 'grace period of the old token when rotating (default 3600)', (v) => Number(v))
  .option('--state-dir <dir>', 'state dir of the gateway')
  .action(async (options) => (await import('./token.ts')).token({ stateDir: options.stateDir, rotate: options.rotate, graceSeconds: options.grace }));

await program.parseAsync();
