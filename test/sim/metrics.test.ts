import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { contractMetrics } from '../../scripts/conformance/contract-metrics.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { postJson, send, waitForInFlight } from './fixtures.ts';

let sim: SimProcess;

before(async () => {
  sim = await startSim({ args: ['--max-total-tokens', '200', '--max-input-tokens', '100', '--max-batch-total-tokens', '5000'] });
});
after(() => sim.stop());

async function scrape(url = sim.url): Promise<string> {
  const res = await send(`${url}/metrics`);
  assert.equal(res.status, 200);
  assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  return res.body;
}

function value(metrics: string, series: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** Real TGI series the simulator never records (it never fails a batch, never concatenates batches). */
const NEVER_RECORDED = new Set(['tgi_batch_inference_failure', 'tgi_batch_concat', 'tgi_batch_concat_duration']);

describe('GET /metrics', () => {
  test('lists exactly the tgi_* series of docs/tgi-contract.md it records, with their types; counters have no _total suffix', async () => {
    const metrics = await scrape();
    const exposed = new Map([...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]));
    const contract = contractMetrics();
    for (const { name, type } of contract) {
      if (NEVER_RECORDED.has(name)) assert.ok(!exposed.has(name), `${name} is listed but never recorded`);
      else assert.equal(exposed.get(name), type, name);
    }
    const known = new Set(contract.map((m) => m.name));
    for (const name of exposed.keys()) assert.ok(known.has(name), `${name} is not a series real TGI exports`);
    assert.doesNotMatch(metrics, /_total[ {]/);
    assert.equal(value(metrics, 'tgi_batch_max_total_tokens'), 5000);
  });

  test('tgi_request_skipped_tokens is a summary (a histogram without buckets in server.rs)', async () => {
    await postJson(`${sim.url}/generate`, { inputs: 'Skip', parameters: { max_new_tokens: 3 } });
    const metrics = await scrape();
    assert.match(metrics, /^tgi_request_skipped_tokens\{quantile="0\.5"\} 0$/m);
    assert.ok(value(metrics, 'tgi_request_skipped_tokens_count') >= 3);
  });

  test('a client that goes away mid-generation counts as tgi_request_failure{err="dropped"} (backends/v3/src/backend.rs)', async () => {
    const slow = await startSim({ env: { SIM_TOKENS_PER_SECOND: '20' } });
    try {
      const controller = new AbortController();
      postJson(`${slow.url}/generate_stream`, { inputs: 'Drop me', parameters: { max_new_tokens: 50 } }, controller.signal).catch(() => {});
      await waitForInFlight(slow.url, 1);
      controller.abort();
      await waitForInFlight(slow.url, 0);
      assert.equal(value(await scrape(slow.url), 'tgi_request_failure{err="dropped"}'), 1);
    } finally {
      await slow.stop();
    }
  });

  test('real requests move the counters and histograms', async () => {
    const before = await scrape();
    const ok = await postJson(`${sim.url}/generate`, { inputs: 'Count me', parameters: { max_new_tokens: 6 } });
    assert.equal(ok.status, 200);
    const invalid = await postJson(`${sim.url}/generate`, { inputs: 'Too many', parameters: { max_new_tokens: 500 } });
    assert.equal(invalid.status, 422);
    const after = await scrape();
    assert.equal(value(after, 'tgi_request_count') - value(before, 'tgi_request_count'), 2);
    assert.equal(value(after, 'tgi_request_success') - value(before, 'tgi_request_success'), 1);
    assert.equal(value(after, 'tgi_request_failure{err="validation"}') - value(before, 'tgi_request_failure{err="validation"}'), 1);
    assert.equal(value(after, 'tgi_request_duration_count') - value(before, 'tgi_request_duration_count'), 1);
    assert.equal(value(after, 'tgi_request_generated_tokens_sum') - value(before, 'tgi_request_generated_tokens_sum'), 6);
    assert.equal(value(after, 'tgi_request_generated_tokens_bucket{le="+Inf"}') - value(before, 'tgi_request_generated_tokens_bucket{le="+Inf"}'), 1);
    assert.equal(value(after, 'tgi_request_input_length_sum') - value(before, 'tgi_request_input_length_sum'), Number(ok.headers['x-prompt-tokens']));
  });

  test('tgi_request_count counts chat and completions requests once more than their generations (server.rs)', async () => {
    const before = value(await scrape(), 'tgi_request_count');
    await postJson(`${sim.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 2 });
    await postJson(`${sim.url}/v1/completions`, { prompt: ['a', 'b'], max_tokens: 2 });
    assert.equal(value(await scrape(), 'tgi_request_count') - before, 2 + 3);
  });

  test('histograms use TGI buckets: durations from 0.00015 s by x1.5, token counts in 100 steps', async () => {
    const metrics = await scrape();
    assert.match(metrics, /^tgi_request_duration_bucket\{le="0\.00015[0-9]*"\} \d+$/m);
    assert.equal(metrics.split('\n').filter((l) => l.startsWith('tgi_request_duration_bucket')).length, 36);
    assert.match(metrics, /^tgi_request_input_length_bucket\{le="1"\} \d+$/m);
    assert.match(metrics, /^tgi_request_input_length_bucket\{le="100"\} \d+$/m);
    assert.match(metrics, /^tgi_request_generated_tokens_bucket\{le="200"\} \d+$/m);
  });

  test('the batch gauges show requests being generated', async () => {
    const hung = await startSim({ env: { SIM_HANG: '1' }, args: ['--graceful-termination-timeout', '0'] });
    const holder = new AbortController();
    try {
      postJson(`${hung.url}/generate`, { inputs: 'Hold', parameters: { max_new_tokens: 10 } }, holder.signal).catch(() => {});
      await waitForInFlight(hung.url, 1);
      const metrics = await scrape(hung.url);
      assert.ok(value(metrics, 'tgi_batch_current_max_tokens') >= 10);
      holder.abort();
      await waitForInFlight(hung.url, 0);
    } finally {
      holder.abort();
      await hung.stop();
    }
  });
});
