import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SCHEMA_FILE, modelsJsonSchemaText } from '../../orchestrator/config/json-schema.ts';

const root = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));

test('the shipped models.schema.json is what `npm run schema` generates now', async () => {
  assert.equal(await readFile(root(SCHEMA_FILE), 'utf8'), modelsJsonSchemaText(), 'models.schema.json is stale: run `npm run schema`');
});

test('it describes the file as written: every key, the value sets of the launcher, durations as text', () => {
  const schema = JSON.parse(modelsJsonSchemaText());
  const model = schema.properties.models.items;
  assert.equal(model.additionalProperties, false);
  assert.deepEqual(model.required, ['name', 'model_id', 'gpus']);
  assert.deepEqual(model.properties.kv_cache_dtype.enum, ['fp8_e4m3fn', 'fp8_e5m2']);
  assert.deepEqual(model.properties.dtype.enum, ['float16', 'bfloat16']);
  assert.match(model.properties.max_total_tokens.description, /--max-total-tokens/);
  assert.ok(model.properties.launcher_args.properties['max-top-n-tokens'], 'launcher_args completes the flags without a key of their own');
  assert.equal(model.properties.launcher_args.properties['max-total-tokens'], undefined);
  assert.ok(JSON.stringify(model.properties.load_timeout).includes('"string"'));
});

test('models.yaml and models.demo.yaml point editors at it', async () => {
  for (const file of ['models.yaml', 'models.demo.yaml']) {
    assert.equal((await readFile(root(file), 'utf8')).split('\n')[0], `# yaml-language-server: $schema=./${SCHEMA_FILE}`, file);
  }
});
