import { CST, Parser, type YAMLError } from 'yaml';
import { formatPath, type Path } from './problem.ts';
import type { SourceMap } from './source.ts';
import type { ConfigIssue } from './types.ts';

// YAML syntax errors, each mistake once and at the line where it is. The parser notices some mistakes
// lines later than they are made, and reports some twice or more:
// - an unclosed `[`, `{` or quote is reported where the parser gave up (the next key, or the end of the
//   file): it is placed where it opens instead;
// - a line indented deeper than the keys above it continues the previous value, and comes out as two
//   errors at that value: one is kept, placed at the deeper line;
// - what follows a mistake is often misread because of it: only the first mistake is reported, with the
//   duplicate keys after it (those stand on their own). Fixing it shows the next, if any.

const HINTS: Record<string, string> = {
  DUPLICATE_KEY: 'a key may appear only once in the same map',
  TAB_AS_INDENT: 'YAML indents with spaces, not tabs',
  BAD_INDENT: 'check the indentation (keys of one map line up at the same column) and that every [ and { is closed',
  MISSING_CHAR: 'a quote, ] or } is not closed',
  BLOCK_AS_IMPLICIT_KEY: 'quote a value that contains ": "',
  MULTILINE_IMPLICIT_KEY: 'a key ends with ": " (a colon and a space) on its own line',
};
const INDENT_HINT = 'keys of one map line up at the same column: indent this line like the key above it';

interface Mistake {
  offset: number;
  code: string;
  message: string;
  hint?: string;
  /** Where the key path is read, when not at `offset`. */
  path?: Path;
}

export function syntaxIssues(text: string, errors: readonly YAMLError[], source: SourceMap, file: string): ConfigIssue[] {
  const found = mistakes(text, errors, unclosedOpenings(text), source).sort((a, b) => a.offset - b.offset);
  const reported = found.filter((mistake, i) => i === 0 || mistake.code === 'DUPLICATE_KEY');
  const issues: ConfigIssue[] = [];
  for (const mistake of reported) {
    const position = source.at(mistake.offset);
    if (issues.some((i) => i.line === position.line)) continue;
    const path = mistake.path ?? readablePath(source.pathAt(mistake.offset));
    issues.push({ file, ...position, path: formatPath(path), message: `YAML syntax: ${mistake.message}`, ...(mistake.hint && { hint: mistake.hint }) });
  }
  return issues;
}

/** A broken document can make a value look like a key: the path stops before any such segment. */
function readablePath(path: Path): Path {
  const cut = path.findIndex((segment) => typeof segment === 'string' && /\s|:/.test(segment));
  return cut === -1 ? path : path.slice(0, cut);
}

function mistakes(text: string, errors: readonly YAMLError[], unclosed: readonly Opening[], source: SourceMap): Mistake[] {
  const byStart = new Map<number, YAMLError[]>();
  for (const error of errors) byStart.set(error.pos[0], [...(byStart.get(error.pos[0]) ?? []), error]);
  return [...byStart.values()].map((group): Mistake => {
    const [first] = group;
    const codes = new Set(group.map((e) => e.code));
    if (codes.has('MULTILINE_IMPLICIT_KEY') && codes.has('BLOCK_AS_IMPLICIT_KEY')) {
      const deeper = firstNonBlankAfterLine(text, first.pos[0]);
      if (deeper !== undefined) {
        const key = /^([^\s:#]+):/.exec(text.slice(deeper))?.[1];
        const path = readablePath(source.pathAt(first.pos[0])).slice(0, -1);
        return { offset: deeper, code: 'BAD_INDENT', message: 'this line is indented deeper than the keys above it, so it continues the value of the line before', hint: INDENT_HINT, path: key ? [...path, key] : path };
      }
    }
    if (first.code === 'MISSING_CHAR' && /indicator/.test(first.message)) {
      return { offset: first.pos[0], code: first.code, message: firstLine(first.message), hint: 'indent this line like the key above it, or start a new list item with "- "' };
    }
    if (first.code === 'MISSING_CHAR' || (first.code === 'BAD_INDENT' && /must be sufficiently indented and end with/.test(first.message))) {
      const opening = unclosed.filter((o) => o.offset < first.pos[0]).at(-1);
      if (opening) return { offset: opening.offset, code: first.code, message: `this ${opening.what} is not closed`, hint: `close it with ${opening.closer} on this line or the lines right after` };
    }
    return { offset: first.pos[0], code: first.code, message: firstLine(first.message), hint: HINTS[first.code] };
  });
}

interface Opening {
  offset: number;
  what: string;
  closer: string;
}

/** The flow collections and quoted scalars that are never closed, in text order. */
function unclosedOpenings(text: string): Opening[] {
  const found: Opening[] = [];
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue;
    CST.visit(token, (item) => {
      for (const node of [item.key, item.value]) {
        if (!node || typeof node !== 'object' || !('type' in node)) continue;
        if (node.type === 'flow-collection' && node.end.length === 0) {
          const square = node.start.source === '[';
          found.push({ offset: node.start.offset, what: square ? '[' : '{', closer: square ? ']' : '}' });
        } else if ((node.type === 'double-quoted-scalar' || node.type === 'single-quoted-scalar') && !closedQuote(node.source)) {
          found.push({ offset: node.offset, what: 'quote', closer: `a matching ${node.source[0]}` });
        }
      }
    });
  }
  return found.sort((a, b) => a.offset - b.offset);
}

function closedQuote(source: string): boolean {
  const quote = source[0];
  const body = source.trimEnd();
  if (body.length < 2 || body.at(-1) !== quote) return false;
  if (quote === "'") return true;
  let backslashes = 0;
  for (let i = body.length - 2; i > 0 && body[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

function firstNonBlankAfterLine(text: string, offset: number): number | undefined {
  const newline = text.indexOf('\n', offset);
  if (newline === -1) return undefined;
  const match = /\S/.exec(text.slice(newline + 1));
  return match ? newline + 1 + match.index : undefined;
}

function firstLine(message: string): string {
  return message.split('\n')[0];
}
