import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenWindows, WINDOW_MS } from '../../gateway/token-window.ts';

test('tokens count for 60 s; the wait is until enough of the window has slid by', () => {
  const windows = new TokenWindows();
  windows.record('a', 40, 0);
  windows.record('a', 30, 10_000);
  windows.record('a', 0, 20_000);
  assert.equal(windows.used('a', 20_000), 70);
  assert.equal(windows.waitMs('a', 100, 20_000), 0, 'under budget: no wait');
  assert.equal(windows.waitMs('a', 50, 20_000), WINDOW_MS - 20_000, 'the first entry must slide out');
  assert.equal(windows.waitMs('a', 30, 20_000), WINDOW_MS + 10_000 - 20_000, 'both entries must slide out');
  assert.equal(windows.used('a', WINDOW_MS), 30);
  assert.equal(windows.used('a', WINDOW_MS + 10_000), 0);
  assert.equal(windows.used('b', 0), 0);
});

test('a busy key holds one slot per second, not one entry per request', () => {
  const windows = new TokenWindows();
  for (let at = 0; at < 5_000; at += 1) windows.record('busy', 1, at);
  assert.equal(windows.used('busy', 4_999), 5_000);
  assert.equal(windows.waitMs('busy', 4_500, 4_999), WINDOW_MS - 4_999, "the first second's 1,000 tokens must slide out");
  assert.equal(windows.used('busy', WINDOW_MS + 999), 4_000, 'the first second has left the window');
});
