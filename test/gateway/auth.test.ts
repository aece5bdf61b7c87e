import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { gatewayErrorMessage, http, startGateway, type GatewayFixture } from './fixture.ts';

describe('gateway auth', () => {
  let sim: SimProcess;
  let gw: GatewayFixture;

  before(async () => {
    sim = await startSim();
    gw = await startGateway({
      deployments: [{ model: 'hermes', upstream: sim.upstream }],
      settings: { authLockout: { failures: 3, windowMs: 60_000, lockoutMs: 60_000 } },
    });
  });
  after(async () => {
    await gw?.close();
    await sim?.stop();
  });

  test('a missing token is a 401 everywhere but /health and the dashboard page', async () => {
    for (const path of ['/hermes/gpu0/generate', '/hermes/generate', '/v1/chat/completions', '/v1/models', '/info', '/metrics', '/api/overview', '/prometheus/targets', '/nowhere']) {
      const res = await http(gw.url + path, { body: path.endsWith('generate') || path.startsWith('/v1/chat') ? { inputs: 'x' } : undefined });
      assert.match(gatewayErrorMessage(res, 401), /missing bearer token/, path);
      assert.match(gatewayErrorMessage(res, 401), /`npm run token -- --state-dir \S*gateway-test-\w+` prints it/, 'it says how to print the token of the state dir in use');
      assert.equal(res.json().error.type, 'authentication_error');
      assert.equal(res.headers['www-authenticate'], 'Bearer');
    }
    assert.equal((await http(`${gw.url}/health`)).status, 200);
    assert.equal((await http(`${gw.url}/`)).status, 200);
  });

  test('a wrong token is a 401; the right one passes', async () => {
    const wrong = await http(`${gw.url}/hermes/gpu0/info`, { token: 'not-the-token', localAddress: '127.0.0.3' });
    assert.match(gatewayErrorMessage(wrong, 401), /wrong bearer token/);
    assert.match(gatewayErrorMessage(wrong, 401), /`npm run token -- --state-dir \S*gateway-test-\w+` prints it/);
    const right = await http(`${gw.url}/hermes/gpu0/info`, { token: gw.token });
    assert.equal(right.status, 200);
    const scheme = await http(`${gw.url}/hermes/gpu0/info`, { headers: { authorization: `bearer ${gw.token}` } });
    assert.equal(scheme.status, 200, 'the scheme is case-insensitive');
  });

  test('repeated wrong tokens lock out that address only', async () => {
    const attacker = '127.0.0.4';
    const failuresBefore = await authFailures();
    for (let i = 0; i < 3; i++) gatewayErrorMessage(await http(`${gw.url}/info`, { token: `guess-${i}`, localAddress: attacker }), 401);
    const locked = await http(`${gw.url}/info`, { token: gw.token, localAddress: attacker });
    assert.match(gatewayErrorMessage(locked, 403), /too many wrong tokens from 127\.0\.0\.4/);
    assert.equal(locked.json().error.type, 'permission_error');
    assert.ok(Number(locked.headers['retry-after']) > 0);
    assert.equal((await http(`${gw.url}/hermes/gpu0/info`, { token: gw.token, localAddress: attacker })).status, 403);

    assert.equal((await http(`${gw.url}/info`, { token: gw.token, localAddress: '127.0.0.5' })).status, 200, 'another address is not affected');
    assert.equal((await http(`${gw.url}/info`, { token: gw.token })).status, 200);

    const notice = gw.notices.find((n) => n.kind === 'auth_lockout');
    assert.match(notice?.message ?? '', /127\.0\.0\.4 locked out/);
    assert.equal((await authFailures()) - failuresBefore, 5);
    const refused = gw.records.filter((r) => r.refusedBy === 'auth');
    assert.ok(refused.some((r) => r.status === 403) && refused.some((r) => r.status === 401));
  });

  test('the token does not appear in refusals, notices or records', async () => {
    const seen = JSON.stringify([gw.records, gw.notices]);
    assert.ok(!seen.includes(gw.token));
  });

  async function authFailures(): Promise<number> {
    const text = (await http(`${gw.url}/metrics`, { token: gw.token })).text;
    return Number(/^gateway_auth_failures_total (\d+)/m.exec(text)?.[1]);
  }
});

describe('gateway auth towards the upstream', () => {
  let upstream: Server;
  let seen: IncomingHttpHeaders[];
  let gw: GatewayFixture;

  before(async () => {
    seen = [];
    // A plain HTTP server as upstream: it records the headers it receives, which the simulator cannot show.
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end('{"generated_text":"ok"}');
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const port = (upstream.address() as AddressInfo).port;
    gw = await startGateway({ deployments: [{ model: 'echo', upstream: { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` } }] });
  });
  after(async () => {
    await gw?.close();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  test('the Authorization header is not forwarded; other request headers are', async () => {
    for (const path of ['/echo/gpu0/generate', '/echo/gpu0/v1/chat/completions', '/v1/completions']) {
      const res = await http(gw.url + path, { token: gw.token, body: { model: 'echo', inputs: 'hi', prompt: 'hi' }, headers: { 'x-request-id': 'abc-123' } });
      assert.equal(res.status, 200, path);
    }
    assert.equal(seen.length, 3);
    for (const headers of seen) {
      assert.equal(headers.authorization, undefined);
      assert.ok(!JSON.stringify(headers).includes(gw.token));
      assert.equal(headers['x-request-id'], 'abc-123');
      assert.equal(headers['content-type'], 'application/json');
    }
  });
});

describe('gateway /metrics without auth', () => {
  let gw: GatewayFixture;
  before(async () => {
    gw = await startGateway({ deployments: [], settings: { metricsAuth: false } });
  });
  after(async () => gw?.close());

  test('metrics_auth: false opens /metrics and nothing else', async () => {
    const metrics = await http(`${gw.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^# TYPE gateway_requests_total counter/m);
    assert.equal((await http(`${gw.url}/info`)).status, 401);
  });
});

describe('gateway auth lockout against many addresses', () => {
  let gw: GatewayFixture;
  before(async () => {
    gw = await startGateway({ deployments: [], settings: { authLockout: { failures: 3, windowMs: 60_000, lockoutMs: 60_000 } } });
  });
  after(async () => gw?.close());

  test('wrong tokens from 10,000 other addresses do not unlock a locked-out address', { timeout: 120_000 }, async () => {
    const attacker = '127.0.0.4';
    for (let i = 0; i < 3; i++) await http(`${gw.url}/info`, { token: `guess-${i}`, localAddress: attacker });
    assert.equal((await http(`${gw.url}/info`, { token: gw.token, localAddress: attacker })).status, 403);

    // One wrong token from each of 10,000 other loopback addresses: more than the table holds.
    const addresses = Array.from({ length: 10_000 }, (_, i) => `127.1.${i >> 8}.${i & 255}`);
    const parallel = 32;
    await Promise.all(
      Array.from({ length: parallel }, async (_, lane) => {
        for (let i = lane; i < addresses.length; i += parallel) {
          assert.equal((await http(`${gw.url}/info`, { token: 'wrong', localAddress: addresses[i] })).status, 401);
        }
      }),
    );

    const after = await http(`${gw.url}/info`, { token: gw.token, localAddress: attacker });
    assert.match(gatewayErrorMessage(after, 403), /too many wrong tokens from 127\.0\.0\.4/, 'still locked out');
    assert.equal((await http(`${gw.url}/info`, { token: gw.token, localAddress: '127.1.0.1' })).status, 200, 'one wrong token locks nobody');
  });
});

describe('gateway auth lockout on a dual-stack listener', () => {
  let gw: GatewayFixture;
  before(async () => {
    gw = await startGateway({ deployments: [], host: '::', settings: { authLockout: { failures: 3, windowMs: 60_000, lockoutMs: 60_000 } } });
  });
  after(async () => gw?.close());

  test('an IPv4 client (seen as ::ffff:a.b.c.d) is locked out as its IPv4 address; other IPv4 clients carry on', async () => {
    for (let i = 0; i < 3; i++) gatewayErrorMessage(await http(`${gw.url}/info`, { token: `guess-${i}`, localAddress: '127.0.0.4' }), 401);
    const locked = await http(`${gw.url}/info`, { token: gw.token, localAddress: '127.0.0.4' });
    assert.match(gatewayErrorMessage(locked, 403), /too many wrong tokens from 127\.0\.0\.4: /);
    assert.match(gw.notices.find((n) => n.kind === 'auth_lockout')?.message ?? '', /^127\.0\.0\.4 locked out/);
    assert.equal((await http(`${gw.url}/info`, { token: gw.token, localAddress: '127.0.0.5' })).status, 200, 'all IPv4-mapped addresses share ::/64, yet they are not one client');
  });

  test('an IPv6 client is locked out with its whole /64', async () => {
    const v6 = `http://[::1]:${gw.port}`;
    for (let i = 0; i < 3; i++) gatewayErrorMessage(await http(`${v6}/info`, { token: `guess-${i}` }), 401);
    assert.match(gatewayErrorMessage(await http(`${v6}/info`, { token: gw.token }), 403), /too many wrong tokens from ::\/64: /);
    assert.equal((await http(`${gw.url}/info`, { token: gw.token, localAddress: '127.0.0.6' })).status, 200);
  });
});
