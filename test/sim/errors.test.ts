import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, send, waitForInFlight } from './fixtures.ts';

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(condition());
}

let sim: SimProcess;

before(async () => {
  sim = await startSim({ args: ['--max-total-tokens', '100', '--max-input-tokens', '20', '--payload-limit', '1000'] });
});
after(() => sim.stop());

/** A 422 validation error: InferError's "Input validation error: " prefix (router/src/infer/mod.rs) and the ValidationError message. */
async function expectValidation(parameters: unknown, error: string, inputs = 'Hello world') {
  const res = await postJson(`${sim.url}/generate`, { inputs, parameters });
  assert.equal(res.status, 422, res.body);
  assert.equal(res.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(res.body), { error: `Input validation error: ${error}`, error_type: 'validation' });
}

describe('422 validation errors, with TGI messages (router/src/validation.rs)', () => {
  test('input tokens + max_new_tokens over max_total_tokens', async () => {
    await expectValidation({ max_new_tokens: 98 }, '`inputs` tokens + `max_new_tokens` must be <= 100. Given: 3 `inputs` tokens and 98 `max_new_tokens`');
  });

  test('max_new_tokens counts as min(max_new_tokens, 1024) in that check (validate_input, DEFAULT_GENERATION_LENGTH)', async () => {
    await expectValidation({ max_new_tokens: 5000 }, '`inputs` tokens + `max_new_tokens` must be <= 100. Given: 3 `inputs` tokens and 1024 `max_new_tokens`');
  });

  test('a prompt over max_total_tokens gets the total-tokens message, which is checked first (validate_input)', async () => {
    const inputs = Array.from({ length: 120 }, () => 'word').join(' ');
    await expectValidation({}, '`inputs` tokens + `max_new_tokens` must be <= 100. Given: 121 `inputs` tokens and 0 `max_new_tokens`', inputs);
  });

  test('input over max_input_tokens', async () => {
    const inputs = Array.from({ length: 25 }, (_, i) => `word${i}`).join(' ');
    const count = JSON.parse((await postJson(`${sim.url}/tokenize`, { inputs })).body).length;
    assert.ok(count > 20);
    await expectValidation({ max_new_tokens: 5 }, `\`inputs\` must have less than 20 tokens. Given: ${count}`, inputs);
  });

  test('too many stop sequences', async () => {
    await expectValidation({ stop: ['a', 'b', 'c', 'd', 'e'] }, '`stop` supports up to 4 stop sequences. Given: 5');
  });

  test('best_of over max_best_of, best_of without sampling, best_of with a seed', async () => {
    await expectValidation({ best_of: 3, do_sample: true }, '`best_of` must be > 0 and <= 2. Given: 3');
    await expectValidation({ best_of: 2 }, 'you must use sampling when `best_of` is > 1');
    await expectValidation({ best_of: 2, do_sample: true, seed: 1 }, '`seed` must not be set when `best_of` > 1');
  });

  test('sampling parameters out of range', async () => {
    await expectValidation({ temperature: 0 }, '`temperature` must be strictly positive');
    await expectValidation({ top_p: 1 }, '`top_p` must be > 0.0 and < 1.0');
    await expectValidation({ top_k: 0 }, '`top_k` must be strictly positive');
    await expectValidation({ typical_p: 0 }, '`typical_p` must be > 0.0 and < 1.0');
    await expectValidation({ repetition_penalty: 0 }, '`repetition_penalty` must be strictly positive');
    await expectValidation({ frequency_penalty: -2.5 }, '`frequency_penalty` must be >= -2.0 and <= 2.0');
    await expectValidation({ max_new_tokens: 0 }, '`max_new_tokens` must be strictly positive');
  });

  test('top_n_tokens over --max-top-n-tokens, truncate 0 or over --max-input-tokens', async () => {
    await expectValidation({ top_n_tokens: 6 }, '`top_n_tokens` must be >= 0 and <= 5. Given: 6');
    await expectValidation({ truncate: 0 }, '`truncate` must be strictly positive and less than 20. Given: 0');
    await expectValidation({ truncate: 21 }, '`truncate` must be strictly positive and less than 20. Given: 21');
  });

  test('checks run in validation.rs order: the first failing one is reported', async () => {
    await expectValidation({ best_of: 2, temperature: 0, top_k: 0 }, '`temperature` must be strictly positive');
    await expectValidation({ top_k: 0, max_new_tokens: 0, stop: ['a', 'b', 'c', 'd', 'e'] }, '`top_k` must be strictly positive');
    await expectValidation({ truncate: 0 }, '`inputs` cannot be empty', '');
  });

  test('empty inputs', async () => {
    await expectValidation({}, '`inputs` cannot be empty', '');
  });
});

describe('HTTP-layer rejections are plain text, like axum', () => {
  test('malformed JSON is a 400', async () => {
    const res = await send(`${sim.url}/generate`, { body: '{"inputs": "x",', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
    assert.match(res.body, /^Failed to parse the request body as JSON: /);
  });

  test('a body of the wrong shape is a 422 naming the field', async () => {
    const missing = await postJson(`${sim.url}/generate`, { parameters: {} });
    assert.equal(missing.status, 422);
    assert.equal(missing.body, 'Failed to deserialize the JSON body into the target type: missing field `inputs`');
    const wrongType = await postJson(`${sim.url}/generate`, { inputs: 'x', parameters: { max_new_tokens: 'ten' } });
    assert.equal(wrongType.status, 422);
    assert.equal(wrongType.body, 'Failed to deserialize the JSON body into the target type: parameters.max_new_tokens: invalid type: string "ten", expected u32');
  });

  test('a non-JSON content type is a 415', async () => {
    const res = await send(`${sim.url}/generate`, { body: '{"inputs":"x"}', headers: { 'content-type': 'text/plain' } });
    assert.equal(res.status, 415);
    assert.equal(res.body, 'Expected request with `Content-Type: application/json`');
  });

  test('a body over --payload-limit is a 413', async () => {
    const res = await postJson(`${sim.url}/generate`, { inputs: 'x'.repeat(2000) });
    assert.equal(res.status, 413);
    assert.equal(res.body, 'Failed to buffer the request body: length limit exceeded');
  });
});

describe('429 overloaded beyond --max-concurrent-requests, with no queue', () => {
  let busy: SimProcess;
  const holder = new AbortController();

  before(async () => {
    busy = await startSim({ env: { SIM_HANG: '1' }, args: ['--max-concurrent-requests', '1', '--graceful-termination-timeout', '0'] });
    postJson(`${busy.url}/generate`, { inputs: 'I take the only slot', parameters: { max_new_tokens: 5 } }, holder.signal).catch(() => {});
    await waitForInFlight(busy.url, 1);
  });
  after(async () => {
    holder.abort();
    await busy.stop();
  });

  test('/generate answers 429 with the overloaded error at once', async () => {
    const res = await postJson(`${busy.url}/generate`, { inputs: 'second', parameters: { max_new_tokens: 5 } });
    assert.equal(res.status, 429);
    assert.deepEqual(JSON.parse(res.body), { error: 'Model is overloaded', error_type: 'overloaded' });
  });

  test('/generate_stream carries it inside a 200 stream', async () => {
    const res = await postJson(`${busy.url}/generate_stream`, { inputs: 'second', parameters: { max_new_tokens: 5 } });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'data: {"error":"Model is overloaded","error_type":"overloaded"}\n\n');
  });

  test('the permit is taken before validation: an invalid request is 429 too (router/src/infer/mod.rs)', async () => {
    const res = await postJson(`${busy.url}/generate`, { inputs: 'second', parameters: { temperature: 0 } });
    assert.equal(res.status, 429);
  });

  test('the router logs the refusal as tokio words it (infer/mod.rs:118)', async () => {
    await waitFor(() => busy.output().includes('router/src/infer/mod.rs:118: no permits available'));
  });

  test('a chat stream carries it as an OpenAI error event, then [DONE]', async () => {
    const res = await postJson(`${busy.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'hi' }], stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'data: {"error":{"message":"Model is overloaded","http_status_code":422}}\n\ndata: [DONE]\n\n');
  });

  test('the failures are counted in tgi_request_failure{err="overloaded"}', async () => {
    const metrics = (await send(`${busy.url}/metrics`)).body;
    const count = Number(/tgi_request_failure\{err="overloaded"\} (\d+)/.exec(metrics)![1]);
    assert.ok(count >= 1);
  });
});

describe('--api-key guards the base routes only (router/src/server.rs)', () => {
  let guarded: SimProcess;

  before(async () => {
    guarded = await startSim({ args: ['--api-key', 'Sekret'] });
  });
  after(() => guarded.stop());

  const generate = (authorization?: string) =>
    send(`${guarded.url}/generate`, { body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: 1 } }), headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) } });

  test('without or with a wrong key: 401 with an empty body', async () => {
    for (const authorization of [undefined, 'Bearer nope', 'Sekret']) {
      const res = await generate(authorization);
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.body, '');
    }
  });

  test('the key is compared case-insensitively, "Bearer " included', async () => {
    assert.equal((await generate('Bearer Sekret')).status, 200);
    assert.equal((await generate('bearer sekret')).status, 200);
  });

  test('the info routes and /chat_tokenize never ask for it', async () => {
    for (const path of ['/health', '/info', '/metrics', '/v1/models', '/']) assert.equal((await send(`${guarded.url}${path}`)).status, 200, path);
    assert.equal((await postJson(`${guarded.url}/chat_tokenize`, { messages: [{ role: 'user', content: 'hi' }] })).status, 200);
    assert.equal((await postJson(`${guarded.url}/tokenize`, { inputs: 'hi' })).status, 401, '/tokenize is a base route');
  });
});
