// The service API document's curl examples, run as written with bash and curl (VALID_TOKEN exported)
// against a running `up` with models.demo.yaml, and what each of them must answer. Shared by the
// e2e test (this checkout) and the production-install test (a copy installed with --omit=dev).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import jpeg from 'jpeg-js';

const run = promisify(execFile);
const DOC = new URL('../fixtures/service-api.seed.txt', import.meta.url);

/** The ```bash blocks of the document that call curl, verbatim: non-streaming, streaming, VLM. */
export async function curlExamples(): Promise<string[]> {
  const doc = await readFile(DOC, 'utf8');
  return [...doc.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]).filter((block) => block.includes('curl '));
}

/** The examples say localhost:8000: the port to run `up` on is exactly that when it is free (always so in CI). */
export async function documentedPortIfFree(): Promise<number | undefined> {
  const free = await new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(false)).listen(8000, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
  return free ? 8000 : undefined;
}

/** A temp dir to run the examples in, with the image.jpg of the VLM example (a real 64x48 JPEG). */
export async function exampleWorkDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'seed-'));
  const pixels = Buffer.alloc(64 * 48 * 4, 0x80);
  await writeFile(join(dir, 'image.jpg'), jpeg.encode({ data: pixels, width: 64, height: 48 }, 80).data);
  return dir;
}

export interface ExampleTarget {
  port: number;
  token: string;
  /** Where image.jpg is (exampleWorkDir()). */
  cwd: string;
}

/** Runs one example block with bash (set -e); resolves with what curl printed. */
export async function runExample(block: string, target: ExampleTarget): Promise<string> {
  const script = target.port === 8000 ? block : block.replaceAll('localhost:8000', `localhost:${target.port}`);
  const { stdout } = await run('bash', ['-c', `set -e\n${script}`], { cwd: target.cwd, env: { ...process.env, VALID_TOKEN: target.token }, maxBuffer: 1 << 24 });
  return stdout;
}

/** Non-streaming example: generated_text and details. */
export function assertNonStreamingAnswer(stdout: string): void {
  const body = JSON.parse(stdout);
  assert.equal(typeof body.generated_text, 'string');
  assert.ok(body.generated_text.length > 0);
  assert.ok(['length', 'eos_token', 'stop_sequence'].includes(body.details.finish_reason));
  assert.ok(body.details.generated_tokens > 0 && body.details.generated_tokens <= 150);
  assert.equal(typeof body.details.seed, 'number');
}

/** Streaming example: one data: event per token, the last with generated_text. */
export function assertStreamingAnswer(stdout: string): void {
  const events = stdout.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)));
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
}

/** VLM example: the image reaches the vision model. */
export function assertVisionAnswer(stdout: string): void {
  const body = JSON.parse(stdout);
  assert.match(body.generated_text, /^I see a 64x48 jpeg image\./);
  assert.equal(typeof body.details.generated_tokens, 'number');
}
