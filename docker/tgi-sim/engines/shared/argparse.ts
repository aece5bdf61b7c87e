// The slice of Python's argparse the engines' launchers rely on: `--flag value`, `--flag=value`,
// store_true flags, one optional positional, aliases, and argparse's own error wording and exit
// code 2 for an unknown option, a missing value or a missing required option.

export interface OptionSpec {
  /** The long names, first is the canonical one (e.g. ['--model-path', '--model']). */
  names: string[];
  /** A flag without a value (argparse's store_true). */
  flag?: boolean;
  required?: boolean;
}

export interface ParsedArgs {
  /** Canonical name without dashes → value (`true` for a flag). */
  values: Map<string, string | true>;
  positionals: string[];
}

/** What argparse prints on stderr before exiting 2. */
export class ArgparseError extends Error {
  constructor(readonly usage: string, readonly prog: string, detail: string) {
    super(`${usage}\n${prog}: error: ${detail}`);
  }
}

function canonical(spec: OptionSpec): string {
  return spec.names[0].replace(/^--/, '');
}

export function parseArguments(argv: string[], specs: OptionSpec[], options: { prog: string; usage: string; maxPositionals: number; underscoresAsDashes?: boolean }): ParsedArgs {
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) for (const name of spec.names) byName.set(name, spec);
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  const unrecognized: string[] = [];
  const fail = (detail: string): never => {
    throw new ArgparseError(options.usage, options.prog, detail);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const short = !arg.startsWith('--') && byName.has(arg.split('=')[0]);
    if (!arg.startsWith('--') && !short) {
      if (arg.startsWith('-') && arg.length > 1) unrecognized.push(arg);
      else if (positionals.length < options.maxPositionals) positionals.push(arg);
      else unrecognized.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(0, eq) : arg;
    // vLLM's FlexibleArgumentParser takes --max_model_len for --max-model-len.
    if (options.underscoresAsDashes && !short) name = `--${name.slice(2).replace(/_/g, '-')}`;
    const spec = byName.get(name);
    if (!spec) {
      unrecognized.push(arg);
      continue;
    }
    if (spec.flag) {
      if (eq >= 0) fail(`argument ${spec.names.join('/')}: ignored explicit argument '${arg.slice(eq + 1)}'`);
      values.set(canonical(spec), true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[i + 1];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) fail(`argument ${spec.names.join('/')}: expected one argument`);
    if (eq < 0) i++;
    values.set(canonical(spec), value);
  }
  const missing = specs.filter((spec) => spec.required && !values.has(canonical(spec)));
  if (missing.length > 0) fail(`the following arguments are required: ${missing.map((spec) => spec.names.join('/')).join(', ')}`);
  if (unrecognized.length > 0) fail(`unrecognized arguments: ${unrecognized.join(' ')}`);
  return { values, positionals };
}

/** An int/float option, with argparse's "invalid int value" error. */
export function numberOption(parsed: ParsedArgs, name: string, fallback: number, kind: 'int' | 'float', error: (detail: string) => never): number {
  const raw = parsed.values.get(name);
  if (raw === undefined || raw === true) return fallback;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || (kind === 'int' && !Number.isInteger(value))) error(`argument --${name}: invalid ${kind} value: '${raw}'`);
  return value;
}

export function stringOption(parsed: ParsedArgs, name: string): string | undefined {
  const raw = parsed.values.get(name);
  return raw === undefined || raw === true ? undefined : raw;
}
