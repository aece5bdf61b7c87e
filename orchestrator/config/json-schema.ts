import { z } from 'zod';
import { documentSchema } from './schema.ts';

// models.schema.json, the JSON Schema editors use for completion and checks as you type
// (`# yaml-language-server: $schema=./models.schema.json`), made from the schema that validates
// models.yaml. It describes the file as written: durations and sizes as text, before ${VAR} expansion
// (a `${VAR}` in a number's place is flagged by the editor, not by `npm run validate`). Rules across keys
// and TGI's own conflicts are checked by `npm run validate` only. `npm run schema` writes it.

export const SCHEMA_FILE = 'models.schema.json';

export function modelsJsonSchemaText(): string {
  const schema = z.toJSONSchema(documentSchema, { io: 'input', target: 'draft-07', unrepresentable: 'any' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
