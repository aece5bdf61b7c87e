import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressGroup, AuthLockout } from '../../gateway/auth-lockout.ts';

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

describe('auth lockout under pressure', () => {
  const settings = { failures: 2, windowMs: 60_000, lockoutMs: 5000 };

  test('a locked address stays locked until its lockout ends, whatever other addresses do', () => {
    const lockout = new AuthLockout(() => settings, 4);
    lockout.recordFailure('10.0.0.1', 0);
    assert.equal(lockout.recordFailure('10.0.0.1', 0), true);
    for (let i = 0; i < 1000; i++) lockout.recordFailure(`10.1.${i >> 8}.${i & 255}`, 10);
    assert.ok(lockout.size <= 4, `the table stays bounded (${lockout.size})`);
    assert.equal(lockout.lockedFor('10.0.0.1', 100), 4900);
    assert.equal(lockout.lockedFor('10.0.0.1', 5000), 0);
  });

  test('when the table is full, the record of the address that failed longest ago and is not locked goes first', () => {
    const lockout = new AuthLockout(() => settings, 3);
    lockout.recordFailure('10.0.0.1', 0);
    lockout.recordFailure('10.0.0.2', 1);
    lockout.recordFailure('10.0.0.3', 2);
    lockout.recordFailure('10.0.0.4', 3); // full: 10.0.0.1's one failure is forgotten
    assert.equal(lockout.recordFailure('10.0.0.2', 4), true, '10.0.0.2 kept its count');
    assert.equal(lockout.recordFailure('10.0.0.3', 5), true, '10.0.0.3 kept its count');
    assert.equal(lockout.recordFailure('10.0.0.1', 6), false, '10.0.0.1 starts again from one failure (10.0.0.4 made room)');
    assert.ok(lockout.lockedFor('10.0.0.2', 7) > 0 && lockout.lockedFor('10.0.0.3', 7) > 0);
  });

  test('when every record is a lockout, new failures are not tracked and nobody is unlocked', () => {
    const lockout = new AuthLockout(() => ({ ...settings, failures: 1 }), 2);
    assert.equal(lockout.recordFailure('10.0.0.1', 0), true);
    assert.equal(lockout.recordFailure('10.0.0.2', 0), true);
    assert.equal(lockout.recordFailure('10.0.0.3', 1), false);
    assert.equal(lockout.lockedFor('10.0.0.3', 1), 0);
    assert.equal(lockout.size, 2);
    assert.ok(lockout.lockedFor('10.0.0.1', 1) > 0 && lockout.lockedFor('10.0.0.2', 1) > 0);
    assert.equal(lockout.recordFailure('10.0.0.3', 5000), true, 'once lockouts end there is room again');
  });

  test('IPv6 addresses are counted and locked out by their /64', () => {
    const lockout = new AuthLockout(() => settings);
    lockout.recordFailure('2001:db8:1:2::1', 0);
    assert.equal(lockout.recordFailure('2001:db8:1:2:ffff:ffff:ffff:9', 1), true, 'two addresses of one /64 add up');
    assert.ok(lockout.lockedFor('2001:0db8:0001:0002:abcd::7', 2) > 0, 'the whole /64 is locked');
    assert.equal(lockout.lockedFor('2001:db8:1:3::1', 2), 0, 'the next /64 is not');
  });

  test('an IPv4-mapped IPv6 address counts as its IPv4 address, not as part of ::/64', () => {
    const lockout = new AuthLockout(() => settings);
    lockout.recordFailure('::ffff:10.0.0.1', 0);
    assert.equal(lockout.recordFailure('10.0.0.1', 1), true);
    assert.ok(lockout.lockedFor('::FFFF:10.0.0.1', 2) > 0);
    assert.equal(lockout.lockedFor('::ffff:10.0.0.2', 2), 0, 'other IPv4 clients of a dual-stack listener are not affected');
    assert.equal(lockout.lockedFor('::1', 2), 0);
  });

  test('addressGroup names what is counted: the IPv4 address, or the IPv6 /64', () => {
    for (const [address, group] of [
      ['10.0.0.1', '10.0.0.1'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::FFFF:127.0.0.4', '127.0.0.4'],
      ['2001:db8:1:2::1', '2001:db8:1:2::/64'],
      ['2001:0db8:0001:0000:abcd::1', '2001:db8:1::/64'],
      ['2001:db8:a:b:c:d:e:f', '2001:db8:a:b::/64'],
      ['2001:db8::', '2001:db8::/64'],
      ['2001:0:0:1::5', '2001:0:0:1::/64'],
      ['::1', '::/64'],
      ['fe80::1%eth0', 'fe80::/64'],
      ['64:ff9b::10.0.0.1', '64:ff9b::/64'],
    ]) {
      assert.equal(addressGroup(address), group, address);
    }
  });
});
