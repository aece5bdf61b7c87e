import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AuthLockout } from '../../gateway/auth-lockout.ts';

describe('auth lockout', () => {
  const settings = { failures: 3, windowMs: 1000, lockoutMs: 5000 };

  test('the nth wrong token within the window locks that address out for lockoutMs', () => {
    const lockout = new AuthLockout(() => settings);
    assert.equal(lockout.recordFailure('10.0.0.1', 0), false);
    assert.equal(lockout.recordFailure('10.0.0.1', 100), false);
    assert.equal(lockout.recordFailure('10.0.0.2', 150), false);
    assert.equal(lockout.recordFailure('10.0.0.1', 200), true);
    assert.equal(lockout.lockedFor('10.0.0.1', 1200), 4000);
    assert.equal(lockout.lockedFor('10.0.0.2', 1200), 0);
    assert.equal(lockout.lockedFor('10.0.0.1', 5200), 0);
  });

  test('failures spread wider than the window never lock', () => {
    const lockout = new AuthLockout(() => settings);
    for (let t = 0; t < 10_000; t += 600) assert.equal(lockout.recordFailure('10.0.0.1', t), false);
  });

  test('sweep forgets addresses whose window and lockout are over', () => {
    const lockout = new AuthLockout(() => settings);
    lockout.recordFailure('10.0.0.1', 0);
    for (let i = 0; i < 3; i++) lockout.recordFailure('10.0.0.2', 0);
    lockout.sweep(2000);
    assert.equal(lockout.size, 1, 'the locked address is kept');
    lockout.sweep(6000);
    assert.equal(lockout.size, 0);
  });
});
