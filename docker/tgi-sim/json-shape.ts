// Reading a parsed JSON body into a typed request the way serde does in TGI: unknown fields are
// ignored, a wrong type or a missing field is a 422 with serde's wording and the field's path
// ("Failed to deserialize the JSON body into the target type: parameters.seed: invalid type: …").
import { HttpRejection } from './errors.ts';

export type Reader<T> = (value: unknown, path: string) => T;

class ShapeError extends Error {}

/** A shape error at path, for readers built outside this file. */
export function at(path: string, message: string): Error {
  return new ShapeError(path ? `${path}: ${message}` : message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'number') return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  if (Array.isArray(value)) return 'sequence';
  return 'map';
}

function invalidType(value: unknown, expected: string, path: string): ShapeError {
  return at(path, `invalid type: ${describe(value)}, expected ${expected}`);
}

export const string: Reader<string> = (value, path) => {
  if (typeof value !== 'string') throw invalidType(value, 'a string', path);
  return value;
};

export const boolean: Reader<boolean> = (value, path) => {
  if (typeof value !== 'boolean') throw invalidType(value, 'a boolean', path);
  return value;
};

export const float: Reader<number> = (value, path) => {
  if (typeof value !== 'number') throw invalidType(value, 'f32', path);
  return value;
};

function integer(name: string, min: number, max: number): Reader<number> {
  return (value, path) => {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidType(value, name, path);
    if (value < min || value > max) throw at(path, `invalid value: integer \`${value}\`, expected ${name}`);
    return value;
  };
}

export const u32 = integer('u32', 0, 2 ** 32 - 1);
export const u64 = integer('u64', 0, Number.MAX_SAFE_INTEGER);
export const i32 = integer('i32', -(2 ** 31), 2 ** 31 - 1);
export const usize = integer('usize', 0, Number.MAX_SAFE_INTEGER);

/** Option<T>: absent or null is undefined. */
export function optional<T>(read: Reader<T>): Reader<T | undefined> {
  return (value, path) => (value === undefined || value === null ? undefined : read(value, path));
}

/** #[serde(default)]: absent is the default; null is still a type error, as in serde. */
export function withDefault<T>(read: Reader<T>, fallback: T): Reader<T> {
  return (value, path) => (value === undefined ? fallback : read(value, path));
}

export function required<T>(read: Reader<T>, field: string): Reader<T> {
  return (value, path) => {
    if (value === undefined) throw at(path, `missing field \`${field}\``);
    return read(value, path);
  };
}

export function array<T>(read: Reader<T>): Reader<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw invalidType(value, 'a sequence', path);
    return value.map((item, index) => read(item, `${path}[${index}]`));
  };
}

export const anyValue: Reader<unknown> = (value) => value;

/** A field of serde type Value without a default: any JSON, but it must be there. */
export function requiredValue(field: string): Reader<unknown> {
  return required(anyValue, field);
}

type Fields<T> = { [K in keyof T]: Reader<T[K]> };

export function object<T>(name: string, fields: Fields<T>): Reader<T> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(value, `struct ${name}`, path);
    const source = value as Record<string, unknown>;
    const result = {} as T;
    for (const key of Object.keys(fields) as Array<keyof T & string>) {
      const fieldPath = path ? `${path}.${key}` : key;
      result[key] = fields[key](source[key], source[key] === undefined ? path : fieldPath);
    }
    return result;
  };
}

/** One of several shapes (serde's untagged enums), e.g. a string or a list of parts. */
export function oneOf<T>(expected: string, ...readers: Reader<T>[]): Reader<T> {
  return (value, path) => {
    for (const read of readers) {
      try {
        return read(value, path);
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
      }
    }
    throw at(path, `data did not match any variant of untagged enum ${expected}`);
  };
}

/**
 * An adjacently tagged enum (#[serde(tag = "type", content = "value")]): `type` picks the variant,
 * `value` holds its content. Variants are listed by their wire names.
 */
export function tagged<T>(variants: Record<string, Reader<T>>): Reader<T> {
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType(value, 'adjacently tagged enum', path);
    const source = value as Record<string, unknown>;
    if (source.type === undefined) throw at(path, 'missing field `type`');
    const typePath = path ? `${path}.type` : 'type';
    if (typeof source.type !== 'string') throw invalidType(source.type, 'variant identifier', typePath);
    const read = Object.hasOwn(variants, source.type) ? variants[source.type] : undefined;
    if (!read) {
      const expected = Object.keys(variants).map((name) => `\`${name}\``).join(', ');
      throw at(typePath, `unknown variant \`${source.type}\`, expected one of ${expected}`);
    }
    if (source.value === undefined) throw at(path, 'missing field `value`');
    return read(source.value, path ? `${path}.value` : 'value');
  };
}

/** A value checked after reading, like serde's try_from: `check` returns an error message or undefined. */
export function refined<T>(read: Reader<T>, check: (value: T) => string | undefined): Reader<T> {
  return (value, path) => {
    const result = read(value, path);
    const problem = check(result);
    if (problem) throw at(path, problem);
    return result;
  };
}

/** Applies a reader to a whole body; shape errors become axum's 422 plain-text rejection. */
export function readShape<T>(read: Reader<T>, body: unknown): T {
  try {
    return read(body, '');
  } catch (error) {
    if (error instanceof ShapeError) throw new HttpRejection(422, `Failed to deserialize the JSON body into the target type: ${error.message}`);
    throw error;
  }
}
