// SIM_ENGINE=sglang: the routes, health, errors, streaming, metrics and log lines of docs/sglang-contract.md.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postJson, send, sseData } from './fixtures.ts';
import { startEngine, waitFor, type EngineProcess } from './engine-fixture.ts';

describe('SGLang: serving', () => {
  let sim: EngineProcess;
  before(async () => {
    sim = await startEngine('sglang', { model: 'org/sglang-model', args: ['--context-length', '256', '--enable-metrics', '--tp-size', '2', '--mem-fraction-static', '0.8', '--max-running-requests', '8'] });
  });
  after(() => sim.stop());

  test('/health and /health_generate are 200 (empty) once ready; /get_model_info and /version', async () => {
    for (const path of ['/health', '/health_generate']) {
      const answer = await send(`${sim.url}${path}`);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body, '');
    }
    const info = JSON.parse((await send(`${sim.url}/get_model_info`)).body);
    assert.equal(info.model_path, 'org/sglang-model');
    assert.equal(info.is_generation, true);
    assert.match(JSON.parse((await send(`${sim.url}/version`)).body).version, /^\d+\.\d+\.\d+$/);
    assert.equal(JSON.parse((await send(`${sim.url}/get_server_info`)).body).tp_size, 2);
  });

  test('GET /v1/models: owned by sglang, max_model_len is the context length', async () => {
    const [card] = JSON.parse((await send(`${sim.url}/v1/models`)).body).data;
    assert.deepEqual([card.id, card.owned_by, card.max_model_len], ['org/sglang-model', 'sglang', 256]);
  });

  test('native /generate: text, output_ids, meta_info with finish_reason {type, length|matched}', async () => {
    const body = JSON.parse((await postJson(`${sim.url}/generate`, { text: 'Hello', sampling_params: { max_new_tokens: 3 } })).body);
    assert.equal(body.output_ids.length, 3);
    assert.deepEqual(body.meta_info.finish_reason, { type: 'length', length: 3 });
    assert.equal(body.meta_info.completion_tokens, 3);
    const natural = JSON.parse((await postJson(`${sim.url}/generate`, { text: 'Hello', sampling_params: { max_new_tokens: 100, temperature: 0 } })).body);
    assert.deepEqual(natural.meta_info.finish_reason, { type: 'stop', matched: 2 });
  });

  test('native /generate streamed: each event has the whole text so far, then data: [DONE]', async () => {
    const events = sseData((await postJson(`${sim.url}/generate`, { text: 'Hello', sampling_params: { max_new_tokens: 3 }, stream: true })).body);
    assert.equal(events.at(-1), '[DONE]');
    const texts = events.slice(0, -1).map((e) => JSON.parse(e).text as string);
    for (let i = 1; i < texts.length; i++) assert.ok(texts[i].startsWith(texts[i - 1]), JSON.stringify(texts));
  });

  test('chat completion: finish_reason with matched_stop, usage', async () => {
    const body = JSON.parse((await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 })).body);
    assert.equal(body.object, 'chat.completion');
    assert.match(body.id, /^chatcmpl-/);
    assert.equal(body.choices[0].finish_reason, 'length');
    assert.equal(body.choices[0].matched_stop, null);
    assert.equal(body.usage.completion_tokens, 4);
  });

  test('streamed chat ends with usage (include_usage) and data: [DONE]', async () => {
    const events = sseData((await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2, stream: true, stream_options: { include_usage: true } })).body);
    assert.equal(events.at(-1), '[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    assert.equal(chunks.at(-2).choices[0].finish_reason, 'length');
    assert.equal(chunks.at(-1).usage.completion_tokens, 2);
  });

  test('errors: OpenAI routes answer {"object": "error", …} 400; /generate answers {"error": {"message"}} 400', async () => {
    const chat = await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 300 });
    assert.equal(chat.status, 400);
    const body = JSON.parse(chat.body);
    assert.deepEqual(Object.keys(body), ['object', 'message', 'type', 'param', 'code']);
    assert.equal(body.object, 'error');
    assert.equal(body.code, 400);
    assert.match(body.message, /^Requested token count exceeds the model's maximum context length of 256 tokens\. You requested a total of 3\d\d tokens: \d+ tokens from the input messages and 300 tokens for the completion\./);
    const native = await postJson(`${sim.url}/generate`, { text: 'word '.repeat(300) });
    assert.equal(native.status, 400);
    assert.match(JSON.parse(native.body).error.message, /^The input \(\d+ tokens\) is longer than the model's context length \(256 tokens\)\.$/);
    const invalid = await postJson(`${sim.url}/v1/completions`, { max_tokens: 2 });
    assert.equal(invalid.status, 400);
    assert.equal(JSON.parse(invalid.body).object, 'error');
    assert.equal(JSON.parse(invalid.body).type, 'Bad Request', 'a RequestValidationError');
    const streamed = await postJson(`${sim.url}/generate`, { text: 'Hi', sampling_params: { max_new_tokens: 300 }, stream: true });
    assert.equal(streamed.status, 200);
    const events = sseData(streamed.body);
    assert.equal(events.length, 2);
    assert.match(JSON.parse(events[0]).error.message, /^Requested token count exceeds/);
    assert.equal(events[1], '[DONE]');
    assert.equal(JSON.parse((await send(`${sim.url}/model_info`)).body).model_path, 'org/sglang-model');
    assert.equal((await send(`${sim.url}/server_info`)).status, 200);
  });

  test('/metrics (with --enable-metrics) has the sglang: names', async () => {
    const metrics = (await send(`${sim.url}/metrics`)).body;
    for (const name of ['sglang:num_running_reqs', 'sglang:num_queue_reqs', 'sglang:token_usage', 'sglang:prompt_tokens_total', 'sglang:generation_tokens_total']) {
      assert.match(metrics, new RegExp(`^${name}\\{model_name="org/sglang-model"\\} \\d`, 'm'), name);
    }
    for (const name of ['sglang:time_to_first_token_seconds', 'sglang:inter_token_latency_seconds', 'sglang:e2e_request_latency_seconds']) assert.match(metrics, new RegExp(`^${name}_count\\{`, 'm'), name);
  });

  test('the log: server_args, per-rank scheduler lines, uvicorn, the warm-up requests, then "fired up"', () => {
    const out = sim.output();
    const lines = ['server_args=ServerArgs(', 'Load weight begin.', 'Load weight end.', 'KV Cache is allocated.', 'max_total_num_tokens=', 'Application startup complete.', 'Uvicorn running on http://127.0.0.1:', '"GET /get_model_info HTTP/1.1" 200 OK', '"POST /generate HTTP/1.1" 200 OK', 'The server is fired up and ready to roll!'];
    const at = lines.map((line) => out.indexOf(line));
    assert.ok(at.every((p) => p >= 0), out);
    assert.deepEqual([...at].sort((a, b) => a - b), at);
    assert.match(out, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d TP1\] Load weight end\./m);
  });
});

describe('SGLang: start-up and CLI', () => {
  test('nothing listens while loading; /health is 503 during warm-up, 200 once "fired up"', async () => {
    const sim = await startEngine('sglang', { waitReady: false, env: { SIM_LOAD_SECONDS: '1', SIM_WARMUP_SECONDS: '1.5' } });
    try {
      await waitFor(() => sim.output().includes('Load weight begin.'), 'loading');
      await assert.rejects(send(`${sim.url}/health`), (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED');
      await waitFor(() => sim.output().includes('Uvicorn running on'), 'uvicorn');
      assert.equal((await send(`${sim.url}/health`)).status, 503);
      assert.equal((await send(`${sim.url}/health_generate`)).status, 503);
      await waitFor(() => sim.output().includes('The server is fired up and ready to roll!'), 'warm-up');
      assert.equal((await send(`${sim.url}/health`)).status, 200);
    } finally {
      await sim.stop();
    }
  });

  test('without --enable-metrics there is no /metrics (404)', async () => {
    const sim = await startEngine('sglang');
    try {
      assert.equal((await send(`${sim.url}/metrics`)).status, 404);
    } finally {
      assert.equal(await sim.stop(), 0);
    }
  });

  test('argparse: --model-path is required, unknown options are refused, exit 2', async () => {
    const missing = await startEngine('sglang', { waitReady: false, rawArgs: ['python', '-m', 'sglang.launch_server', '--port', '1'] });
    assert.equal(await missing.exited, 2);
    assert.match(missing.output(), /^launch_server\.py: error: the following arguments are required: --model-path\/--model$/m);
    const unknown = await startEngine('sglang', { waitReady: false, args: ['--max-model-len', '4'] });
    assert.equal(await unknown.exited, 2);
    assert.match(unknown.output(), /^usage: launch_server\.py \[-h\] --model-path MODEL_PATH.*\nlaunch_server\.py: error: unrecognized arguments: --max-model-len 4$/m);
  });
});

describe('SIM_ENGINE', () => {
  test('an unknown engine is refused with exit 2', async () => {
    const sim = await startEngine('sglang', { waitReady: false, env: { SIM_ENGINE: 'llamacpp' } });
    assert.equal(await sim.exited, 2);
    assert.match(sim.output(), /SIM_ENGINE must be one of tgi, vllm, sglang/);
  });
});
