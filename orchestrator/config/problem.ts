// A problem found while loading models.yaml, before it is placed in the file (see source.ts).

/** Key path inside the YAML document: map keys and sequence indices, e.g. ['models', 1, 'gpus']. */
export type Path = readonly (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  hint?: string;
  /** Point at the key itself rather than its value (unknown keys). */
  at?: 'key';
  /** A problem of this host (a GPU it lacks) rather than of the file. */
  kind?: 'host';
}

/** ['models', 1, 'gpus'] → "models[1].gpus". */
export function formatPath(path: Path): string {
  return path.map((segment, i) => (typeof segment === 'number' ? `[${segment}]` : i === 0 ? segment : `.${segment}`)).join('');
}
