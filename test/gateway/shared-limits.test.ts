// gateway.redis_url: two real gateways over one state dir share one real redis-server, and enforce one
// budget (a key's rate, token budget and concurrency, the per-client deployment rate, lockouts); with
// Redis stopped both keep serving on their own limits (one warning each), and share again once it is back.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { KeyStore, keysPath, newKey, writeKeys, type StoredKey } from '../../orchestrator/keys.ts';
import { TokenStore } from '../../orchestrator/token.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import type { GatewaySettings, Logger } from '../../gateway/types.ts';
import { http, makeDeployment, testSettings, type DeploymentFixture } from './fixture.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { startSim, type SimProcess } from '../helpers/sim.ts';
import { waitFor } from '../helpers/wait.ts';

const skip = redisSkipReason();

interface LogLine {
  level: string;
  message: string;
}

interface SharedGateway {
  url: string;
  gateway: Gateway;
  lines: LogLine[];
}

function capturingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (a: object | string, b?: string) => void lines.push({ level, message: typeof a === 'string' ? a : (b ?? '') });
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } as Logger;
}

describe('limits shared through Redis', { skip }, () => {
  let redis: RedisServer;
  let fast: SimProcess;
  let slow: SimProcess;
  let stateDir: string;
  let operator: string;
  const keys: Record<string, string> = {};
  let settings: GatewaySettings;
  let a: SharedGateway;
  let b: SharedGateway;

  const keyLimits: Record<string, StoredKey['limits']> = {
    rate: { requestsPerSecond: 0.01, burst: 3 },
    tpm: { tokensPerMinute: 10 },
    conc: { maxConcurrent: 1 },
    after: { requestsPerSecond: 0.01, burst: 2 },
    many: { maxConcurrent: 50, tokensPerMinute: 1_000_000 },
  };

  const startShared = async (settings: GatewaySettings, deployments: DeploymentFixture[]): Promise<SharedGateway> => {
    const table = new DeploymentTable<StubDeployment>();
    for (const f of deployments) table.add(makeDeployment(f));
    table.synced = true;
    const lines: LogLine[] = [];
    const gateway = createGateway({ table, settings: () => settings, tokens: await TokenStore.open(stateDir), keys: await KeyStore.open(keysPath(stateDir)), gpus: () => [], events: new EventEmitter(), log: capturingLogger(lines) });
    const port = await gateway.listen(0, '127.0.0.1');
    return { url: `http://127.0.0.1:${port}`, gateway, lines };
  };
  const generate = (g: SharedGateway, token: string, route = 'fast', body: object | string = { inputs: 'Hi there', parameters: { max_new_tokens: 2 } }, localAddress?: string) =>
    http(`${g.url}/${route}/generate`, { token, body, localAddress });
  /** A request that passes the key's checks and is then refused for its body: it uses no tokens. */
  const probe = (g: SharedGateway, token: string) => generate(g, token, 'fast', 'not json');
  const warnings = (g: SharedGateway) => g.lines.filter((l) => l.level === 'warn' && l.message.includes('Redis'));
  const redisUp = async (g: SharedGateway) => /^gateway_redis_up\{url="[^"]+"\} (\d)$/m.exec((await http(`${g.url}/metrics`, { token: operator })).text)?.[1];

  before(async () => {
    redis = await startRedisServer();
    [fast, slow] = await Promise.all([startSim(), startSim({ env: { SIM_TOKENS_PER_SECOND: '5' } })]);
    stateDir = await mkdtemp(join(tmpdir(), 'shared-limits-'));
    const stored: StoredKey[] = [];
    for (const [name, limits] of Object.entries(keyLimits)) {
      const { key, hash } = newKey();
      keys[name] = key;
      stored.push({ name, hash, limits, createdAt: Date.now() });
    }
    await writeKeys(keysPath(stateDir), stored);
    operator = (await TokenStore.open(stateDir)).token;
    settings = testSettings({ redisUrl: redis.url, authLockout: { failures: 3, windowMs: 60_000, lockoutMs: 60_000 } });
    const deployments: DeploymentFixture[] = [
      { model: 'fast', upstream: fast.upstream },
      { model: 'slow', upstream: slow.upstream },
      { model: 'limited', upstream: fast.upstream, limits: { requestsPerSecond: 0.01, burst: 2 } },
    ];
    a = await startShared(settings, deployments);
    b = await startShared(settings, deployments);
    for (const g of [a, b]) await waitFor('the gateway to reach Redis', async () => (await redisUp(g)) === '1', 15_000);
  });

  after(async () => {
    await Promise.all([a?.gateway.close(1000), b?.gateway.close(1000)]);
    await Promise.all([fast?.stop(), slow?.stop(), redis?.cleanup()]);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test("a key's rate and burst are shared by both gateways", async () => {
    assert.equal((await generate(a, keys.rate)).status, 200);
    assert.equal((await generate(b, keys.rate)).status, 200);
    assert.equal((await generate(a, keys.rate)).status, 200);
    const refused = await generate(b, keys.rate);
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.json().error.message, /rate limit of API key "rate" reached/);
    assert.equal(refused.headers['ratelimit-policy'], '0.01;w=1;burst=3');
  });

  test("a key's token budget counts the tokens used through either gateway", async () => {
    const used = await generate(a, keys.tpm, 'fast', { inputs: 'Hi there', parameters: { max_new_tokens: 12 } });
    assert.equal(used.status, 200, used.text);
    assert.ok(Number(used.headers['x-generated-tokens']) >= 10, `the simulator generated ${used.headers['x-generated-tokens']} tokens`);
    // B never relayed a token of this key: its refusal comes from the count A left in Redis.
    const refused = await waitFor('gateway B to refuse the spent key', async () => {
      const res = await probe(b, keys.tpm);
      return res.status === 429 ? res : undefined;
    }, 10_000);
    assert.match(refused.json().error.message, /API key "tpm" used its budget of 10 tokens per minute/);
    assert.ok(Number(refused.headers['retry-after']) >= 1);
  });

  test("a key's max-concurrent counts its requests on both gateways", async () => {
    const controller = new AbortController();
    const streaming = await fetch(`${a.url}/slow/generate_stream`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.conc}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: 'Hi there', parameters: { max_new_tokens: 200 } }),
      signal: controller.signal,
    });
    assert.equal(streaming.status, 200);
    const reader = streaming.body!.getReader();
    await reader.read(); // the first event: the request is in flight on A
    const refused = await waitFor('gateway B to see the request in flight on A', async () => {
      const res = await probe(b, keys.conc);
      return res.status === 429 ? res : undefined;
    }, 10_000);
    assert.match(refused.json().error.message, /API key "conc" already has 1 requests in flight/);
    controller.abort();
    await reader.cancel().catch(() => {});
    await waitFor('gateway B to admit the key again once A has finished', async () => (await probe(b, keys.conc)).status === 400, 10_000);
  });

  test('requests of one key that begin and end together leave Redis the right in-flight count and every token they used', async () => {
    const raw = new Redis(redis.url);
    try {
      const sum = async (hash: string) => (await raw.hvals(hash)).reduce((n, v) => n + Number(v), 0);
      const requests = Array.from({ length: 20 }, () => generate(a, keys.many, 'slow', { inputs: 'Hi there', parameters: { max_new_tokens: 4 } }));
      await waitFor("A's 20 requests in flight to be filed in Redis", async () => (await sum('tgi-gateway:inflight:many')) === 20, 10_000);
      const answers = await Promise.all(requests);
      for (const answer of answers) assert.equal(answer.status, 200, answer.text);
      const used = answers.reduce((n, r) => n + Number(r.headers['x-prompt-tokens']) + Number(r.headers['x-generated-tokens']), 0);
      assert.ok(used >= 20 * 4, `the answers report ${used} tokens`);
      await waitFor('A to file that none is in flight any more', async () => (await raw.exists('tgi-gateway:inflight:many')) === 0, 5_000);
      await waitFor('the tokens of all 20 to be counted in Redis', async () => (await sum('tgi-gateway:tpm:many')) === used, 5_000);
    } finally {
      raw.disconnect();
    }
  });

  test('the in-flight counts of a gateway that stopped beating are ignored', async () => {
    const raw = new Redis(redis.url);
    try {
      const redisNow = async () => {
        const [seconds, micros] = await raw.time();
        return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
      };
      // Another gateway of the fleet, alive, with the key's one request in flight.
      await raw.zadd('tgi-gateway:gateways', await redisNow(), 'another-gateway');
      await raw.hset('tgi-gateway:inflight:conc', 'another-gateway', 1);
      assert.equal((await probe(b, keys.conc)).status, 429);
      // It died: its last heartbeat is a minute old.
      await raw.zadd('tgi-gateway:gateways', (await redisNow()) - 60_000, 'another-gateway');
      assert.equal((await probe(b, keys.conc)).status, 400, 'admitted (then refused for its body)');
      assert.equal(await raw.hget('tgi-gateway:inflight:conc', 'another-gateway'), null, 'the dead count is deleted');
    } finally {
      raw.disconnect();
    }
  });

  test("a client's rate limit for a deployment is shared", async () => {
    assert.equal((await generate(a, operator, 'limited')).status, 200);
    assert.equal((await generate(b, operator, 'limited')).status, 200);
    const refused = await generate(a, operator, 'limited');
    assert.equal(refused.status, 429, refused.text);
    assert.match(refused.json().error.message, /rate limit for limited\/gpu0 reached/);
    assert.equal(refused.headers['ratelimit-remaining'], '0');
  });

  test('a lockout on one gateway refuses the address on the other, and failures add up across them', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await generate(a, 'wrong-token', 'fast', undefined, '127.0.0.5')).status, 401);
    await waitFor('gateway B to refuse the locked-out address', async () => (await generate(b, operator, 'fast', undefined, '127.0.0.5')).status === 403, 10_000);
    assert.equal((await generate(b, operator)).status, 200, 'another address is not locked out');

    assert.equal((await generate(a, 'wrong-token', 'fast', undefined, '127.0.0.6')).status, 401);
    assert.equal((await generate(b, 'wrong-token', 'fast', undefined, '127.0.0.6')).status, 401);
    assert.equal((await generate(b, 'wrong-token', 'fast', undefined, '127.0.0.6')).status, 401);
    for (const g of [a, b]) await waitFor('both gateways to lock out 127.0.0.6', async () => (await generate(g, operator, 'fast', undefined, '127.0.0.6')).status === 403, 10_000);
  });

  test('with Redis stopped both gateways serve on their own limits, say so once, and share again when it returns', async () => {
    await redis.stop();
    for (const g of [a, b]) {
      await waitFor('a warning that limits are per gateway', () => warnings(g).length > 0, 10_000);
      for (let i = 0; i < 3; i++) assert.equal((await generate(g, operator)).status, 200, 'requests are served while Redis is down');
      // Local limits still apply: the key's burst of 2, in this gateway's memory.
      assert.equal((await generate(g, keys.after)).status, 200);
      assert.equal((await generate(g, keys.after)).status, 200);
      assert.equal((await generate(g, keys.after)).status, 429);
      assert.equal(await redisUp(g), '0');
    }
    for (const g of [a, b]) {
      assert.equal(warnings(g).length, 1, warnings(g).map((l) => l.message).join('\n'));
      assert.match(warnings(g)[0].message, new RegExp(`Redis at redis://127\\.0\\.0\\.1:${redis.port}/0 does not answer .*per gateway until it does`));
    }

    await redis.start();
    for (const g of [a, b]) await waitFor('the gateway to reach Redis again', async () => (await redisUp(g)) === '1', 15_000);
    for (const g of [a, b]) assert.equal(g.lines.filter((l) => l.level === 'info' && /answers again/.test(l.message)).length, 1);
    // A fresh Redis: the deployment's per-client buckets start full, and are shared again.
    assert.equal((await generate(a, operator, 'limited')).status, 200);
    assert.equal((await generate(b, operator, 'limited')).status, 200);
    assert.equal((await generate(b, operator, 'limited')).status, 429);
    assert.equal(warnings(a).length + warnings(b).length, 2, 'no further warnings');
  });

  test('a stalled Redis stalls no request: the gateways go on on their own limits until it answers again', async () => {
    const before = warnings(a).length;
    redis.freeze();
    try {
      // Answered after at most the command timeout; the next ones do not wait for Redis at all.
      for (let i = 0; i < 3; i++) assert.equal((await generate(a, operator)).status, 200);
      assert.equal(warnings(a).length, before + 1);
    } finally {
      redis.thaw();
    }
    await waitFor('gateway A to see Redis answer again', async () => (await redisUp(a)) === '1', 15_000);
    assert.equal(a.lines.filter((l) => l.level === 'info' && /answers again/.test(l.message)).length, 2);
  });

  test('a reload that changes redis_url reconnects both gateways to the new one', async () => {
    settings.redisUrl = redis.urlForDb(1); // both gateways read this settings object, as after a reload
    for (const g of [a, b]) {
      // The next request (here: a scrape) sees the new URL and connects.
      await waitFor('gateway_redis_up 1 on the new Redis db', async () => (await redisUp(g)) === '1', 15_000);
      assert.ok(g.lines.some((l) => l.level === 'info' && l.message.includes(`shared through Redis at ${redis.urlForDb(1)}`)));
    }
    // db 1 holds nothing of db 0: the client's buckets are full there, and shared.
    assert.equal((await generate(a, operator, 'limited')).status, 200);
    assert.equal((await generate(b, operator, 'limited')).status, 200);
    assert.equal((await generate(a, operator, 'limited')).status, 429);
  });
});
