import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { emptiedEnv, leaveOut, leftOutNotes } from './empty-env.ts';
import { resolveFleet, resolveGateway, resolveHfCache, resolveModel, toDeployments } from './expand.ts';
import { interpolateDocument } from './interpolate.ts';
import { placeReplicas, type RunningPlacement } from './placement.ts';
import { formatPath, type Path, type Problem } from './problem.ts';
import { salvage } from './salvage.ts';
import { defaultsSchema, fileSchema, modelSchema } from './schema.ts';
import { SourceMap } from './source.ts';
import { syntaxIssues } from './syntax-errors.ts';
import type { ConfigIssue, FleetConfig, GpuInfo } from './types.ts';
import { validateGateway, validateModels } from './validate.ts';
import { problemsFromZod } from './zod-issues.ts';

// models.yaml → FleetConfig, or every problem in it located by file:line:column and key path.
// Stages: YAML syntax → ${VAR} expansion (env values that expand to nothing left out) → schema (each
// model on its own, so one bad model hides no other problem; what fails is checked further without its
// bad keys) → cross-key rules, TGI's own checks and GPU placement → defaults applied, one DeploymentSpec
// per replica. Never throws for bad input.

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

export function loadConfigText(text: string, file: string, options: LoadOptions = {}): LoadResult {
  const env = options.env ?? process.env;
  const shown = displayPath(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true });
  const source = new SourceMap(doc, lines);
  const issue = (p: Problem): ConfigIssue => ({
    file: shown,
    ...source.position(p.path, p.at),
    path: formatPath(p.path),
    message: p.message,
    ...(p.hint && { hint: p.hint }),
    ...(p.kind && { kind: p.kind }),
  });

  if (doc.errors.length) return { ok: false, issues: syntaxIssues(text, doc.errors, source, shown) };
  if (doc.contents === null) {
    return { ok: false, issues: [{ file: shown, line: 1, column: 1, path: '', message: 'the file is empty', hint: 'see models.yaml in the repository for an example' }] };
  }

  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const expansion = interpolateDocument(doc, env);
  const leftOut = emptiedEnv(expansion.emptied);
  errors.push(...expansion.errors);
  warnings.push(...expansion.warnings.filter((w) => !leftOut.some((entry) => formatPath(entry.path) === formatPath(w.path))));

  const data: unknown = doc.toJS();
  leaveOut(data, leftOut);
  // A part that fails its schema is reported, then checked further without its bad keys (salvage.ts).
  const parsedTop = fileSchema.safeParse(data, { reportInput: true });
  if (!parsedTop.success) errors.push(...problemsFromZod(parsedTop.error.issues, fileSchema, []));
  const top = parsedTop.success ? { data: parsedTop.data, dropped: [] } : salvage(fileSchema, data, parsedTop.error.issues, 2);
  const rawModels = (data as { models?: unknown } | null)?.models;
  const entries = Array.isArray(rawModels) ? rawModels : [];
  const parsed = entries.flatMap((entry, index) => {
    const model = modelSchema.safeParse(entry, { reportInput: true });
    if (model.success) return [{ model: model.data, index, dropped: [] as string[] }];
    errors.push(...problemsFromZod(model.error.issues, modelSchema, ['models', index]));
    const rest = salvage(modelSchema, entry, model.error.issues, 1);
    return rest.data ? [{ model: rest.data, index, dropped: rest.dropped.map(String) }] : [];
  });

  if (!top.data) return { ok: false, issues: ordered(errors.map(issue)) };
  const defaults = top.data.defaults;
  const configDir = path.dirname(path.resolve(file));
  const gateway = resolveGateway(top.data.gateway, configDir, env);
  const unreadDefaults = droppedDefaults(top.dropped);
  const resolved = parsed.map(({ model, index, dropped }) => {
    const uncertain = new Set([...dropped, ...[...unreadDefaults].filter((key) => (model as Record<string, unknown>)[key] === undefined)]);
    return resolveModel(model, index, defaults, gateway, uncertain);
  });
  const validation = validateModels(resolved, defaults);
  const placement = placeReplicas(resolved, options.gpus, options.running);
  errors.push(...validateGateway(top.data.gateway), ...validation.errors, ...placement.errors);
  warnings.push(...validation.warnings, ...leftOutNotes(leftOut, resolved));
  if (entries.length === 0) warnings.push({ path: ['models'], message: 'no models: the gateway will serve no model routes', hint: 'add a model under `models:` (see models.yaml in the repository)' });
  if (errors.length) return { ok: false, issues: ordered(errors.map(issue)) };

  const hfCache = resolveHfCache(defaults, env, configDir);
  const deployments = resolved.flatMap((model) => toDeployments(model, placement.replicaGpus.get(model.index) ?? [], hfCache));
  return { ok: true, config: { file: path.resolve(file), fleet: resolveFleet(top.data.gateway), gateway, deployments }, warnings: ordered(warnings.map(issue)) };
}

/** The settings of `defaults` that could not be read: every one of them when `defaults` itself could not. */
function droppedDefaults(dropped: readonly Path[]): Set<string> {
  const keys = new Set<string>();
  for (const path of dropped) {
    if (path[0] !== 'defaults') continue;
    if (path.length === 1) for (const key of Object.keys(defaultsSchema.shape)) keys.add(key);
    else keys.add(String(path[1]));
  }
  return keys;
}

/**
 * The headline over a list of issues: `models.yaml is invalid`, or `models.yaml cannot run on this host`
 * when every issue is the host's (a GPU it lacks, an inventory it cannot read) and the file itself is fine.
 */
export function rejectionHeadline(file: string, issues: readonly ConfigIssue[]): string {
  return issues.length && issues.every((i) => i.kind === 'host') ? `${file} cannot run on this host` : `${file} is invalid`;
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
