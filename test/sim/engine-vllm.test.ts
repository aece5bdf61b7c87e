// SIM_ENGINE=vllm: the routes, health, errors, streaming, metrics and log lines of docs/vllm-contract.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, send, sseData } from './fixtures.ts';
import { startEngine, waitFor, type EngineProcess } from './engine-fixture.ts';

describe('vLLM: serving', () => {
  let sim: EngineProcess;
  before(async () => {
    sim = await startEngine('vllm', { model: 'org/vllm-model', args: ['--max-model-len', '256', '--served-model-name', 'served', '--max-num-seqs', '8', '-tp', '1', '--gpu-memory-utilization', '0.5', '--trust-remote-code'] });
  });
  after(() => sim.stop());

  test('GET /health is 200 with an empty body; /version names the release', async () => {
    const health = await send(`${sim.url}/health`);
    assert.equal(health.status, 200);
    assert.equal(health.body, '');
    assert.match(JSON.parse((await send(`${sim.url}/version`)).body).version, /^\d+\.\d+\.\d+$/);
  });

  test('GET /v1/models lists the served model name with max_model_len, owned by vllm', async () => {
    const [card] = JSON.parse((await send(`${sim.url}/v1/models`)).body).data;
    assert.equal(card.id, 'served');
    assert.equal(card.root, 'org/vllm-model');
    assert.equal(card.owned_by, 'vllm');
    assert.equal(card.max_model_len, 256);
  });

  test('chat completion: chatcmpl- id, finish_reason, stop_reason and usage', async () => {
    const answer = await postJson(`${sim.url}/v1/chat/completions`, { model: 'served', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 4 });
    assert.equal(answer.status, 200);
    const body = JSON.parse(answer.body);
    assert.match(body.id, /^chatcmpl-[0-9a-f]{32}$/);
    assert.equal(body.object, 'chat.completion');
    assert.equal(body.model, 'served');
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.equal(body.choices[0].stop_reason, null);
    assert.equal(body.usage.completion_tokens, 4);
    assert.equal(body.usage.total_tokens, body.usage.prompt_tokens + 4);
  });

  test('a stop string ends with finish_reason "stop", stop_reason naming it, left out of the text', async () => {
    const first = JSON.parse((await postJson(`${sim.url}/v1/completions`, { prompt: 'Tell', max_tokens: 12, temperature: 0 })).body).choices[0].text as string;
    const word = first.trim().split(' ')[1];
    const body = JSON.parse((await postJson(`${sim.url}/v1/completions`, { prompt: 'Tell', max_tokens: 12, temperature: 0, stop: [word] })).body);
    assert.equal(body.choices[0].finish_reason, 'stop');
    assert.equal(body.choices[0].stop_reason, word);
    assert.ok(!body.choices[0].text.includes(word), body.choices[0].text);
  });

  test('streaming: role chunk, content chunks, finish_reason on the last, usage chunk, data: [DONE]', async () => {
    const answer = await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 3, stream: true, stream_options: { include_usage: true } });
    assert.match(String(answer.headers['content-type']), /^text\/event-stream/);
    const events = sseData(answer.body);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
    assert.deepEqual(chunks.at(-1).choices, []);
    assert.equal(chunks.at(-1).usage.completion_tokens, 3);
  });

  test('errors: {"error": {message, type, param, code}} — 400 for validation and context length, 404 for another model', async () => {
    const invalid = await postJson(`${sim.url}/v1/chat/completions`, { messages: 'nope' });
    assert.equal(invalid.status, 400);
    assert.deepEqual(Object.keys(JSON.parse(invalid.body).error), ['message', 'type', 'param', 'code']);
    const tooLong = await postJson(`${sim.url}/v1/completions`, { prompt: 'Hi', max_tokens: 300 });
    assert.equal(tooLong.status, 400);
    assert.deepEqual(JSON.parse(tooLong.body), {
      error: { message: "'max_tokens' or 'max_completion_tokens' is too large: 300. This model's maximum context length is 256 tokens and your request has 2 input tokens (300 > 256 - 2).", type: 'BadRequestError', param: 'max_tokens', code: 400 },
    });
    const prompt = await postJson(`${sim.url}/v1/completions`, { prompt: 'word '.repeat(300) });
    assert.match(JSON.parse(prompt.body).error.message, /^This model's maximum context length is 256 tokens\. However, your request has \d+ input tokens\./);
    const model = await postJson(`${sim.url}/v1/completions`, { model: 'other', prompt: 'Hi' });
    assert.equal(model.status, 404);
    assert.equal(JSON.parse(model.body).error.type, 'NotFoundError');
    const broken = await send(`${sim.url}/v1/completions`, { body: '{"prompt":', headers: { 'content-type': 'application/json' } });
    assert.equal(broken.status, 400);
  });

  test("FastAPI's 404 and 405 are {\"detail\": …}", async () => {
    assert.deepEqual(JSON.parse((await send(`${sim.url}/generate`)).body), { detail: 'Not Found' });
    const wrong = await send(`${sim.url}/v1/models`, { method: 'POST', body: '{}' });
    assert.equal(wrong.status, 405);
    assert.deepEqual(JSON.parse(wrong.body), { detail: 'Method Not Allowed' });
  });

  test('/tokenize and /detokenize round-trip', async () => {
    const tokens = JSON.parse((await postJson(`${sim.url}/tokenize`, { prompt: 'Hello world' })).body);
    assert.equal(tokens.count, tokens.tokens.length);
    assert.equal(tokens.max_model_len, 256);
    const text = JSON.parse((await postJson(`${sim.url}/detokenize`, { tokens: tokens.tokens })).body);
    assert.equal(text.prompt, 'Hello world');
  });

  test('/metrics has the V1 engine names with engine and model_name labels', async () => {
    const metrics = (await send(`${sim.url}/metrics`)).body;
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total']) {
      assert.match(metrics, new RegExp(`^${name}\\{engine="0",model_name="served"\\} \\d`, 'm'), name);
    }
    for (const name of ['vllm:time_to_first_token_seconds', 'vllm:inter_token_latency_seconds', 'vllm:e2e_request_latency_seconds']) assert.match(metrics, new RegExp(`^${name}_count\\{`, 'm'), name);
    assert.match(metrics, /^vllm:request_success_total\{engine="0",model_name="served",finished_reason="length"\} [1-9]/m);
  });

  test('the start-up log has vLLM lines in order, ending with uvicorn startup', () => {
    const out = sim.output();
    const lines = ['vLLM API server version', 'non-default args:', 'Using max model len 256', 'Starting to load model org/vllm-model', 'Loading weights took', 'GPU KV cache size:', 'Starting vLLM API server 0 on http://127.0.0.1:', 'Started server process', 'Waiting for application startup.', 'Application startup complete.'];
    const at = lines.map((line) => out.indexOf(line));
    assert.ok(at.every((p) => p >= 0), out);
    assert.deepEqual([...at].sort((a, b) => a - b), at);
    assert.match(out, /^\(APIServer pid=\d+\) INFO \d\d-\d\d \d\d:\d\d:\d\d \[api_server\.py:\d+\] vLLM API server version/m);
    assert.match(out, /"POST \/v1\/chat\/completions HTTP\/1\.1" 200 OK/);
  });
});

describe('vLLM: start-up and CLI', () => {
  test('nothing listens while loading, then /health is 200', async () => {
    const sim = await startEngine('vllm', { waitReady: false, env: { SIM_LOAD_SECONDS: '1' } });
    try {
      await waitFor(() => sim.output().includes('Starting to load model'), 'loading');
      await assert.rejects(send(`${sim.url}/health`), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
      await waitFor(() => sim.output().includes('Application startup complete.'), 'startup');
      assert.equal((await send(`${sim.url}/health`)).status, 200);
    } finally {
      await sim.stop();
    }
  });

  test('SIGTERM: uvicorn shuts down and the process exits 0', async () => {
    const sim = await startEngine('vllm');
    assert.equal(await sim.stop(), 0);
    assert.match(sim.output(), /Application shutdown complete\./);
  });

  test('an unknown option is refused the way argparse does: usage, error, exit 2', async () => {
    const sim = await startEngine('vllm', { waitReady: false, args: ['--no-such-flag', '3'] });
    assert.equal(await sim.exited, 2);
    assert.match(sim.output(), /^usage: vllm serve \[model_tag\] \[options\]\nvllm serve: error: unrecognized arguments: --no-such-flag 3$/m);
  });

  test('--max_model_len (underscores) is --max-model-len; a bad int is refused', async () => {
    const sim = await startEngine('vllm', { args: ['--max_model_len', '128'] });
    try {
      assert.equal(JSON.parse((await send(`${sim.url}/v1/models`)).body).data[0].max_model_len, 128);
    } finally {
      await sim.stop();
    }
    const bad = await startEngine('vllm', { waitReady: false, args: ['--port', 'x'] });
    assert.equal(await bad.exited, 2);
    assert.match(bad.output(), /vllm serve: error: argument --port: invalid int value: 'x'/);
  });

  test('--api-key guards /v1 routes with 401 {"error": "Unauthorized"}; /health stays open', async () => {
    const sim = await startEngine('vllm', { args: ['--api-key', 'k'] });
    try {
      const denied = await send(`${sim.url}/v1/models`);
      assert.equal(denied.status, 401);
      assert.deepEqual(JSON.parse(denied.body), { error: 'Unauthorized' });
      assert.equal((await send(`${sim.url}/v1/models`, { headers: { authorization: 'Bearer k' } })).status, 200);
      assert.equal((await send(`${sim.url}/health`)).status, 200);
    } finally {
      await sim.stop();
    }
  });
});
