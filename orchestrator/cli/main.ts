import { Command, InvalidArgumentError } from 'commander';
import { parsePositive } from './keys.ts';
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

program
  .command('gateway')
  .description('one more gateway (for a load balancer) serving the routes, token and API keys of the fleet whose `up` uses --state-dir; it follows them and starts, stops or adopts nothing')
  .option('--state-dir <dir>', 'state dir of the `up` to follow (default ./.state)')
  .option('-p, --port <port>', "port to listen on (default the fleet's gateway.port, which its up usually holds)", portOption)
  .option('--host <address>', "address to listen on (default the fleet's gateway.host)")
  .action(async (options) => (await import('./gateway.ts')).gateway(options));

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

const keys = program.command('keys').description('named API keys besides VALID_TOKEN: scoped to models, with their own limits; a running gateway follows changes within a second');
const keysOptions = (command: Command) =>
  command
    .option('--state-dir <dir>', 'state dir of the gateway (default ./.state)')
    .option('-c, --config <file>', "the fleet's models.yaml: its gateway.keys_file, when set, is where the keys are kept instead of the state dir (default ./models.yaml)");
const positive = (option: string, whole = false) => asOption((v) => parsePositive(v, option, { whole }));
/** A key's scope, limits and expiry, as `keys add` sets them and `keys set` changes them. */
const keySettings = (command: Command) =>
  command
    .option('--models <patterns>', "models it may use, comma-separated, * as wildcard (default: all), e.g. 'hermes-*,llava-*'")
    .option('--rps <n>', 'requests per second across the key (token bucket)', positive('--rps'))
    .option('--burst <n>', 'bucket size for --rps (default: --rps rounded up)', positive('--burst', true))
    .option('--tpm <n>', 'tokens per minute, prompt + generated (sliding 60 s window)', positive('--tpm', true))
    .option('--max-concurrent <n>', 'requests in flight across the key', positive('--max-concurrent', true))
    .option('--expires <duration>', 'it stops working after this long (from now), e.g. 30d, 12h');
keySettings(keysOptions(keys.command('add')))
  .description('make a key NAME (lowercase letters, digits, dashes); prints API_KEY=<key> once')
  .argument('<name>')
  .action(async (name, options) => process.exit(await (await import('./keys.ts')).addKey(name, options)));
keySettings(keysOptions(keys.command('set')))
  .description("change a key's scope, limits or expiry; its value (what the tenant holds) stays; a running gateway applies it within a second")
  .argument('<name>')
  .option('--unset <settings>', 'take settings away, comma-separated: models (all models again), rps (with its burst), burst, tpm, max-concurrent, expires')
  .action(async (name, options) => process.exit(await (await import('./keys.ts')).setKey(name, options)));
keysOptions(keys.command('list'))
  .description('name, scope, limits, created, expires, state, last use and usage totals of each key')
  .action(async (options) => process.exit(await (await import('./keys.ts')).listKeys(options)));
keysOptions(keys.command('revoke'))
  .description('stop a key at once (a running gateway refuses it within a second)')
  .argument('<name>')
  .action(async (name, options) => process.exit(await (await import('./keys.ts')).revokeKey(name, options)));
keysOptions(keys.command('rotate'))
  .description('give a key a new value; prints API_KEY=<key> once; the old value keeps working for the grace period')
  .argument('<name>')
  .option('--grace <duration>', 'how long the old value keeps working (default 1h), e.g. 10m, 30s')
  .action(async (name, options) => process.exit(await (await import('./keys.ts')).rotateKey(name, options)));

await program.parseAsync();
