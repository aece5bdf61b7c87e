import type { ResolvedModel } from './expand.ts';
import { OTHER_ENGINES, type Engine, type EngineFacts } from './engines.ts';
import { flagSpelling } from './launcher-flags.ts';
import type { Path, Problem } from './problem.ts';
import { LAUNCHER_KEYS } from './schema.ts';
import type { Findings } from './tgi-rules.ts';

// What a model on vLLM or SGLang may not write: TGI's keys the engine has no equivalent of (with the
// hint that names the engine's own flag), TGI's launcher_args, values the engine does not take, and
// engine_args the orchestrator sets itself. engine_args on a TGI model is refused too. The engines' own
// checks of their flags are theirs: a wrong engine_args fails at start with the engine's usage error.

/** Environment variables that would break the GPU pinning (tgi-rules.ts checks TGI models' env). */
const PINNING_ENV = ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES'];

export function checkEngineRules(model: ResolvedModel, found: Findings): void {
  const engine: Engine = model.engine ?? 'tgi';
  const at = (...path: (string | number)[]): Path => ['models', model.index, ...path];
  if (model.uncertain.has('engine')) return;
  if (engine === 'tgi') {
    if (model.raw.engine_args) {
      found.errors.push({ path: at('engine_args'), at: 'key', message: '`engine_args` is for engine: vllm and engine: sglang (this model runs TGI)', hint: "write TGI's flags under launcher_args, or set engine: vllm / sglang" });
    }
    return;
  }
  const facts = OTHER_ENGINES[engine];
  if (model.raw.launcher_args) {
    found.errors.push({ path: at('launcher_args'), at: 'key', message: `\`launcher_args\` are TGI's launcher flags; this model runs ${facts.label}`, hint: `put ${facts.label}'s own flags under engine_args` });
  }
  for (const key of LAUNCHER_KEYS) {
    if (model.raw[key] === undefined) continue;
    const own = facts.keys[key];
    if (!own) {
      found.errors.push({ path: at(key), at: 'key', message: `\`${key}\` is a TGI setting that ${facts.label} does not have`, hint: facts.equivalents[key] ?? `remove it, or put ${facts.label}'s own flag under engine_args (docs/engines.md)` });
    } else if (own.values && !own.values.includes(String(model.raw[key]))) {
      found.errors.push({ path: at(key), message: `${facts.label} has no ${key} \`${String(model.raw[key])}\` here`, hint: `write one of ${own.values.join(', ')}, or give ${facts.label}'s own value under engine_args: { ${own.flag.replaceAll('_', '-')}: … } without ${key}` });
    }
  }
  checkEngineArgs(model, facts, at, found.errors);
  for (const variable of Object.keys(model.raw.env ?? {})) {
    if (PINNING_ENV.includes(variable)) found.errors.push({ path: at('env', variable), at: 'key', message: `${variable} would undo the GPU pinning`, hint: 'the GPUs come from `gpus`: remove it' });
  }
  if (!model.uncertain.has('accelerator') && model.accelerator !== 'nvidia' && !model.raw.image) {
    found.errors.push({ path: at('accelerator'), message: `there is no default ${facts.label} image for accelerator ${model.accelerator}`, hint: `set image: to a ${facts.label} build for ${model.accelerator} (docs/engines.md)` });
  }
}

function checkEngineArgs(model: ResolvedModel, facts: EngineFacts, at: (...path: (string | number)[]) => Path, errors: Problem[]): void {
  const byFlag = new Map(Object.entries(facts.keys).map(([key, own]) => [own.flag, key]));
  const seen = new Map<string, string>();
  for (const written of Object.keys(model.raw.engine_args ?? {})) {
    const flag = written.replace(/^-+/, '').replaceAll('-', '_');
    const path = at('engine_args', written);
    const earlier = seen.get(flag);
    if (earlier !== undefined) {
      errors.push({ path, at: 'key', message: `${flagSpelling(flag)} is given twice (also as \`${earlier}\`)`, hint: 'keep one of them' });
      continue;
    }
    seen.set(flag, written);
    const set = facts.orchestratorFlags[flag];
    const key = byFlag.get(flag);
    if (set) errors.push({ path, at: 'key', message: `\`${written}\` cannot be set in engine_args`, hint: set });
    else if (key) errors.push({ path, at: 'key', message: `${flagSpelling(flag)} comes from the key \`${key}\``, hint: `write \`${key}: …\` next to model_id instead of under engine_args` });
  }
}
