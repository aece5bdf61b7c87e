// VALID_TOKEN from the environment: refused when it is weak, and never replacing a stored token
// silently. TokenStore on its own, then `up` as an operator runs it (simulators only, no Docker).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nanoid } from 'nanoid';
import { secretDigest } from '../../gateway/secret-digest.ts';
import { TokenStore, tokenEntropyBits } from '../../orchestrator/token.ts';
import { runCli, runUp, type RunningUp } from '../helpers/up.ts';

const exists = (path: string) => readFile(path).then(() => true, () => false);

/** The exit code of an `up` that should refuse to start, or 'still running' (then it is stopped). */
async function refusal(service: RunningUp): Promise<number | null | 'still running'> {
  const code = await Promise.race([service.exited, new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
  if (code === 'still running') await service.stop();
  return code;
}

describe('VALID_TOKEN strength', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'fleet-token-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('entropy is estimated as length × log2(the alphabet of the character classes used)', () => {
    assert.equal(Math.round(tokenEntropyBits('x')), 5);
    assert.equal(Math.round(tokenEntropyBits('password123')), 57, '11 × log2(26 + 10)');
    assert.equal(Math.round(tokenEntropyBits('Password123!')), 79, '12 × log2(26 + 26 + 10 + 32)');
    for (const strong of [nanoid(32), randomBytes(24).toString('base64'), randomBytes(16).toString('hex')]) {
      assert.ok(tokenEntropyBits(strong) >= 128, `${strong}: ${tokenEntropyBits(strong)} bits`);
    }
  });

  test('a weak VALID_TOKEN is refused with how to make a good one, and nothing is written', async () => {
    const stateDir = join(dir, 'weak');
    for (const weak of ['x', 'password123', 'correct-horse-battery']) {
      await assert.rejects(TokenStore.open(stateDir, weak), (error: Error) => {
        assert.match(error.message, /VALID_TOKEN is too weak: \d+ characters? of [a-z, ]+ carr(?:y|ies) at most \d+ bits; at least 128 are needed/);
        assert.match(error.message, /openssl rand -base64 24/);
        assert.match(error.message, /npm run token -- --rotate/);
        // As a whole word: a one-letter token like "x" may well be part of the temp state dir's random name.
        const escaped = weak.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');
        assert.doesNotMatch(error.message, new RegExp(`(^|[^A-Za-z0-9_-])${escaped}([^A-Za-z0-9_-]|$)`), 'the token itself is never repeated');
        return true;
      });
    }
    assert.equal(await exists(TokenStore.path(stateDir)), false);
  });

  test('a VALID_TOKEN that cannot travel in an Authorization header is refused', async () => {
    for (const unusable of [`${nanoid(32)} ${nanoid(8)}`, `${nanoid(32)}é`, ` ${nanoid(32)}`]) {
      await assert.rejects(TokenStore.open(join(dir, 'unusable'), unusable), /VALID_TOKEN must be printable ASCII without spaces/);
    }
  });

  test('a strong VALID_TOKEN is stored, and accepted again as long as it is the stored one', async () => {
    const stateDir = join(dir, 'strong');
    const token = nanoid(32);
    assert.equal((await TokenStore.open(stateDir, token)).token, token);
    assert.equal(JSON.parse(await readFile(TokenStore.path(stateDir), 'utf8')).token, token);
    const again = await TokenStore.open(stateDir, token);
    assert.ok(again.verify(secretDigest(token)));
    assert.equal((await TokenStore.open(stateDir)).token, token, 'without VALID_TOKEN the stored one is served');
  });

  test('a VALID_TOKEN that differs from the stored token is refused, and the stored one is kept', async () => {
    const stateDir = join(dir, 'differs');
    const stored = (await TokenStore.open(stateDir)).token;
    await assert.rejects(TokenStore.open(stateDir, nanoid(32)), (error: Error) => {
      assert.match(error.message, /VALID_TOKEN differs from the token stored in \S+token\.json/);
      assert.ok(error.message.includes(`npm run token -- --rotate --state-dir ${stateDir}`), error.message);
      assert.ok(error.message.includes(`npm run token -- --state-dir ${stateDir}`), error.message);
      assert.ok(!error.message.includes(stored));
      return true;
    });
    assert.equal(JSON.parse(await readFile(TokenStore.path(stateDir), 'utf8')).token, stored);
  });

  test('a VALID_TOKEN that was rotated out is refused with the command that prints the current one', async () => {
    const stateDir = join(dir, 'rotated');
    const old = (await TokenStore.open(stateDir)).token;
    const current = (await TokenStore.rotate(stateDir, 60_000)).token;
    await assert.rejects(TokenStore.open(stateDir, old), (error: Error) => {
      assert.match(error.message, /VALID_TOKEN is the token rotated out of \S+token\.json/);
      assert.ok(error.message.includes(`export $(npm run -s token -- --state-dir ${stateDir})`), error.message);
      return true;
    });
    const file = JSON.parse(await readFile(TokenStore.path(stateDir), 'utf8'));
    assert.deepEqual([file.token, file.previous.token], [current, old], 'the rotation is untouched');
  });
});

describe('up and VALID_TOKEN', () => {
  let dir: string;
  let config: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fleet-token-up-'));
    config = join(dir, 'models.yaml');
    await writeFile(config, 'defaults:\n  runtime: simulator\n  simulator: { load_seconds: 0, tokens_per_second: 0 }\nmodels:\n  - name: one\n    model_id: sim/one\n    gpus: [0]\n');
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('up refuses a weak VALID_TOKEN and starts nothing', async () => {
    const service = await runUp({ config, token: 'password123' });
    assert.equal(await refusal(service), 1);
    assert.match(service.output(), /VALID_TOKEN is too weak: .*at least 128 are needed.*openssl rand -base64 24/s);
    assert.ok(!service.output().includes('password123'), 'the token is not printed');
    assert.equal(await exists(join(service.stateDir, 'token.json')), false);
    assert.equal(await exists(join(service.stateDir, 'logs')), false, 'no server was started');
  });

  test('up refuses a VALID_TOKEN that differs from the stored one; after --rotate the new token runs', { timeout: 120_000 }, async () => {
    const stateDir = join(dir, 'state');
    const first = await runUp({ config, stateDir });
    await first.waitHealthy();
    assert.equal(await first.stop(), 0);

    const other = await runUp({ config, stateDir, token: nanoid(32) });
    assert.equal(await refusal(other), 1);
    assert.ok(other.output().includes(`npm run token -- --rotate --state-dir ${stateDir}`), other.output());
    assert.ok(!other.output().includes(first.token) && !other.output().includes(other.token), 'neither token is printed');
    assert.equal(JSON.parse(await readFile(join(stateDir, 'token.json'), 'utf8')).token, first.token, 'the stored token is kept');

    const rotated = await runCli(['token', '--rotate', '--state-dir', stateDir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = rotated.stdout.trim().replace('VALID_TOKEN=', '');
    const next = await runUp({ config, stateDir, token: fresh });
    try {
      await next.waitHealthy();
      assert.equal((await next.fetch('/one/gpu0/info')).status, 200);
      const old = await fetch(`${next.url}/one/gpu0/info`, { headers: { authorization: `Bearer ${first.token}` } });
      assert.equal(old.status, 200, 'the rotated-out token works during its grace period');
    } finally {
      await next.stop();
    }
  });
});
