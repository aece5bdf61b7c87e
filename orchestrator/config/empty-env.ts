import type { ResolvedModel } from './expand.ts';
import type { InterpolationResult } from './interpolate.ts';
import type { Path, Problem } from './problem.ts';

// An env value that expands to nothing (`HF_TOKEN: ${HF_TOKEN}` with HF_TOKEN unset, or `${HF_TOKEN:-}`)
// is left out of the server's environment rather than passed as `HF_TOKEN=`: to TGI and huggingface_hub
// an empty token is a token, and an empty MAX_TOTAL_TOKENS a parse error. A value written empty (`A: ""`)
// is kept. The model then gets the variable from defaults.env, if set there.

export interface EmptiedEnv {
  /** defaults.env.NAME or models[i].env.NAME. */
  path: Path;
  name: string;
  /** Variables of the reference that are unset (none for `${VAR:-}` or a variable set to ""). */
  unset: string[];
}

const TOKEN_VARIABLES = ['HF_TOKEN', 'HF_API_TOKEN'];

/** The env entries among the emptied values. */
export function emptiedEnv(emptied: InterpolationResult['emptied']): EmptiedEnv[] {
  return emptied.flatMap(({ path, unset }) => {
    const inDefaults = path.length === 3 && path[0] === 'defaults' && path[1] === 'env';
    const inModel = path.length === 4 && path[0] === 'models' && path[2] === 'env';
    return inDefaults || inModel ? [{ path, name: String(path.at(-1)), unset }] : [];
  });
}

/** Deletes those entries from the parsed document (the YAML itself keeps them, for locating problems). */
export function leaveOut(data: unknown, entries: readonly EmptiedEnv[]): void {
  for (const { path } of entries) {
    let node: unknown = data;
    for (const segment of path.slice(0, -1)) node = (node as Record<string | number, unknown> | undefined)?.[segment];
    if (node && typeof node === 'object') delete (node as Record<string, unknown>)[path.at(-1) as string];
  }
}

/**
 * What to tell the operator about each entry left out: that gated models will fail without HF_TOKEN,
 * or that a variable is not set. Nothing when every model it would reach gets the variable elsewhere,
 * or when it was meant to be empty (`${VAR:-}`) and is no token.
 */
export function leftOutNotes(entries: readonly EmptiedEnv[], models: readonly ResolvedModel[]): Problem[] {
  return entries.flatMap(({ path, name, unset }) => {
    const reached = path[0] === 'defaults' ? models : models.filter((m) => m.index === path[1]);
    const without = reached.filter((m) => m.env[name] === undefined);
    if (!without.length) return [];
    if (TOKEN_VARIABLES.includes(name) && without.some(mightBeGated)) {
      return [{
        path,
        message: `${name} is not set: gated models will fail`,
        hint: `export ${name}=hf_… before starting (a token saved by \`huggingface-cli login\` in the mounted Hugging Face cache works too); public models need none`,
      }];
    }
    if (!unset.length) return [];
    const variables = unset.map((v) => `\${${v}}`).join(', ');
    return [{ path, message: `${variables} ${unset.length === 1 ? 'is' : 'are'} not set, so ${name} is left out of the environment`, hint: `export ${unset[0]}=… before starting, or write \${${unset[0]}:-default}` }];
  });
}

/** A model downloaded from the Hugging Face hub by a real TGI (not a folder, not the simulator). */
function mightBeGated(model: ResolvedModel): boolean {
  return model.runtime !== 'simulator' && !/^[./~]/.test(model.modelId) && !TOKEN_VARIABLES.some((v) => model.env[v]);
}
