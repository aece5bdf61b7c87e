import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
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

const SERIES = {
  counter: ['tgi_request_count', 'tgi_request_success', 'tgi_request_failure'],
  gauge: ['tgi_queue_size', 'tgi_batch_current_size', 'tgi_batch_current_max_tokens', 'tgi_batch_max_total_tokens'],
  histogram: [
    'tgi_request_duration', 'tgi_request_validation_duration', 'tgi_request_queue_duration', 'tgi_request_inference_duration',
    'tgi_request_mean_time_per_token_duration', 'tgi_request_input_length', 'tgi_request_generated_tokens', 'tgi_batch_forward_duration',
  ],
};

describe('GET /metrics', () => {
  test('lists the tgi_* series of the contract with their types; counters have no _total suffix', async () => {
    const metrics = await scrape();
    for (const [type, names] of Object.entries(SERIES)) for (const name of names) assert.match(metrics, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name);
    assert.doesNotMatch(metrics, /_total[ {]/);
    assert.equal(value(metrics, 'tgi_batch_max_total_tokens'), 5000);
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
