// What the simulated model writes under a grammar: a JSON document that fits the schema's shape, or
// a string that matches a regex. Real TGI compiles both into a token automaton; here the text is
// built directly, then tokenized. Regexes: literals, escapes (\d \w \s and escaped punctuation),
// classes [a-z0-9_], groups, alternation and the quantifiers ? * + {n} {n,} {n,m}; anything else
// (lookaround, backreferences) is not understood and the model writes prose instead.
import type { ValidGrammar } from './grammar.ts';

export type Random = () => number;

const WORDS = ['alpha', 'river', 'garden', 'signal', 'harbor', 'lantern', 'orchard', 'compass', 'meadow', 'summit', 'window', 'engine', 'melody', 'planet', 'forest'];
const PLACES = ['Paris', 'Brooklyn, NY', 'Berlin', 'Tokyo', 'San Francisco, CA', 'Lisbon', 'Nairobi'];

function pick<T>(random: Random, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)];
}

function between(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

type Schema = Record<string, unknown>;

/** `#/$defs/x`, `#/definitions/x`, `#/$functions/x`: JSON pointers into the root schema. */
function resolveRef(root: Schema, ref: string): Schema {
  let node: unknown = root;
  for (const part of ref.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    node = (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return typeof node === 'object' && node !== null ? (node as Schema) : {};
}

/** The name an anyOf/oneOf option goes by: its $ref's last segment or its title. */
function optionName(option: Schema): string {
  if (typeof option.$ref === 'string') return option.$ref.split('/').at(-1) ?? '';
  return typeof option.title === 'string' ? option.title : '';
}

/**
 * The "model" picks the first option whose name the prompt mentions (a word of 3+ letters of it);
 * failing that TGI's `no_tool` when offered, else the first option.
 */
function chooseOption(options: Schema[], hint: string): Schema {
  const text = hint.toLowerCase();
  const mentioned = options.find((option) => {
    const words = optionName(option).toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length >= 3 && !['get', 'set', 'tool'].includes(w));
    return words.some((word) => text.includes(word));
  });
  return mentioned ?? options.find((option) => optionName(option) === 'no_tool') ?? options[0];
}

/** A place the conversation names (the "model" reads it), else one from the list. */
function placeFor(hint: string, random: Random): string {
  return PLACES.find((place) => hint.includes(place.split(',')[0])) ?? pick(random, PLACES);
}

function stringValue(schema: Schema, name: string, random: Random, hint: string): string {
  if (typeof schema.pattern === 'string') {
    const matched = textForRegex(schema.pattern, random);
    if (matched !== undefined) return matched;
  }
  switch (schema.format) {
    case 'date':
      return '2024-05-17';
    case 'time':
      return '12:30:00';
    case 'date-time':
      return '2024-05-17T12:30:00Z';
    case 'uuid':
      return '123e4567-e89b-42d3-a456-426614174000';
    case 'email':
      return `${pick(random, WORDS)}@example.com`;
    case 'uri':
      return `https://example.com/${pick(random, WORDS)}`;
  }
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  let text = /location|city|place|address/i.test(name) ? placeFor(hint, random) : Array.from({ length: between(random, 1, 3) }, () => pick(random, WORDS)).join(' ');
  while (text.length < min) text += pick(random, WORDS);
  return text.slice(0, max);
}

function numberValue(schema: Schema, integer: boolean, random: Random): number {
  const low = typeof schema.minimum === 'number' ? schema.minimum : typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum + 1 : 0;
  const high = typeof schema.maximum === 'number' ? schema.maximum : typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : low + 100;
  const value = between(random, Math.ceil(low), Math.max(Math.ceil(low), Math.floor(high)));
  return integer ? value : value + Math.round(random() * 100) / 100;
}

function valueFor(schema: Schema, root: Schema, name: string, random: Random, hint: string, depth: number): unknown {
  if (typeof schema.$ref === 'string') return valueFor(resolveRef(root, schema.$ref), root, name, random, hint, depth + 1);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(random, schema.enum);
  const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (Array.isArray(options) && options.length > 0) return valueFor(chooseOption(options, hint), root, name, random, hint, depth + 1);
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0) return valueFor(Object.assign({}, ...(schema.allOf as Schema[])), root, name, random, hint, depth + 1);
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  const type = types.find((t) => t !== 'null') ?? types[0] ?? (schema.properties ? 'object' : 'string');
  switch (type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Schema>;
      const result: Record<string, unknown> = {};
      if (depth > 8) return result;
      for (const [key, sub] of Object.entries(properties)) result[key] = valueFor(sub, root, key, random, hint, depth + 1);
      return result;
    }
    case 'array': {
      const min = typeof schema.minItems === 'number' ? schema.minItems : 1;
      const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 3);
      const items = (schema.items ?? {}) as Schema;
      return Array.from({ length: between(random, min, max) }, () => valueFor(items, root, name, random, hint, depth + 1));
    }
    case 'integer':
      return numberValue(schema, true, random);
    case 'number':
      return numberValue(schema, false, random);
    case 'boolean':
      return random() < 0.5;
    case 'null':
      return null;
    default:
      return stringValue(schema, name, random, hint);
  }
}

/** JSON the way models tend to write it (and Python's json.dumps does): `{"a": 1, "b": [2, 3]}`. */
function spacedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spacedJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${spacedJson(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

/** A JSON document for the schema. */
export function jsonForSchema(schema: Schema, random: Random, hint: string): string {
  return spacedJson(valueFor(schema, schema, '', random, hint, 0));
}

// ---- regex ----

type Node =
  | { kind: 'literal'; text: string }
  | { kind: 'class'; chars: string[] }
  | { kind: 'sequence'; items: Node[] }
  | { kind: 'alternation'; options: Node[] }
  | { kind: 'repeat'; node: Node; min: number; max: number };

class UnsupportedRegex extends Error {}

const DIGITS = '0123456789'.split('');
const WORD_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_'.split('');

function classFromEscape(letter: string): string[] | undefined {
  if (letter === 'd') return DIGITS;
  if (letter === 'w') return WORD_CHARS;
  if (letter === 's') return [' '];
  return undefined;
}

function parseRegex(pattern: string): Node {
  let position = 0;
  const peek = () => pattern[position];

  function alternation(): Node {
    const options = [sequence()];
    while (peek() === '|') {
      position++;
      options.push(sequence());
    }
    return options.length === 1 ? options[0] : { kind: 'alternation', options };
  }

  function sequence(): Node {
    const items: Node[] = [];
    while (position < pattern.length && peek() !== '|' && peek() !== ')') items.push(quantified(atom()));
    return { kind: 'sequence', items };
  }

  function quantified(node: Node): Node {
    const c = peek();
    let min: number;
    let max: number;
    if (c === '?') [min, max] = [0, 1];
    else if (c === '*') [min, max] = [0, 3];
    else if (c === '+') [min, max] = [1, 3];
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(pattern.slice(position));
      if (!m) throw new UnsupportedRegex();
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? min + 2 : Number(m[3]);
      position += m[0].length - 1;
    } else return node;
    position++;
    if (peek() === '?' || peek() === '+') position++; // lazy / possessive: same language
    return { kind: 'repeat', node, min, max };
  }

  function atom(): Node {
    const c = pattern[position++];
    if (c === '(') {
      if (peek() === '?') {
        if (pattern.slice(position, position + 2) !== '?:') throw new UnsupportedRegex();
        position += 2;
      }
      const inner = alternation();
      if (pattern[position++] !== ')') throw new UnsupportedRegex();
      return inner;
    }
    if (c === '[') return characterClass();
    if (c === '\\') return escaped();
    if (c === '.') return { kind: 'class', chars: WORD_CHARS };
    if (c === '^' || c === '$') return { kind: 'literal', text: '' };
    if ('*+?{'.includes(c)) throw new UnsupportedRegex();
    return { kind: 'literal', text: c };
  }

  function escaped(): Node {
    const letter = pattern[position++];
    if (letter === undefined || /[1-9bBkpP]/.test(letter)) throw new UnsupportedRegex();
    const cls = classFromEscape(letter);
    if (cls) return { kind: 'class', chars: cls };
    if (letter === 'n') return { kind: 'literal', text: '\n' };
    if (letter === 't') return { kind: 'literal', text: '\t' };
    return { kind: 'literal', text: letter };
  }

  function characterClass(): Node {
    if (peek() === '^') throw new UnsupportedRegex();
    const chars: string[] = [];
    while (position < pattern.length && peek() !== ']') {
      let c = pattern[position++];
      if (c === '\\') {
        const letter = pattern[position++];
        const cls = classFromEscape(letter);
        if (cls) {
          chars.push(...cls);
          continue;
        }
        c = letter;
      }
      if (peek() === '-' && pattern[position + 1] !== ']' && position + 1 < pattern.length) {
        const end = pattern[position + 1];
        position += 2;
        for (let code = c.charCodeAt(0); code <= end.charCodeAt(0); code++) chars.push(String.fromCharCode(code));
      } else chars.push(c);
    }
    if (pattern[position++] !== ']' || chars.length === 0) throw new UnsupportedRegex();
    return { kind: 'class', chars };
  }

  const node = alternation();
  if (position !== pattern.length) throw new UnsupportedRegex();
  return node;
}

function render(node: Node, random: Random): string {
  switch (node.kind) {
    case 'literal':
      return node.text;
    case 'class':
      return pick(random, node.chars);
    case 'sequence':
      return node.items.map((item) => render(item, random)).join('');
    case 'alternation':
      return render(pick(random, node.options), random);
    case 'repeat':
      return Array.from({ length: between(random, node.min, node.max) }, () => render(node.node, random)).join('');
  }
}

/** A string matching the regex, or undefined when the regex uses syntax the simulator does not model. */
export function textForRegex(pattern: string, random: Random): string | undefined {
  try {
    return render(parseRegex(pattern), random);
  } catch (error) {
    if (error instanceof UnsupportedRegex) return undefined;
    throw error;
  }
}

/** The whole output under a grammar, or undefined when the simulator cannot honour it. */
export function constrainedText(grammar: ValidGrammar, random: Random, hint: string): string | undefined {
  return grammar.kind === 'json' ? jsonForSchema(grammar.schema, random, hint) : textForRegex(grammar.pattern, random);
}
