import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { resolveFleet, resolveGateway, resolveHfCache, resolveModel, toDeployments } from './expand.ts';
import { interpolateDocument } from './interpolate.ts';
import { placeReplicas, type RunningPlacement } from './placement.ts';
import { formatPath, type Problem } from './problem.ts';
import { fileSchema, modelSchema } from './schema.ts';
import { SourceMap } from './source.ts';
import type { ConfigIssue, FleetConfig, GpuInfo } from './types.ts';
import { validateGateway, validateModels } from './validate.ts';
import { problemsFromZod } from './zod-issues.ts';

// models.yaml → FleetConfig, or every problem in it located by file:line:column and key path.
// Stages: YAML syntax → ${VAR} expansion → schema (each model on its own, so one bad model hides no
// other problem) → cross-key rules and GPU placement → defaults applied, one DeploymentSpec per replica.
// Never throws for bad input.

export type LoadResult = { ok: true; config: FleetConfig; warnings: ConfigIssue[] } | { ok: false; issues: ConfigIssue[] };

export interface LoadOptions {
  /** Where ${VAR} values come from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** The host's GPUs (readGpus); without it GPU existence is not checked and docker/process `gpus: auto` is an error. */
  gpus?: GpuInfo[];
  /**
   * The deployments running now (the configuration in force on a reload, or adopted containers at start):
   * a model with `gpus: auto` keeps the GPUs it runs on when they are still free for it.
   */
  running?: RunningPlacement[];
}

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : message;
    return {
      ok: false,
      issues: [{ file: displayPath(file), path: '', message: `cannot read the configuration: ${reason}`, hint: 'name the file with `npm run up -- --config FILE` (the default is ./models.yaml)' }],
    };
  }
  return loadConfigText(text, file, options);
}

const SYNTAX_HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'a key may appear only once in the same map',
  TAB_AS_INDENT: 'YAML indents with spaces, not tabs',
  BAD_INDENT: 'check the indentation (keys of one map line up at the same column) and that every [ and { is closed',
  MISSING_CHAR: 'a quote, ] or } is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'quote a value that contains ": "',
};

export function loadConfigText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const shown = displayPath(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const source = new SourceMap(doc, lines);
  const issue = (p: Problem): ConfigIssue => ({ file: shown, ...source.position(p.path, p.at), path: formatPath(p.path), message: p.message, ...(p.hint && { hint: p.hint }) });
  const syntax = (e: YAMLError): ConfigIssue => ({
    file: shown,
    ...source.at(e.pos[0]),
    path: formatPath(source.pathAt(e.pos[0])),
    message: `YAML syntax: ${e.message}`,
    ...(SYNTAX_HINTS[e.code] && { hint: SYNTAX_HINTS[e.code] }),
  });

  if (doc.errors.length) return { ok: false, issues: doc.errors.map(syntax) };
  if (doc.contents === null) {
    return { ok: false, issues: [{ file: shown, line: 1, column: 1, path: '', message: 'the file is empty', hint: 'see models.yaml in the repository for an example' }] };
  }

  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const expansion = interpolateDocument(doc, env);
  errors.push(...expansion.errors);
  warnings.push(...expansion.warnings);

  const data: unknown = doc.toJS();
  const top = fileSchema.safeParse(data, { reportInput: true });
  if (!top.success) errors.push(...problemsFromZod(top.error.issues, fileSchema, []));
  const rawModels = (data as { models?: unknown } | null)?.models;
  const entries = Array.isArray(rawModels) ? rawModels : [];
  const parsed = entries.flatMap((entry, index) => {
    const model = modelSchema.safeParse(entry, { reportInput: true });
    if (model.success) return [{ model: model.data, index }];
    errors.push(...problemsFromZod(model.error.issues, modelSchema, ['models', index]));
    return [];
  });

  if (!top.success) return { ok: false, issues: ordered(errors.map(issue)) };
  const gateway = resolveGateway(top.data.gateway);
  const resolved = parsed.map(({ model, index }) => resolveModel(model, index, top.data.defaults, gateway));
  const validation = validateModels(resolved, top.data.defaults);
  const placement = placeReplicas(resolved, options.gpus, options.running);
  errors.push(...validateGateway(top.data.gateway), ...validation.errors, ...placement.errors);
  warnings.push(...validation.warnings);
  if (entries.length === 0) warnings.push({ path: ['models'], message: 'no models: the gateway will serve no model routes' });
  if (errors.length) return { ok: false, issues: ordered(errors.map(issue)) };

  const hfCache = resolveHfCache(top.data.defaults, env, path.dirname(path.resolve(file)));
  const deployments = resolved.flatMap((model) => toDeployments(model, placement.replicaGpus.get(model.index) ?? [], hfCache));
  return { ok: true, config: { file: path.resolve(file), fleet: resolveFleet(top.data.gateway), gateway, deployments }, warnings: ordered(warnings.map(issue)) };
}

/** One line per issue: `models.yaml:12:7 models[1].gpus: GPU 7 does not exist (…) — hint: …`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `${i.file}${i.line ? `:${i.line}:${i.column}` : ':'} ${i.path ? `${i.path}: ` : ''}${i.message}${i.hint ? ` — hint: ${i.hint}` : ''}`)
    .join('\n');
}

/** In file order, each reported once (a rule broken in `defaults` shows up for every model). */
function ordered(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues
    .filter((i) => {
      const id = `${i.path}\n${i.message}`;
      return !seen.has(id) && Boolean(seen.add(id));
    })
    .sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

/** Relative to the working folder when inside it (as the operator typed it), absolute otherwise. */
function displayPath(file: string): string {
  const relative = path.relative(process.cwd(), path.resolve(file));
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : path.resolve(file);
}
