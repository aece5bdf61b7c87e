// Named API keys end to end: `npm run keys` against a running simulator fleet — add, scope, set, revoke,
// rotate with grace, expiry, token budgets after plain, streamed and cut-short answers, metrics and
// the usage totals of `keys list`; and keys kept in the file gateway.keys_file names, followed across an edit.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli as cli, stopAndRemove, upOnConfig, type RunningUp } from '../helpers/up.ts';

const CONFIG = `
gateway:
  drain_timeout: 5s
defaults:
  runtime: simulator
  simulator: { load_seconds: 0, tokens_per_second: 0 }
models:
  - name: one
    model_id: sim/one
    gpus: [0]
  - name: two
    model_id: sim/two
    gpus: [1]
  - name: slow
    model_id: sim/slow
    gpus: [2]
    simulator: { load_seconds: 0, tokens_per_second: 20 }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `request` answers `status`; how long it took (ms). */
async function until(status: number, request: () => Promise<Response>, timeoutMs = 3000): Promise<{ ms: number; res: Response }> {
  const started = Date.now();
  for (;;) {
    const res = await request();
    if (res.status === status) return { ms: Date.now() - started, res };
    await res.body?.cancel();
    if (Date.now() - started > timeoutMs) assert.fail(`still ${res.status} after ${timeoutMs} ms, expected ${status}`);
    await sleep(50);
  }
}

describe('keys', () => {
  let dir: string;
  let service: RunningUp;

  const keys = (...args: string[]) => cli(['keys', ...args, '--state-dir', service.stateDir]);
  const add = async (...args: string[]) => {
    const result = await keys('add', ...args);
    assert.equal(result.code, 0, result.stderr);
    return result;
  };
  const keyOf = (stdout: string) => /^API_KEY=(\S+)$/m.exec(stdout)![1];
  const as = (key: string, path: string, init: RequestInit = {}) => fetch(service.url + path, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) } });
  const generate = (key: string, route: string, maxNewTokens = 2) => as(key, `/${route}/generate`, { method: 'POST', body: JSON.stringify({ inputs: 'Hi there', parameters: { max_new_tokens: maxNewTokens } }) });
  const stream = async (key: string, route: string, maxNewTokens = 3, details = false) => {
    const res = await as(key, `/${route}/generate_stream`, { method: 'POST', body: JSON.stringify({ inputs: 'Hi there', parameters: { max_new_tokens: maxNewTokens, details } }) });
    return { status: res.status, text: await res.text() };
  };

  /** gateway_key_tokens_total of one key and kind, summed over models. */
  const keyTokens = async (key: string, kind: 'prompt' | 'generated') => {
    const text = await (await service.fetch('/metrics')).text();
    return text
      .split('\n')
      .filter((l) => l.startsWith('gateway_key_tokens_total{') && l.includes(`key="${key}"`) && l.includes(`kind="${kind}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  };
  /** Waits until the gateway has read the new key (GET /v1/models uses no tokens). */
  const live = (key: string) => until(200, () => as(key, '/v1/models'));

  before(async () => {
    ({ dir, service } = await upOnConfig('fleet-keys-', CONFIG));
  });
  after(() => stopAndRemove(service, dir));

  test('add prints API_KEY once, stores only its hash (0600), and the key works in the running gateway', async () => {
    const result = await add('team-a', '--models', 'one,sl*');
    assert.equal(result.stdout.match(/API_KEY=/g)?.length, 1);
    const key = keyOf(result.stdout);
    assert.match(key, /^tgf_[0-9A-Za-z]{32}$/);
    assert.ok(!result.stderr.includes(key));
    const file = join(service.stateDir, 'keys.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(file, 'utf8')).includes(key), 'the plain key is never stored');
    const { ms } = await until(200, () => generate(key, 'one/gpu0'));
    assert.ok(ms < 1000, `accepted after ${ms} ms`);
    assert.equal((await generate(key, 'one/gpu0')).status, 200);
  });

  test('add, revoke and rotate refuse what they cannot do, saying how to fix it', async () => {
    const bad = await keys('add', 'Team_A');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /key name "Team_A" is not valid: use lowercase letters, digits and single dashes/);
    const twice = await keys('add', 'team-a');
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /a key named "team-a" exists already; change it \(`npm run keys -- set team-a …`\), rotate it/);
    const unknown = await keys('revoke', 'nobody');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no key named "nobody" in .*keys\.json; `npm run keys -- list --state-dir .*` shows the keys there/);
    const duration = await keys('add', 'later', '--expires', 'soon');
    assert.equal(duration.code, 1);
    assert.match(duration.stderr, /--expires must be a number with a unit \(ms, s, m, h, d\), e\.g\. 30d or 1h, not "soon"/);
    assert.doesNotMatch((await keys('list')).stdout, /^later /m, 'a refused add stores nothing');
  });

  test('a key outside its scope gets 403 naming its models; /v1/models lists only those', async () => {
    const key = keyOf((await add('scoped', '--models', 'one')).stdout);
    await until(200, () => generate(key, 'one/gpu0'));
    const refused = await generate(key, 'two/gpu1');
    assert.equal(refused.status, 403);
    assert.match((await refused.json()).error.message, /API key "scoped" may use the models one, not "two"/);
    const root = await as(key, '/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'two', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 }) });
    assert.equal(root.status, 403);
    const models = await (await as(key, '/v1/models')).json();
    assert.deepEqual(models.data.map((m: { id: string }) => m.id), ['one']);
    for (const path of ['/metrics', '/api/overview', '/info']) {
      const fleetWide = await as(key, path);
      assert.equal(fleetWide.status, 403, path);
      assert.match((await fleetWide.json()).error.message, /needs the operator's token/);
    }
    const all = await (await service.fetch('/v1/models')).json();
    assert.deepEqual(all.data.map((m: { id: string }) => m.id).sort(), ['one', 'slow', 'two']);
  });

  test("set changes a key's scope and limits in the running gateway within a second; its value stays", async () => {
    const key = keyOf((await add('changing', '--models', 'one')).stdout);
    await until(200, () => generate(key, 'one/gpu0'));
    assert.equal((await generate(key, 'two/gpu1')).status, 403);

    const set = await keys('set', 'changing', '--models', 'one,two', '--rps', '1', '--burst', '1');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stderr, /key "changing" changed in .*keys\.json: models one,two, rps=1 burst=1, no expiry; a running gateway applies it within a second/);
    assert.doesNotMatch(set.stdout + set.stderr, /API_KEY=/, 'no new value is made');
    const { ms } = await until(200, () => generate(key, 'two/gpu1'));
    assert.ok(ms < 1000, `the new scope applied after ${ms} ms`);
    const limited = await generate(key, 'one/gpu0');
    assert.equal(limited.status, 429, 'the new rate applies at once');
    assert.match((await limited.json()).error.message, /rate limit of API key "changing" reached: 1 requests\/s with bursts of 1/);

    assert.equal((await keys('set', 'changing', '--unset', 'rps,models')).code, 0);
    await until(200, () => generate(key, 'one/gpu0'));
    const burst = await Promise.all([1, 2, 3].map(() => generate(key, 'two/gpu1')));
    assert.deepEqual(burst.map((r) => r.status), [200, 200, 200], 'no rate limit of its own any more');
    assert.match((await keys('list')).stdout, /^changing\s+\*\s+gateway limits /m);

    for (const [args, message] of [
      [['set', 'changing'], /nothing to change: give --models, --rps/],
      [['set', 'changing', '--unset', 'colour'], /--unset colour: not a setting of a key; choose from models, rps, burst, tpm, max-concurrent, expires/],
      [['set', 'changing', '--unset', 'tpm', '--tpm', '5'], /--unset tpm and --tpm together/],
      [['set', 'changing', '--burst', '4'], /--burst needs --rps/],
      [['set', 'nobody', '--rps', '1'], /no key named "nobody" in .*keys\.json/],
    ] as const) {
      const refused = await keys(...args);
      assert.equal(refused.code, 1, args.join(' '));
      assert.match(refused.stderr, message);
    }
    assert.match((await keys('list')).stdout, /^changing\s+\*\s+gateway limits /m, 'a refused set changes nothing');
  });

  test('revoke takes effect in the running gateway within a second, and the 401 says so', async () => {
    const key = keyOf((await add('leaving')).stdout);
    await until(200, () => generate(key, 'two/gpu1'));
    assert.equal((await keys('revoke', 'leaving')).code, 0);
    const { res, ms } = await until(401, () => generate(key, 'two/gpu1'));
    assert.ok(ms < 1000, `refused ${ms} ms after keys.json was written`);
    assert.match((await res.json()).error.message, /API key "leaving" was revoked on \d{4}-\d\d-\d\dT/);
  });

  test('rotate gives a new key; the old one works for the grace period, then gets 401', async () => {
    const old = keyOf((await add('rotating')).stdout);
    await until(200, () => generate(old, 'one/gpu0'));
    const rotated = await keys('rotate', 'rotating', '--grace', '3s');
    assert.equal(rotated.code, 0, rotated.stderr);
    const fresh = keyOf(rotated.stdout);
    assert.notEqual(fresh, old);
    await until(200, () => generate(fresh, 'one/gpu0'));
    assert.equal((await generate(old, 'one/gpu0')).status, 200, 'the old key works during the grace period');
    const { res } = await until(401, () => generate(old, 'one/gpu0'), 5000);
    assert.match((await res.json()).error.message, /API key "rotating" was rotated out/);
    assert.equal((await generate(fresh, 'one/gpu0')).status, 200);
  });

  test('a key expires: 401 saying when', async () => {
    const key = keyOf((await add('brief', '--expires', '3s')).stdout);
    await until(200, () => generate(key, 'one/gpu0'));
    const { res } = await until(401, () => generate(key, 'one/gpu0'), 5000);
    assert.match((await res.json()).error.message, /API key "brief" expired on \d{4}-\d\d-\d\dT/);
  });

  test('token budget: 429 with Retry-After once a plain answer used it', async () => {
    const key = keyOf((await add('plain-budget', '--tpm', '5')).stdout);
    const first = (await until(200, () => generate(key, 'one/gpu0', 5))).res;
    const used = Number(first.headers.get('x-prompt-tokens')) + Number(first.headers.get('x-generated-tokens'));
    assert.ok(used >= 5, `the first answer used ${used} tokens`);
    const refused = await generate(key, 'one/gpu0');
    assert.equal(refused.status, 429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 55 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match((await refused.json()).error.message, /API key "plain-budget" used its budget of 5 tokens per minute/);
  });

  test('token budget: a streamed answer counts its events and final details', async () => {
    const key = keyOf((await add('stream-budget', '--tpm', '5')).stdout);
    await live(key);
    const first = await stream(key, 'two/gpu1', 5, true);
    assert.equal(first.status, 200, first.text);
    const details = JSON.parse(first.text.split('\n').filter((l) => l.startsWith('data:')).at(-1)!.slice(5)).details;
    const refused = await generate(key, 'two/gpu1');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal(await keyTokens('stream-budget', 'generated'), details.generated_tokens);
    assert.equal(await keyTokens('stream-budget', 'prompt'), details.input_length);
  });

  test('per-key rate and concurrency apply across the key', async () => {
    const key = keyOf((await add('bursty', '--rps', '0.5', '--burst', '2', '--max-concurrent', '1')).stdout);
    await live(key);
    const controller = new AbortController();
    const open = await as(key, '/slow/gpu2/generate_stream', { method: 'POST', body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 100 } }), signal: controller.signal });
    assert.equal(open.status, 200);
    const busy = await generate(key, 'one/gpu0');
    assert.equal(busy.status, 429);
    assert.match((await busy.json()).error.message, /API key "bursty" already has 1 requests in flight, its --max-concurrent/);
    controller.abort();
    await open.body?.cancel().catch(() => {});
    await until(200, () => generate(key, 'one/gpu0')); // once the gateway saw the stream end: the bucket's second request
    const limited = await generate(key, 'one/gpu0');
    assert.equal(limited.status, 429);
    assert.match((await limited.json()).error.message, /rate limit of API key "bursty" reached: 0.5 requests\/s with bursts of 2/);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  });

  test('token budget: a stream cut short by the client counts what was relayed', async () => {
    const key = keyOf((await add('cut-short', '--tpm', '4')).stdout);
    await live(key);
    const controller = new AbortController();
    const res = await as(key, '/slow/gpu2/generate_stream', { method: 'POST', body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 100 } }), signal: controller.signal });
    assert.equal(res.status, 200);
    let events = 0;
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      events += (decoder.decode(chunk).match(/^data:/gm) ?? []).length;
      if (events >= 6) break;
    }
    controller.abort();
    const { res: refused } = await until(429, () => generate(key, 'one/gpu0'));
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    const generated = await keyTokens('cut-short', 'generated');
    assert.ok((await keyTokens('cut-short', 'prompt')) > 0, 'a stream without details: the prompt estimated from x-compute-characters');
    assert.ok(generated >= 6 && generated < 100, `counted ${generated} generated tokens of a stream cut after 6 events`);
  });

  test('per-key metrics, and keys list shows the usage totals once saved', async () => {
    assert.equal((await service.fetch('/one/gpu0/generate', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } }) })).status, 200);
    const text = await (await service.fetch('/metrics')).text();
    assert.match(text, /gateway_key_requests_total\{key="team-a",model="one",status="200"\} [1-9]/);
    assert.match(text, /gateway_key_requests_total\{key="scoped",model="two",status="403"\} [1-9]/);
    assert.match(text, /gateway_key_requests_total\{key="plain-budget",model="one",status="429"\} 1/);
    assert.match(text, /gateway_key_tokens_total\{key="plain-budget",model="one",kind="prompt"\} [1-9]/);
    assert.match(text, /gateway_key_requests_total\{key="operator",model="/);
    await service.stop(); // saves the usage counted since the last periodic save
    const list = await keys('list');
    assert.equal(list.code, 0, list.stderr);
    const row = list.stdout.split('\n').find((l) => l.startsWith('team-a '))!;
    assert.match(row, /one,sl\*/);
    assert.match(row, /\d{4}-\d\d-\d\dT\S+Z\s+[2-9]\s+\d+\s+\d+$/, row);
    assert.match(list.stdout, /^leaving .*revoked/m);
    const usage = JSON.parse(await readFile(join(service.stateDir, 'key-usage.json'), 'utf8'));
    assert.ok(usage['team-a'].requests >= 2 && usage['team-a'].generatedTokens > 0);
  });
});

describe('keys kept in gateway.keys_file', () => {
  let dir: string;
  let config: string;
  let service: RunningUp;
  /** models.yaml with gateway.keys_file, relative to the file's folder (not to up's working directory). */
  const withKeysFile = (keysFile: string) => CONFIG.replace('gateway:\n', `gateway:\n  keys_file: ${keysFile}\n`);
  const keys = (...args: string[]) => cli(['keys', ...args, '--config', config, '--state-dir', service.stateDir]);
  const generate = (key: string) =>
    fetch(`${service.url}/one/gpu0/generate`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 2 } }) });
  /** How long until the gateway answers `key` with `status` (ms). */
  const answers = async (status: number, key: string) => (await until(status, () => generate(key))).ms;
  const added = async (result: { code: number; stdout: string; stderr: string }) => {
    assert.equal(result.code, 0, result.stderr);
    return /^API_KEY=(\S+)$/m.exec(result.stdout)![1];
  };

  before(async () => {
    ({ dir, config, service } = await upOnConfig('fleet-keys-file-', withKeysFile('secrets/keys.json')));
  });
  after(() => stopAndRemove(service, dir));

  test('keys add --config writes the file models.yaml names (0600, hashes only); the running gateway follows it', async () => {
    const result = await keys('add', 'team-a');
    const key = await added(result);
    const file = join(dir, 'secrets', 'keys.json');
    assert.match(result.stderr, new RegExp(`key "team-a" added to ${file.replaceAll('/', '\\/')}`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(file, 'utf8')).includes(key), 'the plain key is never stored');
    await assert.rejects(stat(join(service.stateDir, 'keys.json')), /ENOENT/, 'nothing is written to the state dir');
    assert.ok((await answers(200, key)) < 1000, 'accepted within a second');
    assert.match((await keys('list')).stdout, /^team-a /m);
    const withoutConfig = await cli(['keys', 'list', '--state-dir', service.stateDir]);
    assert.match(withoutConfig.stdout, /^team-a /m, 'without --config, keys acts on the file the running up published that it reads');
    assert.match(withoutConfig.stderr, new RegExp(`keys from ${file.replaceAll('/', '\\/')}; usage totals are saved`));

    assert.equal((await keys('revoke', 'team-a')).code, 0);
    assert.ok((await answers(401, key)) < 1000, 'refused within a second');
  });

  test('an edit that points gateway.keys_file elsewhere switches the gateway to that file\'s keys', async () => {
    const kept = await added(await keys('add', 'kept'));
    await answers(200, kept);
    // The next file's key is made first, through a models.yaml that names it.
    const next = join(dir, 'next.yaml');
    await writeFile(next, withKeysFile('other/keys.json'));
    const moved = await added(await cli(['keys', 'add', 'moved', '--config', next]));
    assert.equal((await generate(moved)).status, 401, 'a key of a file the fleet does not use is not accepted');

    await writeFile(config, withKeysFile('other/keys.json'));
    await service.waitForOutput(/API keys are now those of .*other\/keys\.json/);
    await answers(200, moved);
    assert.equal((await generate(kept)).status, 401, "the previous file's keys no longer apply");

    // A switch to a file that cannot be read: none of the previous file's keys stay in force.
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad', 'keys.json'), '{ not json');
    await writeFile(config, withKeysFile('bad/keys.json'));
    await service.waitForOutput(/bad\/keys\.json could not be read \(.*\); no API key is accepted until it can be/);
    await answers(401, moved);
  });

  test('keys refuses a models.yaml whose keys_file it cannot read, and an --config that is not there, writing nothing', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, CONFIG.replace('gateway:\n', 'gateway:\n  keys_file: 42\n'));
    const refused = await cli(['keys', 'add', 'nope', '--config', broken, '--state-dir', service.stateDir]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /gateway\.keys_file of .*broken\.yaml must be text, so where the keys are kept is unknown; fix it \(`npm run validate -- --config .*broken\.yaml` says how\)/);
    const missing = await cli(['keys', 'list', '--config', join(dir, 'absent.yaml')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--config .*absent\.yaml: no such file/);
    await assert.rejects(stat(join(service.stateDir, 'keys.json')), /ENOENT/);
  });
});
