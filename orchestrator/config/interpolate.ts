import { isMap, isPair, isScalar, isSeq, type Document, type Node } from 'yaml';
import type { Path, Problem } from './problem.ts';

// ${VAR} expansion in the string values of models.yaml (never in keys):
//   ${VAR}            the variable; unset → "" and a warning (HF_TOKEN unset is normal for public models)
//   ${VAR:-default}   the default when VAR is unset or empty (the default is literal text up to `}`)
//   ${VAR:?message}   an error saying `message` when VAR is unset or empty
//   $$                a literal $; a $ followed by anything else is kept as it is

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)(.*))?$/s;
const FORMS = 'write ${NAME}, ${NAME:-default} or ${NAME:?message}, and $$ for a literal $';

export type Expansion = { value: string; unset: string[] } | { error: string; hint?: string };

export function expandVariables(text: string, env: NodeJS.ProcessEnv): Expansion {
  let value = '';
  const unset: string[] = [];
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      value += text.slice(i);
      break;
    }
    value += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      value += '$';
      i = dollar + 2;
      continue;
    }
    if (next !== '{') {
      value += '$';
      i = dollar + 1;
      continue;
    }
    const close = text.indexOf('}', dollar + 2);
    if (close === -1) return { error: `\`${text.slice(dollar)}\` has no closing }`, hint: FORMS };
    const inner = text.slice(dollar + 2, close);
    const match = REFERENCE.exec(inner);
    if (!match) return { error: `\`\${${inner}}\` is not a variable reference`, hint: FORMS };
    const [, name, operator, argument] = match;
    const current = env[name];
    if (operator === ':-') value += current ? current : argument;
    else if (operator === ':?') {
      if (!current) return { error: argument ? `${name}: ${argument}` : `${name} is not set`, hint: `export ${name}=… before starting` };
      value += current;
    } else if (current === undefined) unset.push(name);
    else value += current;
    i = close + 1;
  }
  return { value, unset };
}

export interface InterpolationResult {
  errors: Problem[];
  warnings: Problem[];
  /** Values with a ${VAR} reference that expanded to nothing, and the variables among them that are unset. */
  emptied: { path: Path; unset: string[] }[];
}

/**
 * Expands every string value of the document in place. An unquoted value that becomes a number or
 * a boolean takes that type, as YAML would have given it written out (`port: ${PORT:-8000}` is 8000).
 */
export function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv): InterpolationResult {
  const result: InterpolationResult = { errors: [], warnings: [], emptied: [] };
  const visit = (node: unknown, path: Path): void => {
    if (isMap(node)) {
      for (const pair of node.items) if (isPair(pair)) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : '?']);
    } else if (isSeq(node)) node.items.forEach((item, index) => visit(item, [...path, index]));
    else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('$')) {
      const expansion = expandVariables(node.value, env);
      if ('error' in expansion) {
        result.errors.push({ path, message: expansion.error, hint: expansion.hint });
        return;
      }
      for (const name of expansion.unset) {
        result.warnings.push({ path, message: `\${${name}} is not set, so it expands to an empty string`, hint: `export ${name}=… before starting, or write \${${name}:-default}` });
      }
      if (expansion.value === '') result.emptied.push({ path, unset: expansion.unset });
      node.value = node.type === 'PLAIN' ? typedPlainScalar(expansion.value) : expansion.value;
    }
  };
  visit(doc.contents as Node | null, []);
  return result;
}

function typedPlainScalar(text: string): string | number | boolean {
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (text === 'true' || text === 'false') return text === 'true';
  return text;
}
