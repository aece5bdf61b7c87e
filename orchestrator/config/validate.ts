import type { ResolvedModel } from './expand.ts';
import type { Path, Problem } from './problem.ts';
import type { RawDefaults, RawGateway } from './schema.ts';
import { checkEngineRules } from './engine-rules.ts';
import { checkTgiRules, checkWrittenSettings } from './tgi-rules.ts';

// Rules across keys and models that the schema cannot express (GPU placement is in placement.ts, what
// TGI itself would refuse in tgi-rules.ts). Route keys (<name>/<gpuLabel>) are unique because names are
// unique and a model uses a GPU once.

const NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** A fleet name goes into container names, Docker labels and lock file names. */
const FLEET_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** First path segments the gateway itself answers. */
const RESERVED_NAMES = new Set(['v1', 'info', 'health', 'metrics', 'ui', 'api', 'prometheus', 'generate', 'generate_stream', 'tokenize', 'ping', 'docs', 'favicon.ico']);

export interface Validation {
  errors: Problem[];
  warnings: Problem[];
}

export function validateModels(models: readonly ResolvedModel[], defaults: RawDefaults | null | undefined): Validation {
  const result: Validation = { errors: [], warnings: [] };
  checkWrittenSettings(defaults, ['defaults'], result);
  const names = new Map<string, number>();
  for (const model of models) {
    const at = (key: string): Path => ['models', model.index, key];
    const nameError = checkName(model.name);
    if (nameError) result.errors.push({ path: at('name'), ...nameError });
    const first = names.get(model.name);
    if (first !== undefined) {
      result.errors.push({ path: at('name'), message: `\`${model.name}\` is already the name of models[${first}]`, hint: 'names are routes (/<name>/gpuN) and must be unique' });
    } else names.set(model.name, model.index);

    const runtimeKnown = !model.uncertain.has('runtime') && !model.uncertain.has('command');
    if (runtimeKnown && model.runtime === 'process' && !model.command) {
      result.errors.push({ path: ['models', model.index], message: '`runtime: process` needs `command`, the program to start', hint: 'e.g. command: text-generation-launcher (launcher flags are appended)' });
    }
    if (runtimeKnown && model.runtime !== 'process' && model.command) {
      result.errors.push({ path: at('command'), message: `\`command\` is only used by \`runtime: process\` (this model runs with ${model.runtime})`, hint: 'remove `command`, or set `runtime: process`' });
    }
    checkLimitsShape(model, result.errors);
    checkEngineRules(model, result);
    // TGI's own rules are for TGI models only (and not for one whose engine could not be read).
    if (model.uncertain.has('engine') || (model.engine ?? 'tgi') !== 'tgi') continue;
    checkWrittenSettings(model.raw, ['models', model.index], result);
    checkTgiRules(model, defaults, result);

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

/** `limits` in the gateway's shape (rate_limit: {…}) and in the earlier flat one, but not both at once. */
function checkLimitsShape(model: ResolvedModel, errors: Problem[]): void {
  const limits = model.raw.limits;
  for (const key of ['requests_per_second', 'burst'] as const) {
    if (limits?.[key] === undefined) continue;
    const path = ['models', model.index, 'limits', key];
    if (limits.rate_limit?.[key] !== undefined) {
      errors.push({ path, at: 'key', message: `\`${key}\` is given twice: here and under limits.rate_limit`, hint: `keep \`rate_limit: { ${key}: … }\`, the gateway's shape` });
    }
  }
}
