import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBuckets } from '../../gateway/token-bucket.ts';

describe('token buckets', () => {
  const limits = { requestsPerSecond: 2, burst: 3 };

  test('a new client may burst, then is held to the rate', () => {
    const buckets = new TokenBuckets();
    for (let i = 0; i < 3; i++) assert.equal(buckets.tryTake('a', limits, 0), true);
    assert.equal(buckets.tryTake('a', limits, 0), false);
    assert.deepEqual(buckets.state('a', limits, 0), { remaining: 0, retryAfterSeconds: 0.5 });
    assert.equal(buckets.tryTake('a', limits, 250), false, 'half a token after 250 ms');
    assert.equal(buckets.tryTake('a', limits, 500), true, 'one token after 500 ms');
    assert.equal(buckets.tryTake('b', limits, 500), true, 'clients have separate buckets');
  });

  test('a bucket never holds more than the burst', () => {
    const buckets = new TokenBuckets();
    buckets.tryTake('a', limits, 0);
    assert.equal(buckets.state('a', limits, 60_000).remaining, 3);
  });

  test('sweep forgets clients whose bucket is full again; a cap bounds the rest', () => {
    const buckets = new TokenBuckets(100);
    for (let i = 0; i < 50; i++) buckets.tryTake(`client-${i}`, limits, 0);
    buckets.tryTake('busy', limits, 0);
    buckets.tryTake('busy', limits, 0);
    buckets.tryTake('busy', limits, 0);
    buckets.sweep(limits, 600);
    assert.equal(buckets.size, 1, 'only the client that is still refilling is kept');
    for (let i = 0; i < 1000; i++) buckets.tryTake(`flood-${i}`, limits, 700);
    assert.equal(buckets.size, 100);
  });
});
