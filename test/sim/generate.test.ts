import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, send, sseData } from './fixtures.ts';

let sim: SimProcess;

before(async () => {
  sim = await startSim({ modelId: 'sim/generate-test', args: ['--max-total-tokens', '512', '--max-input-tokens', '256'] });
});
after(() => sim.stop());

async function generate(body: unknown) {
  const res = await postJson(`${sim.url}/generate`, body);
  assert.equal(res.status, 200, res.body);
  return { res, json: JSON.parse(res.body) };
}

describe('POST /generate', () => {
  test('answers generated_text and, when asked, details with exactly max_new_tokens tokens', async () => {
    const { res, json } = await generate({ inputs: 'What are three key benefits of renewable energy?', parameters: { max_new_tokens: 12, details: true } });
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(typeof json.generated_text, 'string');
    assert.ok(json.generated_text.length > 0);
    assert.equal(json.details.finish_reason, 'length');
    assert.equal(json.details.generated_tokens, 12);
    assert.equal(json.details.tokens.length, 12);
    assert.equal(json.details.seed, null, 'greedy decoding reports no seed');
    assert.deepEqual(json.details.prefill, [], 'prefill only with decoder_input_details');
    assert.equal(json.details.tokens.map((t: { text: string }) => t.text).join(''), json.generated_text);
    for (const token of json.details.tokens) {
      assert.equal(typeof token.id, 'number');
      assert.ok(token.logprob <= 0);
      assert.equal(token.special, false);
    }
  });

  test('without details there is no details field', async () => {
    const { json } = await generate({ inputs: 'Hello', parameters: { max_new_tokens: 3 } });
    assert.deepEqual(Object.keys(json), ['generated_text']);
  });

  test('puts every timing header on the response, with token counts that agree with /tokenize', async () => {
    const inputs = 'My name is Olivier and I';
    const { res } = await generate({ inputs, parameters: { max_new_tokens: 7 } });
    for (const name of ['x-compute-type', 'x-compute-time', 'x-compute-characters', 'x-total-time', 'x-validation-time', 'x-queue-time', 'x-inference-time', 'x-time-per-token', 'x-prompt-tokens', 'x-generated-tokens']) {
      assert.ok(res.headers[name] !== undefined, `missing ${name}`);
    }
    assert.equal(res.headers['x-compute-type'], 'gpu+optimized');
    assert.ok(Number.isFinite(Number(res.headers['x-compute-time'])));
    assert.equal(res.headers['x-compute-characters'], String(inputs.length));
    assert.equal(res.headers['x-generated-tokens'], '7');
    const tokens = JSON.parse((await postJson(`${sim.url}/tokenize`, { inputs })).body);
    assert.equal(res.headers['x-prompt-tokens'], String(tokens.length));
    assert.deepEqual(tokens[0], { id: 1, text: '', start: 0, stop: 0 }, 'BOS first, with empty text like TGI');
    assert.equal(tokens.slice(1).map((t: { text: string }) => t.text).join(''), inputs);
  });

  test('ignores "stream": true and answers plain JSON, like TGI', async () => {
    const res = await postJson(`${sim.url}/generate`, { inputs: 'Hi', parameters: { max_new_tokens: 3 }, stream: true });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(typeof JSON.parse(res.body).generated_text, 'string');
  });

  test('decoder_input_details gives prefill: [] without --enable-prefill-logprobs (launcher/src/main.rs, flash_causal_lm.py)', async () => {
    const { json } = await generate({ inputs: 'Deep learning is', parameters: { max_new_tokens: 2, decoder_input_details: true } });
    assert.deepEqual(json.details.prefill, []);
    assert.equal(json.details.generated_tokens, 2, 'decoder_input_details alone turns details on');
  });

  test('details.seed is null unless do_sample, even with a seed or warpers (flash_causal_lm.py: seed if do_sample else None)', async () => {
    const seeded = (await generate({ inputs: 'Seeds', parameters: { max_new_tokens: 2, seed: 5, details: true } })).json.details.seed;
    const warped = (await generate({ inputs: 'Seeds', parameters: { max_new_tokens: 2, temperature: 0.5, seed: 5, details: true } })).json.details.seed;
    assert.deepEqual([seeded, warped], [null, null]);
  });

  test('is deterministic for a prompt (greedy) and for a prompt and seed (sampling)', async () => {
    const body = { inputs: 'Tell me a story', parameters: { max_new_tokens: 25 } };
    const a = (await generate(body)).json.generated_text;
    const b = (await generate(body)).json.generated_text;
    assert.equal(a, b);
    const seeded = { inputs: 'Tell me a story', parameters: { max_new_tokens: 25, do_sample: true, seed: 42, details: true } };
    const s1 = (await generate(seeded)).json;
    const s2 = (await generate(seeded)).json;
    assert.equal(s1.generated_text, s2.generated_text);
    assert.equal(s1.details.seed, 42);
    const other = (await generate({ ...seeded, parameters: { ...seeded.parameters, seed: 43 } })).json;
    assert.notEqual(other.generated_text, s1.generated_text);
    const otherPrompt = (await generate({ ...body, inputs: 'Tell me a poem' })).json;
    assert.notEqual(otherPrompt.generated_text, a);
  });

  test('do_sample without a seed picks a random seed and reports it', async () => {
    const body = { inputs: 'Random', parameters: { max_new_tokens: 5, do_sample: true, details: true } };
    const first = (await generate(body)).json.details.seed;
    const second = (await generate(body)).json.details.seed;
    assert.ok(Number.isInteger(first) && Number.isInteger(second));
    assert.notEqual(first, second);
  });

  test('without parameters it samples (TGI default_parameters has do_sample: true)', async () => {
    const res = await postJson(`${sim.url}/generate`, { inputs: 'No parameters at all' });
    assert.equal(res.status, 200);
    assert.ok(JSON.parse(res.body).generated_text.length > 0);
  });

  test('without max_new_tokens it stops by itself with eos_token, within the budget', async () => {
    const { json } = await generate({ inputs: 'Explain transformers', parameters: { details: true } });
    assert.equal(json.details.finish_reason, 'eos_token');
    const last = json.details.tokens.at(-1);
    assert.deepEqual({ id: last.id, text: last.text, special: last.special }, { id: 2, text: '</s>', special: true });
    assert.ok(json.details.generated_tokens < 512);
    assert.ok(json.generated_text.endsWith('.'));
    assert.ok(!json.generated_text.includes('</s>'), 'special tokens are not part of the text');
  });

  test('stops at a stop sequence and keeps it in the text', async () => {
    const free = (await generate({ inputs: 'Stop test', parameters: { max_new_tokens: 30 } })).json.generated_text as string;
    const stop = free.split(' ')[3];
    const { json } = await generate({ inputs: 'Stop test', parameters: { max_new_tokens: 30, stop: [stop], details: true } });
    assert.equal(json.details.finish_reason, 'stop_sequence');
    assert.ok(json.generated_text.endsWith(stop));
    assert.ok(free.startsWith(json.generated_text));
  });

  test('return_full_text puts the prompt in front', async () => {
    const inputs = 'Once upon a time';
    const plain = (await generate({ inputs, parameters: { max_new_tokens: 4 } })).json.generated_text;
    const full = (await generate({ inputs, parameters: { max_new_tokens: 4, return_full_text: true } })).json.generated_text;
    assert.equal(full, inputs + plain);
  });

  test('best_of picks one candidate and lists the others in best_of_sequences', async () => {
    const { json } = await generate({ inputs: 'Best of', parameters: { max_new_tokens: 4, best_of: 2, do_sample: true, details: true } });
    assert.equal(json.details.best_of_sequences.length, 1);
    const other = json.details.best_of_sequences[0];
    assert.deepEqual(Object.keys(other), ['generated_text', 'finish_reason', 'generated_tokens', 'seed', 'prefill', 'tokens']);
  });

  test('top_n_tokens lists alternatives per token', async () => {
    const { json } = await generate({ inputs: 'Top n', parameters: { max_new_tokens: 3, top_n_tokens: 2, details: true } });
    assert.equal(json.details.top_tokens.length, 3);
    assert.ok(json.details.top_tokens.every((list: unknown[]) => list.length === 2));
  });
});

describe('POST / (compat)', () => {
  test('answers an array and returns the full text by default for a text-generation model', async () => {
    const res = await postJson(`${sim.url}/`, { inputs: 'Compat', parameters: { max_new_tokens: 3 } });
    assert.equal(res.status, 200);
    const json = JSON.parse(res.body);
    assert.ok(Array.isArray(json));
    assert.ok(json[0].generated_text.startsWith('Compat'));
  });

  test('streams SSE when stream is true', async () => {
    const res = await postJson(`${sim.url}/`, { inputs: 'Compat', parameters: { max_new_tokens: 3 }, stream: true });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(sseData(res.body).length, 3);
  });
});

describe('read-only routes', () => {
  test('GET /health, GET / and GET /ping answer 200 with an empty body', async () => {
    for (const path of ['/health', '/', '/ping']) {
      const res = await send(`${sim.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.equal(res.body, '', path);
    }
  });

  test('POST /tokenize: byte offsets, the text of each token is its bytes, truncate is ignored (server.rs encoding_to_tokens)', async () => {
    const inputs = 'Héllo wörld';
    const tokens = JSON.parse((await postJson(`${sim.url}/tokenize`, { inputs, parameters: { truncate: 1 } })).body);
    assert.deepEqual(tokens.map((t: { text: string; start: number; stop: number }) => [t.text, t.start, t.stop]), [['', 0, 0], ['Héllo', 0, 6], [' wörld', 6, 13]]);
  });

  test('GET /info has the TGI 3.x fields and the simulator block', async () => {
    const info = JSON.parse((await send(`${sim.url}/info`)).body);
    assert.deepEqual(Object.keys(info), [
      'model_id', 'model_sha', 'model_pipeline_tag', 'max_concurrent_requests', 'max_best_of', 'max_stop_sequences', 'max_input_tokens',
      'max_total_tokens', 'validation_workers', 'max_client_batch_size', 'router', 'version', 'sha', 'docker_label', 'simulator',
    ]);
    assert.equal(info.model_id, 'sim/generate-test');
    assert.equal(info.model_pipeline_tag, 'text-generation');
    assert.equal(info.max_input_tokens, 256);
    assert.equal(info.max_total_tokens, 512);
    assert.equal(info.max_concurrent_requests, 128);
    assert.equal(info.max_best_of, 2);
    assert.equal(info.max_stop_sequences, 4);
    assert.equal(info.max_client_batch_size, 4);
    assert.equal(info.router, 'text-generation-router');
    assert.equal(info.version, '3.3.6');
    assert.match(info.model_sha, /^[0-9a-f]{40}$/);
    assert.deepEqual(Object.keys(info.simulator), ['nvidia_visible_devices', 'cuda_visible_devices', 'num_shard', 'hostname', 'pid', 'vision']);
    assert.equal(info.simulator.pid, sim.child.pid);
    assert.equal(info.simulator.vision, false);
  });

  test('GET /v1/models lists the one model', async () => {
    const models = JSON.parse((await send(`${sim.url}/v1/models`)).body);
    assert.deepEqual(models, { object: 'list', data: [{ id: 'sim/generate-test', object: 'model', created: 0, owned_by: 'sim/generate-test' }] });
  });

  test('unknown paths are 404 and known paths with the wrong method 405 with axum\'s allow header', async () => {
    assert.equal((await send(`${sim.url}/nope`)).status, 404);
    const wrong = await send(`${sim.url}/generate`);
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, 'POST');
    const info = await send(`${sim.url}/info`, { method: 'POST', body: '{}' });
    assert.equal(info.status, 405);
    assert.equal(info.headers.allow, 'GET,HEAD');
  });
});

describe('POST /vertex and POST /invocations (router/src/vertex.rs, sagemaker.rs)', () => {
  test('/vertex: one prediction per instance; no instance is 422 "Input validation error"', async () => {
    const ok = await postJson(`${sim.url}/vertex`, { instances: [{ inputs: 'one', parameters: { max_new_tokens: 2 } }, { messages: [{ role: 'user', content: 'two' }], max_tokens: 2 }] });
    assert.equal(ok.status, 200, ok.body);
    const { predictions } = JSON.parse(ok.body);
    assert.equal(predictions.length, 2);
    const empty = await postJson(`${sim.url}/vertex`, { instances: [] });
    assert.equal(empty.status, 422);
    assert.deepEqual(JSON.parse(empty.body), { error: 'Input validation error', error_type: 'Input validation error' });
  });

  test('/vertex keeps only max_new_tokens and seed of a generate instance: other parameters are not validated', async () => {
    const res = await postJson(`${sim.url}/vertex`, { instances: [{ inputs: 'one', parameters: { max_new_tokens: 2, temperature: 0 } }] });
    assert.equal(res.status, 200, res.body);
  });

  test('/vertex: a failing instance makes the whole answer 500 "Incomplete generation"', async () => {
    const failing = await postJson(`${sim.url}/vertex`, { instances: [{ inputs: '' }] });
    assert.equal(failing.status, 500);
    assert.deepEqual(JSON.parse(failing.body), { error: 'Incomplete generation', error_type: 'Incomplete generation' });
  });

  test('/invocations dispatches generate, chat and completions bodies, and refuses others in plain text', async () => {
    const generated = JSON.parse((await postJson(`${sim.url}/invocations`, { inputs: 'Hi', parameters: { max_new_tokens: 2 } })).body);
    assert.ok(Array.isArray(generated));
    assert.equal(JSON.parse((await postJson(`${sim.url}/invocations`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 })).body).object, 'chat.completion');
    assert.equal(JSON.parse((await postJson(`${sim.url}/invocations`, { prompt: 'Hi', max_tokens: 2 })).body).object, 'text_completion');
    const neither = await postJson(`${sim.url}/invocations`, { nothing: 1 });
    assert.equal(neither.status, 422);
    assert.equal(neither.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(neither.body, 'Failed to deserialize the JSON body into the target type: data did not match any variant of untagged enum SagemakerRequest');
  });
});

describe('max_new_tokens above 1024 (router/src/validation.rs, infer/mod.rs re-queues in rounds)', () => {
  let roomy: SimProcess;

  before(async () => {
    roomy = await startSim({ args: ['--max-total-tokens', '3000'] });
  });
  after(() => roomy.stop());

  const generated = async (maxNewTokens: number) => {
    const res = await postJson(`${roomy.url}/generate`, { inputs: 'Long', parameters: { max_new_tokens: maxNewTokens, details: true } });
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body).details;
  };

  test('is accepted when input + 1024 fits, and runs in whole rounds of 1024: 1500 gives 2048 tokens', async () => {
    const details = await generated(1500);
    assert.deepEqual([details.finish_reason, details.generated_tokens], ['length', 2048]);
  });

  test('a round that would pass max_total_tokens is not run: 5000 gives 2048 tokens with 3000 in all', async () => {
    const details = await generated(5000);
    assert.deepEqual([details.finish_reason, details.generated_tokens], ['length', 2048]);
  });

  test('tgi_request_max_new_tokens records the validated value, min(max_new_tokens, 1024)', async () => {
    const metrics = (await send(`${roomy.url}/metrics`)).body;
    const sum = Number(/^tgi_request_max_new_tokens_sum (\S+)$/m.exec(metrics)![1]);
    const count = Number(/^tgi_request_max_new_tokens_count (\S+)$/m.exec(metrics)![1]);
    assert.equal(sum / count, 1024);
  });
});

describe('--enable-prefill-logprobs (launcher/src/main.rs sets REQUEST_LOGPROBS for the shards)', () => {
  let withPrefill: SimProcess;

  before(async () => {
    withPrefill = await startSim({ args: ['--enable-prefill-logprobs'] });
  });
  after(() => withPrefill.stop());

  test('decoder_input_details returns the prompt tokens, the first without a logprob', async () => {
    const res = await postJson(`${withPrefill.url}/generate`, { inputs: 'Deep learning is', parameters: { max_new_tokens: 2, decoder_input_details: true } });
    const prefill = JSON.parse(res.body).details.prefill;
    assert.equal(prefill.length, Number(res.headers['x-prompt-tokens']));
    assert.deepEqual(prefill[0], { id: 1, text: '<s>', logprob: null });
    assert.ok(prefill.slice(1).every((t: { logprob: number }) => typeof t.logprob === 'number'));
  });

  test('without decoder_input_details prefill stays empty', async () => {
    const res = await postJson(`${withPrefill.url}/generate`, { inputs: 'Deep learning is', parameters: { max_new_tokens: 2, details: true } });
    assert.deepEqual(JSON.parse(res.body).details.prefill, []);
  });
});
