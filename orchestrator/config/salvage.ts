import type { z } from 'zod';
import type { Path } from './problem.ts';

// What is left of a value that failed its schema once the keys with problems are taken out, so the
// rules across keys (names, GPUs, TGI's checks) still run on the rest: a model with a bad `dtype` and a
// reserved name is told about both. The keys taken out are reported so rules that need them hold back.

export interface Salvaged<T> {
  /** The value without the keys that had problems, when that passes the schema. */
  data?: T;
  /** Paths of the keys taken out, `depth` segments at most (['runtime'], ['defaults', 'runtime']). */
  dropped: Path[];
}

export function salvage<T>(schema: z.ZodType<T>, value: unknown, issues: readonly z.core.$ZodIssue[], depth: number): Salvaged<T> {
  if (!isMap(value)) return { dropped: [] };
  const rest = structuredClone(value);
  const dropped: Path[] = [];
  for (const issue of issues) {
    const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
    for (const path of paths) {
      const cut = path.slice(0, depth) as (string | number)[];
      if (!cut.length) return { dropped: [] };
      if (remove(rest, cut)) dropped.push(cut);
    }
  }
  const again = schema.safeParse(rest);
  return again.success ? { data: again.data, dropped } : { dropped };
}

function remove(value: Record<string, unknown>, path: readonly (string | number)[]): boolean {
  let node: unknown = value;
  for (const segment of path.slice(0, -1)) node = isMap(node) ? node[segment] : undefined;
  const last = String(path.at(-1));
  if (!isMap(node) || !(last in node)) return false;
  delete node[last];
  return true;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return Boolean(value) && typeof value === 'object' && !Array.isArray(value);
}
