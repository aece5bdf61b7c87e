// Log lines in the format TGI's launcher and router print (Rust tracing-subscriber):
//   2025-01-01T12:00:00.123456Z  INFO shard-manager: text_generation_launcher: Starting shard rank=0
// or, with --json-output, one JSON object per line. Lines written in the same turn of the event
// loop go out in one write (the router logs every request); whatever is pending is written when the
// process exits (stdout is synchronous for files, pipes and terminals on Linux), so nothing is lost.

export type Level = 'INFO' | 'WARN' | 'ERROR';

export interface LogLine {
  level?: Level;
  /** Rust module path, e.g. text_generation_launcher. */
  target: string;
  message: string;
  /** Span prefix, e.g. "download" or "shard-manager". */
  span?: string;
  /** Trailing key=value fields, e.g. { rank: 0 }. */
  fields?: Record<string, string | number>;
}

export const LAUNCHER = 'text_generation_launcher';
export const ROUTER = 'text_generation_router::server';
export const BACKEND = 'text_generation_router_v3';

let jsonOutput = false;

export function useJsonOutput(enabled: boolean): void {
  jsonOutput = enabled;
}

function timestamp(): string {
  // tracing prints microseconds; Date has milliseconds.
  const micros = String(Math.floor(performance.now() * 1000) % 1000).padStart(3, '0');
  return new Date().toISOString().replace('Z', `${micros}Z`);
}

function formatLine(line: LogLine, at = timestamp()): string {
  const level = line.level ?? 'INFO';
  const fields = Object.entries(line.fields ?? {});
  if (jsonOutput) {
    return JSON.stringify({
      timestamp: at,
      level,
      fields: { message: line.message, ...Object.fromEntries(fields) },
      target: line.target,
      ...(line.span ? { span: { name: line.span } } : {}),
    });
  }
  const span = line.span ? `${line.span}: ` : '';
  const trailer = fields.map(([key, value]) => ` ${key}=${value}`).join('');
  return `${at} ${level.padStart(5)} ${span}${line.target}: ${line.message}${trailer}`;
}

let pending = '';

/** Writes the pending lines now (before writing to stderr, so the two keep their order). */
export function flushLog(): void {
  if (!pending) return;
  process.stdout.write(pending);
  pending = '';
}

process.on('exit', flushLog);

export function emit(line: LogLine): void {
  if (!pending) setImmediate(flushLog);
  pending += formatLine(line) + '\n';
}

/** A duration the way Rust's Debug prints one: 45.2µs, 12.345ms, 1.500000s. */
export function rustDuration(ms: number): string {
  if (ms < 1) return `${(ms * 1000).toFixed(1)}µs`;
  if (ms < 1000) return `${ms.toFixed(3)}ms`;
  return `${(ms / 1000).toFixed(6)}s`;
}
