import { z } from 'zod';
import { closestMatch } from './did-you-mean.ts';
import { launcherFlag } from './launcher-flags.ts';
import type { Path, Problem } from './problem.ts';

// Turns zod's issues into operator-facing problems: one per unknown key with a "did you mean" hint,
// "`x` is required" for missing keys, and for a union the explanation of the branch the value came
// closest to (e.g. the bad element of `gpus: [0, -1]`) rather than a bare "Invalid input". A problem
// without a hint of its own gets the key's description and example from the schema (schema.ts `about`).

type Issue = z.core.$ZodIssue;

/** Keys that are easy to get wrong in a way edit distance cannot guess. */
const KNOWN_CONFUSIONS: Record<string, string> = {
  max_input_length: 'TGI renamed it: write `max_input_tokens`',
  num_shard: 'the shard count comes from gpus: write gpus: [[0, 1]] for one replica sharded over GPUs 0 and 1',
  max_concurrent_requests: 'the gateway cap per deployment goes under `limits: { max_concurrent_requests }`; TGI\'s own flag under `launcher_args`',
  model: 'the Hugging Face model is `model_id`',
};

export function problemsFromZod(issues: readonly Issue[], schema: z.ZodType, prefix: Path): Problem[] {
  return issues.flatMap((issue) => describe(issue, schema, prefix, [])).map((problem) => (problem.hint ? problem : withHint(problem, schema, prefix)));
}

function withHint(problem: Problem, schema: z.ZodType, prefix: Path): Problem {
  const hint = exampleHint(schema, problem.path.slice(prefix.length));
  return hint ? { ...problem, hint } : problem;
}

function describe(issue: Issue, schema: z.ZodType, prefix: Path, base: Path): Problem[] {
  const relative = [...base, ...(issue.path as (string | number)[])];
  const path = [...prefix, ...relative];
  const last = relative.at(-1);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = keysAt(schema, relative) ?? [];
      return issue.keys.map((key) => ({ path: [...path, key], at: 'key' as const, message: `unknown key \`${key}\``, hint: unknownKeyHint(key, known) }));
    }
    case 'invalid_union': {
      const branch = closestBranch(issue.errors);
      return branch ? branch.flatMap((inner) => describe(inner, schema, prefix, relative)) : [{ path, message: issue.message }];
    }
    case 'invalid_type':
      if (issue.input === undefined && typeof last === 'string') return [{ path, message: `\`${last}\` is required` }];
      if (issue.input === null && typeof last === 'string') return [{ path, message: `\`${last}\` has no value: ${issue.message}` }];
      return [{ path, message: issue.message }];
    case 'invalid_key':
      return [{ path, at: 'key', message: `\`${String(last)}\` is not a valid key here: ${issue.issues.map((inner) => inner.message).join('; ')}` }];
    case 'invalid_value': {
      const guess = typeof issue.input === 'string' ? closestMatch(issue.input, issue.values.map(String)) : undefined;
      const choices = issue.values.map((v) => `\`${String(v)}\``).join(', ');
      const confusion = typeof last === 'string' && typeof issue.input === 'string' ? launcherFlag(last)?.confusions?.[issue.input.toLowerCase()] : undefined;
      return [{ path, message: `${JSON.stringify(issue.input)} is not one of ${choices}`, hint: confusion ?? (guess ? `did you mean \`${guess}\`?` : undefined) }];
    }
    default:
      return [{ path, message: issue.message }];
  }
}

function unknownKeyHint(key: string, known: readonly string[]): string {
  if (KNOWN_CONFUSIONS[key]) return KNOWN_CONFUSIONS[key];
  const guess = closestMatch(key, known);
  if (guess) return `did you mean \`${guess}\`?`;
  const valid = `valid keys here: ${known.join(', ')}`;
  return known.includes('launcher_args') ? `${valid}; any other TGI launcher flag goes under launcher_args` : valid;
}

/**
 * The union branch the value came closest to: the one whose problems lie deepest in the value, or that
 * matched the type and failed a check. None when every branch rejected the value's type outright.
 */
function closestBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | undefined {
  let best: { issues: readonly Issue[]; score: number } | undefined;
  for (const issues of branches) {
    const score = Math.max(...issues.map(closeness));
    if (score > 0 && (!best || score > best.score)) best = { issues, score };
  }
  return best?.issues;
}

function closeness(issue: Issue): number {
  const depth = issue.path.length * 2;
  if (issue.code === 'invalid_union') return depth + Math.max(0, ...issue.errors.flat().map(closeness));
  return depth + (issue.code === 'invalid_type' || issue.code === 'invalid_value' ? 0 : 1);
}

interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

/** The keys an object schema allows at `path` (through optional, default, pipe, array, record, union). */
function keysAt(schema: z.ZodType | undefined, path: Path): string[] | undefined {
  if (!schema) return undefined;
  const def = defOf(schema);
  const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  if (inner) return keysAt(inner, path);
  if (def.type === 'union') {
    for (const option of def.options ?? []) {
      const keys = keysAt(option, path);
      if (keys) return keys;
    }
    return undefined;
  }
  if (path.length === 0) return def.type === 'object' ? Object.keys(def.shape ?? {}) : undefined;
  const [segment, ...rest] = path;
  if (def.type === 'object') return keysAt(def.shape?.[String(segment)], rest);
  if (def.type === 'array') return keysAt(def.element, rest);
  if (def.type === 'record') return keysAt(def.valueType, rest);
  return undefined;
}

/**
 * "what the key holds, e.g. `key: example`" from the description and example of the schema at `path`,
 * or of the nearest key above it that has them.
 */
function exampleHint(schema: z.ZodType, path: Path): string | undefined {
  let found: { key: string | number | undefined; description: string; example: unknown } | undefined;
  let layer: z.ZodType | undefined = schema;
  let key: string | number | undefined;
  for (let i = 0; layer; i++) {
    for (const wrapped of layers(layer)) {
      const meta = z.globalRegistry.get(wrapped);
      if (typeof meta?.description === 'string') found = { key, description: meta.description, example: (meta.examples as unknown[] | undefined)?.[0] };
    }
    if (i === path.length) break;
    key = path[i];
    layer = child(layer, key);
  }
  if (!found) return undefined;
  if (found.example === undefined) return found.description;
  return `${found.description}, e.g. ${typeof found.key === 'string' ? `\`${found.key}: ${inlineYaml(found.example)}\`` : `\`${inlineYaml(found.example)}\``}`;
}

/** A schema and the schemas it wraps (optional, nullable, default, the input side of a transform). */
function layers(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  const inner = def.innerType ?? (def.type === 'pipe' ? def.in : undefined);
  return inner ? [schema, ...layers(inner)] : [schema];
}

/** The schema of `segment` inside `schema`: an object's key, an array's element, a record's value. */
function child(schema: z.ZodType, segment: string | number): z.ZodType | undefined {
  for (const layer of layers(schema)) {
    const def = defOf(layer);
    if (def.type === 'object') return def.shape?.[String(segment)] ?? def.catchall;
    if (def.type === 'array') return def.element;
    if (def.type === 'record') return def.valueType;
    if (def.type === 'union') {
      for (const option of def.options ?? []) {
        const found = child(option, segment);
        if (found) return found;
      }
    }
  }
  return undefined;
}

/** A value as it is written inline in YAML: `[1, 2]`, `{ a: 1 }`, `"${HF_TOKEN}"`. */
function inlineYaml(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inlineYaml).join(', ')}]`;
  if (value && typeof value === 'object') return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${inlineYaml(v)}`).join(', ')} }`;
  if (typeof value === 'string' && (/[{}[\]#"'`$]|:\s|^\s|\s$/.test(value) || /^(true|false|null|~|[-+]?\d+(\.\d+)?)$/i.test(value))) return JSON.stringify(value);
  return String(value);
}
