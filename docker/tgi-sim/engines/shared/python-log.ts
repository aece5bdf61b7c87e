// Log output of the Python engines: lines go to stdout as they are written (Python's logging with a
// StreamHandler), each formatted by the engine's own formatter.
export function writeLine(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function two(n: number): string {
  return String(n).padStart(2, '0');
}

/** Python's repr of a dict of simple values: {'port': 8000, 'model': 'x', 'trust_remote_code': True}. */
export function pythonDict(values: Record<string, string | number | boolean | null>): string {
  const repr = (v: string | number | boolean | null) => (v === null ? 'None' : typeof v === 'boolean' ? (v ? 'True' : 'False') : typeof v === 'number' ? String(v) : `'${v}'`);
  return `{${Object.entries(values).map(([k, v]) => `'${k}': ${repr(v)}`).join(', ')}}`;
}
