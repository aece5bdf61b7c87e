import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, sseData } from './fixtures.ts';

async function waitForLog(line: string): Promise<void> {
  for (let i = 0; i < 100 && !sim.output().includes(line); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(sim.output().includes(line), `no log line ${line}`);
}

let sim: SimProcess;

before(async () => {
  sim = await startSim({ args: ['--max-total-tokens', '512'] });
});
after(() => sim.stop());

describe('POST /generate_stream', () => {
  test('frames every token as `data: {json}\\n\\n`, byte for byte, with no event names and no [DONE]', async () => {
    const inputs = 'My name is Olivier and I';
    const parameters = { max_new_tokens: 6, details: true };
    const plainRes = await postJson(`${sim.url}/generate`, { inputs, parameters });
    const plain = JSON.parse(plainRes.body);
    const res = await postJson(`${sim.url}/generate_stream`, { inputs, parameters });
    assert.equal(res.status, 200);
    const tokens = plain.details.tokens as Array<{ id: number; text: string; logprob: number; special: boolean }>;
    const expected = tokens
      .map((token, i) => {
        const last = i === tokens.length - 1;
        const event = {
          index: i + 1,
          token: { id: token.id, text: token.text, logprob: token.logprob, special: token.special },
          generated_text: last ? plain.generated_text : null,
          details: last ? { finish_reason: 'length', generated_tokens: 6, seed: null, input_length: Number(plainRes.headers['x-prompt-tokens']) } : null,
        };
        return `data: ${JSON.stringify(event)}\n\n`;
      })
      .join('');
    assert.equal(res.body, expected);
    assert.ok(!res.body.includes('[DONE]'));
    assert.ok(!res.body.includes('event:'));
  });

  test('sends the stream headers TGI sends', async () => {
    const res = await postJson(`${sim.url}/generate_stream`, { inputs: 'Headers', parameters: { max_new_tokens: 2 } });
    assert.equal(res.headers['content-type'], 'text/event-stream');
    assert.equal(res.headers['cache-control'], 'no-cache');
    assert.equal(res.headers['x-accel-buffering'], 'no');
    assert.equal(res.headers['x-compute-type'], 'gpu+optimized');
    assert.equal(res.headers['x-compute-characters'], String('Headers'.length));
  });

  test('without details the last event has generated_text and details null', async () => {
    const res = await postJson(`${sim.url}/generate_stream`, { inputs: 'No details', parameters: { max_new_tokens: 2 } });
    const last = JSON.parse(sseData(res.body).at(-1)!);
    assert.equal(typeof last.generated_text, 'string');
    assert.equal(last.details, null);
  });

  test('a validation error arrives inside a 200 stream, with the prefix, and the stream then ends (server.rs generate_stream)', async () => {
    const inputs = 'Too long';
    const inputTokens = JSON.parse((await postJson(`${sim.url}/tokenize`, { inputs })).body).length;
    const res = await postJson(`${sim.url}/generate_stream`, { inputs, parameters: { max_new_tokens: 5000 } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/event-stream');
    const error = `Input validation error: \`inputs\` tokens + \`max_new_tokens\` must be <= 512. Given: ${inputTokens} \`inputs\` tokens and 1024 \`max_new_tokens\``;
    assert.equal(res.body, `data: ${JSON.stringify({ error, error_type: 'validation' })}\n\n`);
  });

  test('decoder_input_details and best_of != 1 (0 too) are rejected inside the stream (server.rs generate_stream_internal)', async () => {
    const prefill = await postJson(`${sim.url}/generate_stream`, { inputs: 'x', parameters: { decoder_input_details: true } });
    assert.equal(prefill.status, 200);
    assert.equal(prefill.body, 'data: {"error":"Input validation error: `decoder_input_details` == true is not supported when streaming tokens","error_type":"validation"}\n\n');
    for (const bestOf of [2, 0]) {
      const res = await postJson(`${sim.url}/generate_stream`, { inputs: 'x', parameters: { best_of: bestOf, do_sample: true } });
      assert.equal(res.body, 'data: {"error":"Input validation error: `best_of` != 1 is not supported when streaming tokens","error_type":"validation"}\n\n', `best_of ${bestOf}`);
    }
    await waitForLog('router/src/server.rs:552: Input validation error: `decoder_input_details` == true is not supported when streaming tokens');
  });

  test('return_full_text puts the prompt in front of the last event\'s generated_text', async () => {
    const res = await postJson(`${sim.url}/generate_stream`, { inputs: 'Prompt', parameters: { max_new_tokens: 2, return_full_text: true } });
    const events = sseData(res.body).map((e) => JSON.parse(e));
    assert.equal(events.at(-1).generated_text, `Prompt${events.map((e) => e.token.text).join('')}`);
  });

  test('top_n_tokens adds top_tokens right after token in every event', async () => {
    const res = await postJson(`${sim.url}/generate_stream`, { inputs: 'Top', parameters: { max_new_tokens: 2, top_n_tokens: 2 } });
    for (const event of sseData(res.body).map((e) => JSON.parse(e))) {
      assert.deepEqual(Object.keys(event), ['index', 'token', 'top_tokens', 'generated_text', 'details']);
      assert.equal(event.top_tokens.length, 2);
    }
  });
});

describe('pacing and keep-alive', () => {
  test('at a token rate, events arrive one by one rather than all at once', async () => {
    const paced = await startSim({ env: { SIM_TOKENS_PER_SECOND: '40' } });
    try {
      const res = await postJson(`${paced.url}/generate_stream`, { inputs: 'Paced', parameters: { max_new_tokens: 5 } });
      assert.equal(sseData(res.body).length, 5);
      assert.ok(res.chunks.length >= 5, `expected separate chunks, got ${res.chunks.length}`);
    } finally {
      await paced.stop();
    }
  });

  test('a silent stream gets `:\\n\\n` keep-alive comments', async () => {
    const silent = await startSim({ env: { SIM_HANG: '1', SIM_KEEP_ALIVE_SECONDS: '0.2' }, args: ['--graceful-termination-timeout', '0'] });
    try {
      const controller = new AbortController();
      const res = await fetch(`${silent.url}/generate_stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: 'hang' }), signal: controller.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const { value } = await reader.read();
      assert.equal(new TextDecoder().decode(value), ':\n\n');
      controller.abort();
    } finally {
      await silent.stop();
    }
  });
});
