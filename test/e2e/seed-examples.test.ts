// The service API document's curl examples are acceptance tests: each one is run, as written,
// with bash and curl against `up` with models.demo.yaml (the demo), with VALID_TOKEN exported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jpeg from 'jpeg-js';
import { runUp, type RunningUp } from '../helpers/up.ts';

const run = promisify(execFile);
const DOC = new URL('../fixtures/service-api.seed.txt', import.meta.url);

/** The ```bash blocks of the document that call curl, verbatim. */
async function curlExamples(): Promise<string[]> {
  const doc = await readFile(DOC, 'utf8');
  return [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]).filter((block) => block.includes('curl '));
}

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false)).listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });

let service: RunningUp;
let workDir: string;
let examples: string[];

before(async () => {
  examples = await curlExamples();
  // The examples say localhost:8000; use exactly that when it is free (always so in CI).
  const port = (await portIsFree(8000)) ? 8000 : undefined;
  service = await runUp({ config: 'models.demo.yaml', port });
  await service.waitHealthy();
  workDir = await mkdtemp(join(tmpdir(), 'seed-'));
  // image.jpg for the VLM example: a real 64x48 JPEG.
  const pixels = Buffer.alloc(64 * 48 * 4, 0x80);
  await writeFile(join(workDir, 'image.jpg'), jpeg.encode({ data: pixels, width: 64, height: 48 }, 80).data);
});

after(async () => {
  await service?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function runExample(block: string): Promise<string> {
  const script = service.port === 8000 ? block : block.replaceAll('localhost:8000', `localhost:${service.port}`);
  const { stdout } = await run('bash', ['-c', `set -e\n${script}`], { cwd: workDir, env: { ...process.env, VALID_TOKEN: service.token }, maxBuffer: 1 << 24 });
  return stdout;
}

test('the document has the three curl examples (non-streaming, streaming, VLM)', () => {
  assert.equal(examples.length, 3);
});

test('non-streaming example: generated_text and details', async () => {
  const body = JSON.parse(await runExample(examples[0]));
  assert.equal(typeof body.generated_text, 'string');
  assert.ok(body.generated_text.length > 0);
  assert.ok(['length', 'eos_token', 'stop_sequence'].includes(body.details.finish_reason));
  assert.ok(body.details.generated_tokens > 0 && body.details.generated_tokens <= 150);
  assert.equal(typeof body.details.seed, 'number');
});

test('streaming example: one data: event per token, the last with generated_text', async () => {
  const out = await runExample(examples[1]);
  const events = out.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
  assert.ok(events.length > 0 && events.length <= 20);
  events.forEach((e, i) => {
    assert.equal(e.index, events[0].index + i); // consecutive token indices
    assert.equal(typeof e.token.id, 'number');
    assert.equal(typeof e.token.text, 'string');
    assert.equal(typeof e.token.special, 'boolean');
  });
  const last = events.at(-1);
  assert.equal(typeof last.generated_text, 'string');
  assert.equal(last.generated_text, events.map((e) => e.token.text).join(''));
  assert.ok(events.slice(0, -1).every((e) => e.generated_text === null));
});

test('VLM example: the image reaches the vision model', async () => {
  const body = JSON.parse(await runExample(examples[2]));
  assert.match(body.generated_text, /^I see a 64x48 jpeg image\./);
  assert.equal(typeof body.details.generated_tokens, 'number');
});

test('the health check and model information of the document', async () => {
  const health = await fetch(`${service.url}/health`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'healthy' });
  const info = await (await service.fetch('/hermes-2-pro-tgi/gpu0/info')).json();
  assert.equal(info.model_id, 'NousResearch/Hermes-2-Pro-Llama-3-8B');
  assert.equal(typeof info.max_total_tokens, 'number');
});
