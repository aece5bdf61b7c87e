// `npm run schema`: writes models.schema.json from the schema that validates models.yaml
// (orchestrator/config/schema.ts). test/config/json-schema.test.ts fails when the shipped file is stale.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, modelsJsonSchemaText } from '../orchestrator/config/json-schema.ts';

const target = fileURLToPath(new URL(`../${SCHEMA_FILE}`, import.meta.url));
await writeFile(target, modelsJsonSchemaText());
console.log(`wrote ${SCHEMA_FILE}`);
