// The service API document's curl examples are acceptance tests: each one is run, as written,
// with bash and curl against `up` with models.demo.yaml (the demo), with VALID_TOKEN exported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import {
  assertNonStreamingAnswer,
  assertStreamingAnswer,
  assertVisionAnswer,
  curlExamples,
  documentedPortIfFree,
  exampleWorkDir,
  runExample,
} from '../helpers/seed-examples.ts';
import { runUp, type RunningUp } from '../helpers/up.ts';

let service: RunningUp;
let workDir: string;
let examples: string[];

before(async () => {
  examples = await curlExamples();
  service = await runUp({ config: 'models.demo.yaml', port: await documentedPortIfFree() });
  await service.waitHealthy();
  workDir = await exampleWorkDir();
});

after(async () => {
  await service?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const runIt = (block: string) => runExample(block, { port: service.port, token: service.token, cwd: workDir });

test('the document has the three curl examples (non-streaming, streaming, VLM)', () => {
  assert.equal(examples.length, 3);
});

test('non-streaming example: generated_text and details', async () => {
  assertNonStreamingAnswer(await runIt(examples[0]));
});

test('streaming example: one data: event per token, the last with generated_text', async () => {
  assertStreamingAnswer(await runIt(examples[1]));
});

test('VLM example: the image reaches the vision model', async () => {
  assertVisionAnswer(await runIt(examples[2]));
});

test('the health check and model information of the document', async () => {
  const health = await fetch(`${service.url}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'healthy' });
  const info = await (await service.fetch('/hermes-2-pro-tgi/gpu0/info')).json();
  assert.equal(info.model_id, 'NousResearch/Hermes-2-Pro-Llama-3-8B');
  assert.equal(typeof info.max_total_tokens, 'number');
});
