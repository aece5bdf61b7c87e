// `parameters.grammar` (and chat's response_format) as the router validates it
// (router/src/validation.rs): json and json_schema must be a JSON Schema object with `properties`,
// regex is passed on unchecked; everything is refused with --disable-grammar-support.
import { validationError } from './errors.ts';
import { serdeSyntaxMessage } from './http-io.ts';
import type { GrammarRequest } from './requests.ts';

/** What the simulated model is constrained to: a JSON document of a schema, or a regex. */
export type ValidGrammar = { kind: 'json'; schema: Record<string, unknown> } | { kind: 'regex'; pattern: string };

const SCHEMA_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'object', 'array', 'null']);

/**
 * A few of the draft 2020-12 meta-schema rules (TGI runs the whole meta-schema through the
 * jsonschema crate; its messages are approximated here, the "grammar is not valid: " prefix is exact).
 */
function metaSchemaProblem(schema: unknown, where = 'schema'): string | undefined {
  if (typeof schema === 'boolean') return undefined;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return `${JSON.stringify(schema)} is not of types "boolean", "object"`;
  const s = schema as Record<string, unknown>;
  const types = Array.isArray(s.type) ? s.type : s.type === undefined ? [] : [s.type];
  for (const type of types) if (typeof type !== 'string' || !SCHEMA_TYPES.has(type)) return `${JSON.stringify(s.type)} is not valid under any of the schemas listed in the 'anyOf' keyword`;
  if (s.properties !== undefined) {
    if (typeof s.properties !== 'object' || s.properties === null || Array.isArray(s.properties)) return `${JSON.stringify(s.properties)} is not of type "object"`;
    for (const [name, sub] of Object.entries(s.properties)) {
      const problem = metaSchemaProblem(sub, `${where}.properties.${name}`);
      if (problem) return problem;
    }
  }
  if (s.required !== undefined && (!Array.isArray(s.required) || s.required.some((r) => typeof r !== 'string'))) return `${JSON.stringify(s.required)} is not of type "array"`;
  if (s.items !== undefined) return metaSchemaProblem(s.items, `${where}.items`);
  return undefined;
}

function checkSchema(schema: unknown): Record<string, unknown> {
  const problem = metaSchemaProblem(schema);
  if (problem) throw validationError(`grammar is not valid: ${problem}`);
  const object = schema as Record<string, unknown>;
  if (typeof object !== 'object' || object === null || object.properties === undefined) throw validationError("grammar is not valid: Grammar must have a 'properties' field");
  return object;
}

export function validateGrammar(grammar: GrammarRequest, disabled: boolean): ValidGrammar {
  if (disabled) throw validationError('grammar is not supported');
  if (grammar.type === 'regex') return { kind: 'regex', pattern: grammar.value };
  if (grammar.type === 'json_schema') return { kind: 'json', schema: checkSchema(grammar.value.schema) };
  let value = grammar.value;
  // A string is a JSON document to parse again; an object is the schema; anything else is refused.
  if (typeof value === 'string') {
    const text = value;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw validationError(`grammar is not valid: ${serdeSyntaxMessage(text, error)}`);
    }
  } else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw validationError('grammar is not supported');
  }
  return { kind: 'json', schema: checkSchema(value) };
}
