import type { ResolvedModel } from './expand.ts';
import { closestMatch } from './did-you-mean.ts';
import { LAUNCHER_FLAGS, flagOfEnv, flagSpelling, launcherFlag, type FlagName, type LauncherFlag } from './launcher-flags.ts';
import type { Path, Problem } from './problem.ts';
import type { RawDefaults } from './schema.ts';

// What TGI 3.3.6 would refuse at start, found before anything starts: launcher_args flags, environment
// variables that are launcher flags, values the image's entrypoint would mangle, and the settings TGI's
// launcher, router and server refuse together. Where TGI refuses only for some models or hardware, a
// warning. Each rule names the TGI source it follows (tag v3.3.6; docs/tgi-contract.md has them all).

export interface Findings {
  errors: Problem[];
  warnings: Problem[];
}

/** `defaults` or one model as written: the keys these rules read. */
type Written = { env?: Record<string, string>; launcher_args?: Record<string, unknown> } & { [key: string]: unknown };

/** Environment variables that are not launcher flags but would break the GPU pinning. */
const PINNING_ENV: Record<string, string> = {
  CUDA_VISIBLE_DEVICES: 'the GPUs come from `gpus`',
  NVIDIA_VISIBLE_DEVICES: 'the GPUs come from `gpus`',
};

/** Names people give launcher_args that are not launcher flags, with what they are. */
const NOT_FLAGS: Record<string, string> = {
  max_new_tokens: 'max_new_tokens is a request parameter; the launcher caps a request with max_total_tokens (prompt + generated)',
  max_length: 'the launcher limits requests with max_input_tokens and max_total_tokens',
};

/** How a hint writes a flag in launcher_args, or as its own key, with `value` or the table's example. */
const argsExample = (name: FlagName, flag: LauncherFlag, value?: string) => `launcher_args: { ${name.replaceAll('_', '-')}: ${value ?? flag.example ?? '…'} }`;
const keyExample = (name: FlagName, flag: LauncherFlag, value?: string) =>
  `${name}: ${value ?? (Array.isArray(flag.example) ? `[${flag.example.join(', ')}]` : (flag.example ?? '…'))}`;

/** launcher_args and env of `defaults` or of one model (`base` is where they are written). */
export function checkWrittenSettings(settings: Written | null | undefined, base: Path, found: Findings): void {
  if (!settings) return;
  checkLauncherArgs(settings.launcher_args ?? {}, [...base, 'launcher_args'], found);
  checkEnvironment(settings.env ?? {}, [...base, 'env'], found);
}

// clap rejects a flag `Args` does not declare (launcher/src/main.rs `Args::parse()`).
function checkLauncherArgs(args: Record<string, unknown>, base: Path, found: Findings): void {
  const seen = new Map<string, string>();
  for (const written of Object.keys(args)) {
    const path = [...base, written];
    const flag = launcherFlag(written);
    if (!flag) {
      const guess = closestMatch(written, Object.keys(LAUNCHER_FLAGS));
      found.errors.push({
        path,
        at: 'key',
        message: `TGI 3.3.6's launcher has no flag ${flagSpelling(written.replaceAll('_', '-').toLowerCase())}`,
        hint:
          NOT_FLAGS[written.replaceAll('-', '_').toLowerCase()] ??
          (guess ? `did you mean \`${guess.replaceAll('_', '-')}\`?` : 'docs/tgi-contract.md lists every launcher flag; a setting that is not a flag goes under `env`'),
      });
      continue;
    }
    const earlier = seen.get(flag.name);
    if (earlier !== undefined) {
      found.errors.push({ path, at: 'key', message: `${flagSpelling(flag.name)} is given twice (also as \`${earlier}\`)`, hint: 'keep one of them' });
      continue;
    }
    seen.set(flag.name, written);
    if (flag.owner === 'key') {
      found.errors.push({ path, at: 'key', message: `\`${flag.name}\` is a key of its own, validated there`, hint: `write \`${keyExample(flag.name, flag)}\` next to model_id (or under defaults) instead of under launcher_args` });
    } else if (flag.owner === 'orchestrator' || flag.owner === 'refused') {
      found.errors.push({ path, at: 'key', message: `\`${written}\` cannot be set in launcher_args`, hint: flag.why });
    }
  }
}

// Every launcher flag but --env also reads an environment variable (`#[clap(long, env)]` in
// launcher/src/main.rs `Args`), which slips past every check of models.yaml.
function checkEnvironment(env: Record<string, string>, base: Path, found: Findings): void {
  for (const [variable, value] of Object.entries(env)) {
    const path = [...base, variable];
    if (PINNING_ENV[variable]) {
      found.errors.push({ path, at: 'key', message: `${variable} is set by the orchestrator`, hint: PINNING_ENV[variable] });
      continue;
    }
    const flag = flagOfEnv(variable);
    if (!flag) continue;
    const spelled = flagSpelling(flag.name);
    if (flag.owner === 'orchestrator' || flag.owner === 'refused') {
      found.errors.push({ path, at: 'key', message: `${variable} is TGI's ${spelled}, which cannot be set here`, hint: flag.why });
    } else if (flag.owner === 'key') {
      found.errors.push({
        path,
        at: 'key',
        message: `${variable} is TGI's ${spelled}, which models.yaml sets as \`${flag.name}\``,
        hint: `write \`${keyExample(flag.name, flag, value)}\` next to model_id (or under defaults) instead, where it is checked`,
      });
    } else {
      const refusal = envValueRefusal(flag, value);
      if (refusal) {
        found.errors.push({ path, message: `${JSON.stringify(value)}: TGI's launcher refuses it as ${variable} (${spelled}): ${refusal}`, hint: `write \`${argsExample(flag.name, flag)}\` instead, where it is checked` });
      } else if (flag.name !== 'usage_stats' && !mangledByEntrypoint(value)) {
        // USAGE_STATS is meant to be set here; a value with spaces can only reach TGI through the environment.
        found.warnings.push({
          path,
          at: 'key',
          message: `${variable} is TGI's ${spelled}, passed unchecked through the environment`,
          hint: `write \`${argsExample(flag.name, flag, value)}\` instead, so models.yaml checks it (the environment is only needed for a value with spaces)`,
        });
      }
    }
  }
}

/** Why clap would refuse `value` for `flag` read from its environment variable, or undefined. */
function envValueRefusal(flag: LauncherFlag, value: string): string | undefined {
  const type = flag.type;
  switch (type.kind) {
    case 'enum':
      return type.values.includes(value) ? undefined : `it takes ${type.values.map((v) => `\`${v}\``).join(', ')}`;
    case 'boolean':
    case 'boolean-value':
      // clap's bool parser, the default of a switch (clap 4.5, launcher/Cargo.toml).
      return value === 'true' || value === 'false' ? undefined : 'it takes `true` or `false`';
    case 'integer':
    case 'size':
      return /^\d+$/.test(value) && Number(value) >= (type.kind === 'integer' ? type.min : 1) && Number(value) <= (type.kind === 'integer' ? (type.max ?? Number.MAX_SAFE_INTEGER) : Number.MAX_SAFE_INTEGER)
        ? undefined
        : `it takes a whole number${type.kind === 'integer' && type.min > 0 ? ` of at least ${type.min}` : ''}`;
    case 'number':
      return value.trim() !== '' && Number.isFinite(Number(value)) ? undefined : 'it takes a number';
    case 'integers':
      return /^\d+(,\d+)*$/.test(value) ? undefined : 'it takes batch sizes separated by commas, like 1,2,4,8';
    case 'text':
      return undefined;
  }
}

/**
 * tgi-entrypoint.sh (the ENTRYPOINT of the CUDA and ROCm images) ends in `exec text-generation-launcher $@`,
 * unquoted: bash splits every argument at whitespace and expands `*`, `?` and `[` against the files of
 * the working folder.
 */
function mangledByEntrypoint(value: string): string | undefined {
  if (/\s/.test(value)) return 'the shell splits it at the whitespace';
  const glob = /[*?[]/.exec(value);
  if (glob) return `the shell may expand \`${glob[0]}\` to file names`;
  return undefined;
}

/** TGI's start-up checks on one model's resolved settings. */
export function checkTgiRules(model: ResolvedModel, defaults: RawDefaults | null | undefined, found: Findings): void {
  const launcher = model.launcher;
  const where = (...names: FlagName[]) => whereWritten(model, defaults, names);
  const number = (name: FlagName) => (typeof launcher[name] === 'number' ? (launcher[name] as number) : undefined);
  const input = number('max_input_tokens');
  const total = number('max_total_tokens');
  const prefill = number('max_batch_prefill_tokens');
  const batchTotal = number('max_batch_total_tokens');

  // launcher/src/main.rs main() "Validate args" (and backends/v3/src/main.rs main() again).
  if (input !== undefined && total !== undefined && input >= total) {
    found.errors.push({ path: where('max_input_tokens', 'max_total_tokens'), message: `max_input_tokens (${input}) must be less than max_total_tokens (${total})`, hint: 'max_total_tokens counts the input and the generated tokens together' });
  }
  // launcher/src/main.rs main().
  if (total !== undefined && batchTotal !== undefined && total > batchTotal) {
    found.errors.push({ path: where('max_batch_total_tokens', 'max_total_tokens'), message: `max_batch_total_tokens (${batchTotal}) must be at least max_total_tokens (${total})`, hint: 'TGI refuses to start otherwise: raise max_batch_total_tokens, or leave it unset for TGI to infer' });
  }
  // backends/v3/src/main.rs main(): refused unless the shard reports support_chunking.
  if (input !== undefined && prefill !== undefined && prefill < input) {
    found.warnings.push({
      path: where('max_batch_prefill_tokens', 'max_input_tokens'),
      message: `max_batch_prefill_tokens (${prefill}) is below max_input_tokens (${input}): TGI refuses to start unless the model supports chunked prefill`,
      hint: 'raise max_batch_prefill_tokens to at least max_input_tokens',
    });
  }
  // backends/v3/src/main.rs main(), with backends/v3/src/lib.rs connect_backend(): a model without
  // automatic max-batch-total-tokens keeps the given one and is refused; Flash Attention models replace
  // it with the value inferred at warm-up, which the check then uses.
  if (prefill !== undefined && batchTotal !== undefined && prefill > batchTotal) {
    found.warnings.push({
      path: where('max_batch_prefill_tokens', 'max_batch_total_tokens'),
      message: `max_batch_prefill_tokens (${prefill}) is above max_batch_total_tokens (${batchTotal}): TGI refuses to start for models without Flash Attention (the others ignore max_batch_total_tokens)`,
      hint: 'lower max_batch_prefill_tokens to at most max_batch_total_tokens, or leave max_batch_total_tokens unset',
    });
  }

  checkQuantization(model, where, found);
  checkLoraAdapters(model, where, found);
  // The Intel image starts the launcher directly (Dockerfile_intel ENTRYPOINT), without the shell script.
  if (model.runtime === 'docker' && model.accelerator !== 'intel' && !model.uncertain.has('runtime')) checkEntrypointArguments(model, defaults, found);
}

function checkQuantization(model: ResolvedModel, where: (...names: FlagName[]) => Path, found: Findings): void {
  const { dtype, quantize, kv_cache_dtype: kvCacheDtype } = model.launcher;
  // server/text_generation_server/cli.py serve(): dtype is refused with any quantize but bitsandbytes*.
  if (typeof dtype === 'string' && typeof quantize === 'string' && !quantize.startsWith('bitsandbytes')) {
    found.errors.push({
      path: where('dtype', 'quantize'),
      message: `dtype (${dtype}) cannot go with quantize: ${quantize}`,
      hint: "TGI's server refuses both together unless quantize is a bitsandbytes method: remove dtype (awq, gptq, exl2 and marlin run in float16)",
    });
  }
  // launcher/src/main.rs main() passes config.json's quant_method as quantize when none is given, and
  // cli.py serve() then refuses dtype: only for pre-quantized weights, which the id usually names.
  if (typeof dtype === 'string' && quantize === undefined && /(^|[-_./])(awq|gptq|exl2|marlin|fp8|eetq|compressed-tensors)([-_./]|$)/i.test(model.modelId)) {
    found.warnings.push({
      path: where('dtype'),
      message: `dtype is set and \`${model.modelId}\` looks pre-quantized: TGI takes the quantization from its config.json and then refuses dtype (unless it is bitsandbytes)`,
      hint: 'remove dtype for pre-quantized weights; if the model is not quantized, this warning can be ignored',
    });
  }
  // launcher/src/main.rs main() and server/text_generation_server/models/__init__.py get_model().
  if (quantize === 'exl2' && Array.isArray(model.raw.gpus)) {
    const sharded = model.raw.gpus.findIndex((entry) => Array.isArray(entry) && entry.length > 1);
    if (sharded !== -1) {
      found.errors.push({ path: ['models', model.index, 'gpus', sharded], message: 'exl2 quantization cannot be sharded: TGI refuses to start a replica on several GPUs with it', hint: 'give each replica one GPU (gpus: [0, 1] is two replicas), or use another quantization' });
    }
  }
  // server/text_generation_server/layers/attention/kv_cache.py KVCache.__init__().
  if (kvCacheDtype === 'fp8_e5m2' && model.accelerator === 'amd') {
    found.errors.push({ path: where('kv_cache_dtype'), message: 'kv_cache_dtype fp8_e5m2 is not supported on AMD ROCm: TGI refuses to start with it', hint: 'write `kv_cache_dtype: fp8_e4m3fn`, or leave it unset' });
  }
}

// launcher/src/main.rs main(): each adapter is id[@revision] (or name=path, not downloaded).
function checkLoraAdapters(model: ResolvedModel, where: (...names: FlagName[]) => Path, found: Findings): void {
  const adapters = model.launcher.lora_adapters;
  if (typeof adapters !== 'string') return;
  const bad = adapters.split(',').find((adapter) => !adapter.includes('=') && adapter.split('@').length > 2);
  if (bad) {
    found.errors.push({ path: where('lora_adapters'), message: `\`${bad.trim()}\` is not a LoRA adapter TGI can read: more than one @`, hint: 'write each adapter as org/adapter or org/adapter@revision, separated by commas' });
  }
}

function checkEntrypointArguments(model: ResolvedModel, defaults: RawDefaults | null | undefined, found: Findings): void {
  const modelIdTrouble = mangledByEntrypoint(model.modelId);
  if (modelIdTrouble) {
    found.errors.push({
      path: ['models', model.index, 'model_id'],
      message: `\`${model.modelId}\` would not reach TGI intact: the image's entrypoint passes it through an unquoted $@, and ${modelIdTrouble}`,
      hint: 'a Hugging Face id has none of these characters; for a local folder, use a path without them',
    });
  }
  for (const [name, value] of Object.entries(model.launcher)) {
    if (typeof value !== 'string') continue;
    const trouble = mangledByEntrypoint(value);
    const flag = launcherFlag(name);
    if (!trouble || !flag) continue;
    const path = whereWritten(model, defaults, [flag.name]);
    const inArgs = path.includes('launcher_args');
    found.errors.push({
      path,
      message: `${JSON.stringify(value)} would not reach TGI intact: the image's entrypoint passes arguments through an unquoted $@, and ${trouble}`,
      hint:
        flag.name === 'lora_adapters' ? 'separate the adapters with commas only, without spaces'
        : inArgs && flag.env ? `set it through the environment instead, which the launcher reads as it is: \`env: { ${flag.env}: ${JSON.stringify(value)} }\``
        : 'write the value without whitespace, *, ? or [',
    });
  }
}

/** Where the first of `names` that is written is: the model's own keys first, then those of defaults. */
function whereWritten(model: ResolvedModel, defaults: RawDefaults | null | undefined, names: readonly FlagName[]): Path {
  for (const name of names) {
    const own = writtenAt(model.raw as Written, name);
    if (own) return ['models', model.index, ...own];
  }
  for (const name of names) {
    const inDefaults = writtenAt(defaults as Written | null | undefined, name);
    if (inDefaults) return ['defaults', ...inDefaults];
  }
  return ['models', model.index];
}

function writtenAt(settings: Written | null | undefined, name: FlagName): Path | undefined {
  if (!settings) return undefined;
  if (settings[name] !== undefined) return [name];
  for (const spelling of new Set([name, name.replaceAll('_', '-')])) if (settings.launcher_args?.[spelling] !== undefined) return ['launcher_args', spelling];
  return undefined;
}
