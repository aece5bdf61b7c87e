import type { ResolvedModel } from './expand.ts';
import type { Path, Problem } from './problem.ts';
import { LAUNCHER_KEYS, type RawDefaults, type RawGateway } from './schema.ts';

// Rules across keys and models that the schema cannot express (GPU placement is in placement.ts).
// Route keys (<name>/<gpuLabel>) are unique because names are unique and a model uses a GPU once.

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A fleet name goes into container names, Docker labels and lock file names. */
const FLEET_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** First path segments the gateway itself answers. */
const RESERVED_NAMES = new Set(['v1', 'info', 'health', 'metrics', 'ui', 'api', 'prometheus', 'generate', 'generate_stream', 'tokenize', 'ping', 'docs', 'favicon.ico']);
/** Launcher flags the orchestrator sets itself. */
const MANAGED_FLAGS: Record<string, string> = {
  model_id: 'it is the model\'s `model_id`',
  num_shard: 'it is the number of GPUs of each replica: write gpus: [[0, 1]] to shard over two',
  sharded: 'it follows from gpus: write gpus: [[0, 1]] to shard over two',
  port: 'the orchestrator picks the port',
  hostname: 'the orchestrator picks the address',
};
/** Environment variables that would break the GPU pinning or the routing if set by hand. */
const MANAGED_ENV: Record<string, string> = {
  MODEL_ID: 'use `model_id`',
  NUM_SHARD: 'the shard count is the number of GPUs per replica (gpus: [[0, 1]])',
  PORT: 'the orchestrator picks the port',
  CUDA_VISIBLE_DEVICES: 'the GPUs come from `gpus`',
  NVIDIA_VISIBLE_DEVICES: 'the GPUs come from `gpus`',
};

export interface Validation {
  errors: Problem[];
  warnings: Problem[];
}

export function validateModels(models: readonly ResolvedModel[], defaults: RawDefaults | null | undefined): Validation {
  const result: Validation = { errors: [], warnings: [] };
  checkSettings(defaults, ['defaults'], result.errors);
  const names = new Map<string, number>();
  for (const model of models) {
    const at = (key: string): Path => ['models', model.index, key];
    const nameError = checkName(model.name);
    if (nameError) result.errors.push({ path: at('name'), ...nameError });
    const first = names.get(model.name);
    if (first !== undefined) {
      result.errors.push({ path: at('name'), message: `\`${model.name}\` is already the name of models[${first}]`, hint: 'names are routes (/<name>/gpuN) and must be unique' });
    } else names.set(model.name, model.index);

    if (model.runtime === 'process' && !model.command) {
      result.errors.push({ path: ['models', model.index], message: '`runtime: process` needs `command`, the program to start', hint: 'e.g. command: text-generation-launcher (launcher flags are appended)' });
    }
    if (model.runtime !== 'process' && model.command) {
      result.errors.push({ path: at('command'), message: `\`command\` is only used by \`runtime: process\` (this model runs with ${model.runtime})`, hint: 'remove `command`, or set `runtime: process`' });
    }
    checkSettings(model.raw, ['models', model.index], result.errors);
    checkTokenLimits(model, defaults, result.errors);

    const tgiCap = model.launcher.max_concurrent_requests;
    if (typeof tgiCap === 'number' && tgiCap < model.limits.maxConcurrentRequests) {
      result.warnings.push({
        path: model.raw.launcher_args ? at('launcher_args') : ['defaults', 'launcher_args'],
        message: `TGI's max_concurrent_requests (${tgiCap}) is below the gateway's cap (${model.limits.maxConcurrentRequests}): TGI will answer 429 "Model is overloaded" first`,
        hint: 'lower limits.max_concurrent_requests to match, or leave TGI\'s flag unset',
      });
    }
  }
  return result;
}

export function validateGateway(gateway: RawGateway | null | undefined): Problem[] {
  const fleetError = gateway?.fleet === undefined ? undefined : checkFleetName(gateway.fleet);
  return fleetError ? [{ path: ['gateway', 'fleet'], ...fleetError }] : [];
}

/** Why `name` cannot name a fleet (`gateway.fleet`, `--fleet`), or undefined if it can. */
export function checkFleetName(name: string): Omit<Problem, 'path'> | undefined {
  if (FLEET_NAME.test(name)) return undefined;
  const why =
    name.length === 0 ? 'it is empty'
    : name.length > 32 ? `it is ${name.length} characters long (at most 32)`
    : /[A-Z]/.test(name) ? 'it has uppercase letters'
    : !/^[a-z0-9]/.test(name) ? 'it must start with a lowercase letter or a digit'
    : `it contains ${[...new Set(name.replace(/[a-z0-9-]/g, ''))].map((c) => JSON.stringify(c)).join(', ')}`;
  const suggestion = name.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+/, '').slice(0, 32);
  return {
    message: `\`${name}\` cannot name a fleet: ${why}`,
    hint: `a fleet name is 1–32 of a-z, 0-9 and '-', starting with a letter or digit${FLEET_NAME.test(suggestion) ? `, e.g. \`${suggestion}\`` : ''}`,
  };
}

/** Why `name` cannot be a route segment, or undefined if it can. */
function checkName(name: string): Omit<Problem, 'path'> | undefined {
  if (NAME.test(name)) {
    if (RESERVED_NAMES.has(name)) return { message: `\`${name}\` is reserved: /${name} is a route of the gateway itself`, hint: `choose another name, e.g. \`${name}-model\`` };
    if (/^gpu\d+$/.test(name)) return { message: `\`${name}\` looks like a GPU route segment (/<model>/gpuN)`, hint: 'choose a name that says which model it is' };
    return undefined;
  }
  const why =
    name.length === 0 ? 'it is empty'
    : name.length > 63 ? `it is ${name.length} characters long (at most 63)`
    : /[A-Z]/.test(name) ? 'it has uppercase letters (routes are lowercase)'
    : !/^[a-z0-9]/.test(name) ? 'it must start with a lowercase letter or a digit'
    : `it contains ${[...new Set(name.replace(/[a-z0-9._-]/g, ''))].map((c) => JSON.stringify(c)).join(', ')}`;
  const suggestion = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return {
    message: `\`${name}\` cannot be used in a URL: ${why}`,
    hint: `a name is 1–63 of a-z, 0-9, '.', '_', '-', starting with a letter or digit${NAME.test(suggestion) ? `, e.g. \`${suggestion}\`` : ''}`,
  };
}

function checkSettings(settings: { env?: Record<string, string>; launcher_args?: Record<string, unknown> } | null | undefined, base: Path, errors: Problem[]): void {
  for (const flag of Object.keys(settings?.launcher_args ?? {})) {
    const key = flag.replaceAll('-', '_');
    const path = [...base, 'launcher_args', flag];
    if (MANAGED_FLAGS[key]) errors.push({ path, at: 'key', message: `\`${flag}\` cannot be set in launcher_args`, hint: MANAGED_FLAGS[key] });
    else if ((LAUNCHER_KEYS as string[]).includes(key)) {
      errors.push({ path, at: 'key', message: `\`${key}\` is a key of its own, validated there`, hint: `write \`${key}: …\` next to model_id (or under defaults) instead of under launcher_args` });
    }
  }
  for (const name of Object.keys(settings?.env ?? {})) {
    if (MANAGED_ENV[name]) errors.push({ path: [...base, 'env', name], at: 'key', message: `${name} is set by the orchestrator`, hint: MANAGED_ENV[name] });
  }
}

/** TGI's own start-up checks, so the mistake is reported before a container is created. */
function checkTokenLimits(model: ResolvedModel, defaults: RawDefaults | null | undefined, errors: Problem[]): void {
  const { max_input_tokens: input, max_total_tokens: total, max_batch_prefill_tokens: prefill, max_batch_total_tokens: batchTotal } = model.launcher;
  type TokenKey = 'max_input_tokens' | 'max_total_tokens' | 'max_batch_prefill_tokens' | 'max_batch_total_tokens';
  // Point at the model's own key when one of the two is the model's, so each model reports its own conflict.
  const where = (key: TokenKey, other: TokenKey): Path =>
    model.raw[key] !== undefined ? ['models', model.index, key]
    : model.raw[other] !== undefined ? ['models', model.index, other]
    : defaults?.[key] !== undefined ? ['defaults', key]
    : ['models', model.index];
  if (typeof input === 'number' && typeof total === 'number' && input >= total) {
    errors.push({ path: where('max_input_tokens', 'max_total_tokens'), message: `max_input_tokens (${input}) must be less than max_total_tokens (${total})`, hint: 'max_total_tokens counts the input and the generated tokens together' });
  }
  if (typeof input === 'number' && typeof prefill === 'number' && prefill < input) {
    errors.push({ path: where('max_batch_prefill_tokens', 'max_input_tokens'), message: `max_batch_prefill_tokens (${prefill}) must be at least max_input_tokens (${input})`, hint: 'TGI refuses to start otherwise' });
  }
  if (typeof total === 'number' && typeof batchTotal === 'number' && batchTotal < total) {
    errors.push({ path: where('max_batch_total_tokens', 'max_total_tokens'), message: `max_batch_total_tokens (${batchTotal}) must be at least max_total_tokens (${total})`, hint: 'TGI refuses to start otherwise' });
  }
}
