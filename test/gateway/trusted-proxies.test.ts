import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ClientAddresses, clientAddress, forwardedClient, TrustedProxies } from '../../gateway/client-address.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';

// gateway.trusted_proxies: X-Forwarded-For names the client only when the connection comes from a
// trusted proxy; the lockout and the rate limits then apply to the forwarded client, not the proxy.

/** A request as the server sees it: a peer address and headers (all clientAddress reads). */
function fakeRequest(peer: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress: peer } as Socket, headers } as IncomingMessage;
}

describe('trusted proxies: address and CIDR matching', () => {
  test('IPv4 addresses and CIDRs; IPv4-mapped IPv6 peers match IPv4 entries', () => {
    const proxies = new TrustedProxies(['127.0.0.1', '10.0.0.0/8', '192.168.1.0/24']);
    for (const inside of ['127.0.0.1', '10.255.0.3', '192.168.1.200', '::ffff:10.1.2.3', '::ffff:127.0.0.1']) assert.ok(proxies.contains(inside), inside);
    for (const outside of ['127.0.0.2', '11.0.0.1', '192.168.2.1', '::ffff:11.0.0.1', '::1', 'not an address', '']) assert.ok(!proxies.contains(outside), outside);
  });

  test('IPv6 addresses and CIDRs, with or without a zone; an IPv4-mapped CIDR covers IPv4 peers', () => {
    const proxies = new TrustedProxies(['fd00::/8', '2001:db8:1:2::/64', '::1', 'fe80::1', '::ffff:172.16.0.0/108']);
    for (const inside of ['fd12:3456::1', '2001:db8:1:2:ffff::9', '::1', 'fe80::1%eth0', '172.16.5.5', '::ffff:172.31.255.255']) assert.ok(proxies.contains(inside), inside);
    for (const outside of ['fe00::1', '2001:db8:1:3::1', '::2', '172.32.0.1', '127.0.0.1']) assert.ok(!proxies.contains(outside), outside);
  });

  test('an empty list trusts nobody; an entry that is no address or CIDR matches nothing', () => {
    assert.ok(new TrustedProxies([]).empty);
    const odd = new TrustedProxies(['proxy.local', '10.0.0.0/33', '10.0.0.0/x']);
    assert.ok(!odd.empty);
    assert.ok(!odd.contains('10.0.0.1'));
  });
});

describe('trusted proxies: the client behind X-Forwarded-For', () => {
  const proxies = new TrustedProxies(['10.0.0.0/8', 'fd00::/8']);

  test('the right-most address that is not a trusted proxy; what the client wrote to its left does not count', () => {
    assert.equal(forwardedClient('10.0.0.1', '203.0.113.7', proxies), '203.0.113.7');
    assert.equal(forwardedClient('10.0.0.1', '198.51.100.1, 203.0.113.7', proxies), '203.0.113.7', 'a spoofed entry to the left is ignored');
    assert.equal(forwardedClient('10.0.0.1', '198.51.100.1, 203.0.113.7, 10.0.0.9, fd00::5', proxies), '203.0.113.7', 'proxies of the chain are walked past');
    assert.equal(forwardedClient('10.0.0.1', ['198.51.100.1', '203.0.113.7'], proxies), '203.0.113.7', 'several headers read as one list');
    assert.equal(forwardedClient('10.0.0.1', '2001:db8::7', proxies), '2001:db8::7');
  });

  test('ports and brackets are dropped; when every entry is a proxy, the left-most', () => {
    assert.equal(forwardedClient('10.0.0.1', '203.0.113.7:5123', proxies), '203.0.113.7');
    assert.equal(forwardedClient('10.0.0.1', '[2001:db8::7]:443', proxies), '2001:db8::7');
    assert.equal(forwardedClient('10.0.0.1', '[2001:db8::7]', proxies), '2001:db8::7');
    assert.equal(forwardedClient('10.0.0.1', '10.0.0.3, 10.0.0.2', proxies), '10.0.0.3');
  });

  test('a malformed entry the walk reaches: the proxy itself is the client', () => {
    for (const header of ['', 'unknown', '203.0.113.7, garbage', '203.0.113.7,,', '[2001:db8::7', '999.1.1.1', '203.0.113.7:99999']) {
      assert.equal(forwardedClient('10.0.0.1', header, proxies), '10.0.0.1', JSON.stringify(header));
    }
    assert.equal(forwardedClient('10.0.0.1', 'garbage, 203.0.113.7', proxies), '203.0.113.7', 'left of the client nothing is read');
  });

  test('clientAddress: the forwarded client only from a trusted peer, and the list is read per request', () => {
    let list: readonly string[] = ['10.0.0.0/8'];
    const addresses = new ClientAddresses(() => list);
    const fromProxy = fakeRequest('10.0.0.1', { 'x-forwarded-for': '203.0.113.7' });
    addresses.resolve(fromProxy);
    assert.equal(clientAddress(fromProxy), '203.0.113.7');
    const fromClient = fakeRequest('198.51.100.1', { 'x-forwarded-for': '203.0.113.7' });
    addresses.resolve(fromClient);
    assert.equal(clientAddress(fromClient), '198.51.100.1', 'X-Forwarded-For from an untrusted peer is ignored');
    const noHeader = fakeRequest('10.0.0.1');
    addresses.resolve(noHeader);
    assert.equal(clientAddress(noHeader), '10.0.0.1');
    assert.ok(addresses.isTrustedProxy('10.9.9.9'));

    list = ['192.168.0.0/16']; // a reload
    const afterReload = fakeRequest('10.0.0.1', { 'x-forwarded-for': '203.0.113.7' });
    addresses.resolve(afterReload);
    assert.equal(clientAddress(afterReload), '10.0.0.1');
    assert.ok(!addresses.isTrustedProxy('10.9.9.9'));
  });
});

describe('trusted proxies: a real gateway', () => {
  let sim: SimProcess;
  const body = { inputs: 'Hi', parameters: { max_new_tokens: 2 } };
  const FAILURES = 5;

  before(async () => {
    sim = await startSim();
  });
  after(async () => {
    await sim?.stop();
  });

  async function withGateway(trustedProxies: string[], run: (gw: GatewayFixture) => Promise<void>): Promise<void> {
    const gw = await startGateway({
      deployments: [{ model: 'rated', upstream: sim.upstream, limits: { requestsPerSecond: 0.01, burst: 2 } }],
      settings: { trustedProxies, authLockout: { failures: FAILURES, windowMs: 600_000, lockoutMs: 600_000 } },
    });
    try {
      await run(gw);
    } finally {
      await gw.close();
    }
  }

  const generate = (gw: GatewayFixture, options: { token?: string; forwardedFor?: string; localAddress?: string }) =>
    http(`${gw.url}/rated/gpu0/generate`, { token: options.token ?? gw.token, body, localAddress: options.localAddress, headers: options.forwardedFor ? { 'x-forwarded-for': options.forwardedFor } : {} });

  test('from an untrusted peer X-Forwarded-For is ignored: spoofed addresses still lock out the real one', async () => {
    await withGateway(['10.0.0.0/8'], async (gw) => {
      for (let i = 0; i < FAILURES; i++) {
        assert.equal((await generate(gw, { token: 'wrong', forwardedFor: `203.0.113.${i + 1}` })).status, 401);
      }
      const locked = await generate(gw, { forwardedFor: '198.51.100.99' });
      assert.match(gatewayErrorMessage(locked, 403), /too many wrong tokens from 127\.0\.0\.1/);
      assert.equal((await generate(gw, { localAddress: '127.0.0.2' })).status, 200, 'another address is not locked out');
    });
  });

  test('from an untrusted peer X-Forwarded-For does not give a fresh rate-limit bucket', async () => {
    await withGateway([], async (gw) => {
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.1' })).status, 200);
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.2' })).status, 200);
      gatewayErrorMessage(await generate(gw, { forwardedFor: '203.0.113.3' }), 429);
    });
  });

  test('from a trusted proxy the lockout applies to the forwarded client, not to the proxy', async () => {
    await withGateway(['127.0.0.1'], async (gw) => {
      for (let i = 0; i < FAILURES; i++) {
        assert.equal((await generate(gw, { token: 'wrong', forwardedFor: `198.51.100.1, 203.0.113.7` })).status, 401);
      }
      const locked = await generate(gw, { forwardedFor: '203.0.113.7' });
      assert.match(gatewayErrorMessage(locked, 403), /too many wrong tokens from 203\.0\.113\.7/);
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.8' })).status, 200, 'another client behind the same proxy is served');
      assert.equal((await generate(gw, {})).status, 200, 'the proxy itself is not locked out');
      assert.equal(gw.notices.filter((n) => n.kind === 'auth_lockout').length, 1);
      assert.match(gw.notices.find((n) => n.kind === 'auth_lockout')!.message, /^203\.0\.113\.7 locked out/);
    });
  });

  test('from a trusted proxy the rate limit is the forwarded client\'s; a malformed header counts as the proxy', async () => {
    await withGateway(['127.0.0.0/8'], async (gw) => {
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.7' })).status, 200);
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.7' })).status, 200);
      assert.match(gatewayErrorMessage(await generate(gw, { forwardedFor: '203.0.113.7' }), 429), /rate limit for rated\/gpu0 reached/);
      assert.equal((await generate(gw, { forwardedFor: '203.0.113.8' })).status, 200, 'another client behind the proxy has its own bucket');
      assert.equal((await generate(gw, { forwardedFor: '2001:db8::1' })).status, 200);

      assert.equal((await generate(gw, { forwardedFor: 'garbage' })).status, 200, 'malformed: the proxy 127.0.0.1 is the client');
      assert.equal((await generate(gw, {})).status, 200);
      gatewayErrorMessage(await generate(gw, { forwardedFor: '203.0.113.9, nonsense' }), 429); // the walk reaches "nonsense": 127.0.0.1 again, its bucket is spent
    });
  });
});
