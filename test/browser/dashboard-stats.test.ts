import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BUCKET_MS, RequestStats, WINDOW_MS } from '../../gateway/dashboard/stats.ts';
import type { RequestRecord } from '../../gateway/types.ts';

// The dashboard's 15-minute ring of 5-second buckets, driven by an injected clock.

const T0 = 1_700_000_000_000 - (1_700_000_000_000 % BUCKET_MS);
const record = (at: number, extra: Partial<RequestRecord> = {}): RequestRecord => ({
  key: 'm/gpu0', model: 'm', gpuLabel: 'gpu0', status: 200, durationMs: 100, generatedTokens: 10, stream: false, at, ...extra,
});

test('summary: rates over the window, latency and TTFT quantiles, 5xx errors and 429s counted apart', () => {
  let now = T0 + 59_999;
  const stats = new RequestStats(() => now);
  for (let i = 0; i < 95; i++) stats.record(record(T0 + i * 600, { durationMs: 100 }));
  for (let i = 0; i < 5; i++) stats.record(record(T0 + i * 600 + 1, { durationMs: 5000, status: 502 }));
  stats.record(record(T0 + 10, { status: 429, durationMs: 1, generatedTokens: 0 }));
  stats.record(record(T0 + 20, { stream: true, ttftMs: 40 }));
  stats.record(record(T0 + 30, { key: undefined, status: 404 }));

  const s = stats.summary('m/gpu0', 60_000);
  assert.equal(s.errors, 5);
  assert.equal(s.limited, 1);
  assert.ok(Math.abs(s.requestsPerSecond - 102 / 60) < 0.01, `requests/s ${s.requestsPerSecond}`);
  assert.ok(Math.abs(s.tokensPerSecond - 1010 / 60) < 0.01, `tokens/s ${s.tokensPerSecond}`);
  assert.ok(s.p50Ms! > 88 && s.p50Ms! < 113, `p50 ${s.p50Ms} should be about 100 ms`);
  assert.ok(s.p95Ms! > 88 && s.p95Ms! < 113, `p95 ${s.p95Ms} should be about 100 ms (5 slow of 103)`);
  assert.ok(s.ttftP50Ms! > 35 && s.ttftP50Ms! < 46, `ttft ${s.ttftP50Ms} should be about 40 ms`);
  assert.deepEqual(stats.summary('other/gpu0', 60_000), { requestsPerSecond: 0, tokensPerSecond: 0, p50Ms: undefined, p95Ms: undefined, ttftP50Ms: undefined, ttftP95Ms: undefined, errors: 0, limited: 0 });

  now = T0 + 60_000 + 59_999;
  assert.equal(stats.summary('m/gpu0', 60_000).requestsPerSecond, 0, 'a minute later the last minute is empty');
  assert.equal(stats.summary('m/gpu0', WINDOW_MS).errors, 5, 'but the 15-minute window still holds it');
  now = T0 + WINDOW_MS + BUCKET_MS;
  assert.equal(stats.summary('m/gpu0', WINDOW_MS).errors, 0, 'after 15 minutes it is gone');
});

test('series: 180 complete buckets, oldest first, latency null where no request finished', () => {
  let now = T0 + 3 * BUCKET_MS + 1;
  const stats = new RequestStats(() => now);
  stats.record(record(T0 + BUCKET_MS, { durationMs: 250 }));
  stats.record(record(T0 + BUCKET_MS + 10, { durationMs: 250, status: 503 }));
  stats.record(record(T0 + 3 * BUCKET_MS, { durationMs: 250 })); // still-filling bucket: not in the series yet

  const snap = stats.series(['m/gpu0', 'quiet/gpu1']);
  assert.equal(snap.bucketMs, BUCKET_MS);
  const s = snap.byKey['m/gpu0'];
  assert.equal(s.requestsPerSecond.length, WINDOW_MS / BUCKET_MS);
  assert.equal(snap.start + s.requestsPerSecond.length * BUCKET_MS, T0 + 3 * BUCKET_MS, 'ends where the current bucket starts');
  const i = (T0 + BUCKET_MS - snap.start) / BUCKET_MS;
  assert.equal(s.requestsPerSecond[i], 2 / (BUCKET_MS / 1000));
  assert.equal(s.errorsPerSecond[i], 1 / (BUCKET_MS / 1000));
  assert.equal(s.tokensPerSecond[i], 20 / (BUCKET_MS / 1000));
  assert.ok(s.p95Ms[i]! > 220 && s.p95Ms[i]! < 280);
  assert.equal(s.p50Ms[i + 1], null);
  assert.equal(s.requestsPerSecond.reduce((a, b) => a + b, 0), 2 / (BUCKET_MS / 1000));
  assert.ok(snap.byKey['quiet/gpu1'].requestsPerSecond.every((v) => v === 0));

  now += BUCKET_MS;
  const later = stats.series(['m/gpu0']).byKey['m/gpu0'];
  assert.equal(later.requestsPerSecond.at(-1), 1 / (BUCKET_MS / 1000), 'the bucket that was filling is in once complete');
});

test('a slot reused after the window drops the old counts; records older than the window are ignored', () => {
  let now = T0;
  const stats = new RequestStats(() => now);
  stats.record(record(T0));
  now = T0 + WINDOW_MS;
  stats.record(record(T0 + WINDOW_MS)); // lands in the same ring slot as T0
  stats.record(record(T0)); // arrives late, older than the window
  now = T0 + WINDOW_MS + BUCKET_MS;
  const requests = stats.series(['m/gpu0']).byKey['m/gpu0'].requestsPerSecond.reduce((a, b) => a + b, 0) * (BUCKET_MS / 1000);
  assert.equal(requests, 1);
});
