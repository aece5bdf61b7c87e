// A gateway replica (`npm run gateway -- --state-dir DIR`) next to a real `up` of simulators, both as
// real processes: the same routes, token and API keys; models.yaml edits reach it; it starts, stops
// and adopts nothing; /health/live and /health/ready for the load balancer in front.
import { spawn, type ChildProcess } from 'node:child_process';
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readUsage } from '../../orchestrator/key-usage.ts';
import { freePort } from '../../orchestrator/net.ts';
import { redisSkipReason, startRedisServer, type RedisServer } from '../helpers/redis-server.ts';
import { ROOT } from '../helpers/sim.ts';
import { runCli as cli, runUp, testLockDir, stopAndRemove, upOnConfig, type RunningUp } from '../helpers/up.ts';
import { waitFor } from '../helpers/wait.ts';

const yaml = (port: number, models: string, gateway = '') => `
gateway:
  port: ${port}
  drain_timeout: 10s
${gateway}defaults:
  runtime: simulator
  simulator: { load_seconds: 0, tokens_per_second: 0 }
models:
${models}`;
const SECRET = 'hf_for_the_server_only_0123456789';
const ONE = `  - name: one\n    model_id: sim/one\n    gpus: [0]\n    env: { HF_TOKEN: ${SECRET} }\n`;
const SLOW = '  - name: slow\n    model_id: sim/slow\n    gpus: [1]\n    simulator: { load_seconds: 0, tokens_per_second: 20 }\n';
/** Loads for a few seconds, so a gateway can be seen without a ready replica of it. */
const LATE = '  - name: late\n    model_id: sim/late\n    gpus: [2]\n    simulator: { load_seconds: 4, tokens_per_second: 0 }\n';

interface Replica {
  url: string;
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `npm run gateway -- --state-dir DIR [args]` as a real process, without VALID_TOKEN in its environment. */
async function runReplica(stateDir: string, args: string[] = []): Promise<Replica> {
  const port = args.includes('--port') ? Number(args[args.indexOf('--port') + 1]) : 0;
  const { VALID_TOKEN: _none, ...env } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'orchestrator/cli/main.ts'), 'gateway', '--state-dir', stateDir, ...args], {
    cwd: ROOT,
    env: { ...env, LOG_FORMAT: 'pretty', FLEET_LOCK_DIR: await testLockDir() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code))); // all output read
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    exited,
    output: () => out,
    waitForOutput: async (pattern, timeoutMs = 30_000) => {
      await waitFor(`${pattern} in the replica's output:\n${out}`, () => pattern.test(out) || (child.exitCode !== null && assert.fail(`the replica exited with ${child.exitCode}:\n${out}`)), timeoutMs);
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

const as = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const generate = (url: string, token: string, route: string, maxNewTokens = 2) =>
  fetch(`${url}/${route}/generate`, { method: 'POST', headers: as(token), body: JSON.stringify({ inputs: 'Hi', parameters: { max_new_tokens: maxNewTokens } }) });

interface InfoRow { route: string; instance_name: string | null; state: string; restarts: number; upstream: string | null }
const infoOf = async (url: string, token: string): Promise<InfoRow[]> => ((await (await fetch(`${url}/info`, { headers: as(token) })).json()) as { deployments: InfoRow[] }).deployments;
/** What `up` runs: route → instance (a pid for simulators) and its restarts. */
const instances = async (service: RunningUp) => Object.fromEntries((await infoOf(service.url, service.token)).map((d) => [d.route, `${d.instance_name} restarts ${d.restarts}`]));
const statusOf = async (url: string, path: string) => (await fetch(url + path)).status;

describe('gateway replica', () => {
  let dir: string;
  let config: string;
  let fleetPort: number;
  let service: RunningUp;
  let replica: Replica | undefined;
  /** team-a's key, scoped to `one`. */
  let key: string;

  before(async () => {
    fleetPort = await freePort();
    ({ dir, config, service } = await upOnConfig('fleet-replica-', yaml(fleetPort, ONE + SLOW), { port: fleetPort }));
  });

  after(async () => {
    await replica?.stop('SIGKILL');
    await stopAndRemove(service, dir);
  });

  test('without a fleet in its state dir it exits 1 saying to run up first, and makes no token', async () => {
    const empty = join(dir, 'no-fleet');
    const result = await cli(['gateway', '--state-dir', empty, '--port', String(await freePort())]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /gateway refused: no fleet in .*no-fleet: .*run `npm run up -- --state-dir .*no-fleet` first/);
    await assert.rejects(access(join(empty, 'token.json')), /ENOENT/);
  });

  test("on the fleet's own port (taken by up) it exits 1 saying so and to pass --port", async () => {
    const result = await cli(['gateway', '--state-dir', service.stateDir]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${fleetPort} is in use by the gateway of fleet "${service.fleet}" \\(pid \\d+\\); pass a free one with --port`));
  });

  test("serves up's routes with up's token and a key added by `keys add`, starting nothing, locking nothing, writing no token", async () => {
    const before = await instances(service);
    const tokenFile = join(service.stateDir, 'token.json');
    const owned = async () => ({ locks: (await readdir(service.lockDir)).sort(), upLock: await readFile(join(service.stateDir, 'up.lock'), 'utf8'), token: await readFile(tokenFile, 'utf8'), tokenWritten: (await stat(tokenFile)).mtimeMs });
    const ownedBefore = await owned();
    replica = await runReplica(service.stateDir, ['--port', String(await freePort())]);
    await replica.waitForOutput(/gateway replica of fleet "t-\w+" listening on/);
    assert.deepEqual(await owned(), ownedBefore, "the replica took no lock and left up's token file alone");
    assert.doesNotMatch(replica.output(), new RegExp(service.token), 'the token is never logged');
    const view = await readFile(join(service.stateDir, 'served.json'), 'utf8');
    assert.ok(!view.includes(SECRET) && !view.includes(service.token), "served.json holds neither the servers' environment nor the token");
    assert.equal((await stat(join(service.stateDir, 'served.json'))).mode & 0o777, 0o600, 'its settings may hold a Redis password');

    assert.equal((await generate(replica.url, service.token, 'one/gpu0')).status, 200);
    assert.equal((await generate(replica.url, 'wrong-token-0123456789abcdef', 'one/gpu0')).status, 401);
    const replicaInfo = await infoOf(replica.url, service.token);
    const upInfo = await infoOf(service.url, service.token);
    assert.deepEqual(replicaInfo.map((d) => [d.route, d.instance_name, d.upstream, d.state]), upInfo.map((d) => [d.route, d.instance_name, d.upstream, d.state]));

    const added = await cli(['keys', 'add', 'team-a', '--models', 'one', '--state-dir', service.stateDir]);
    assert.equal(added.code, 0, added.stderr);
    key = /^API_KEY=(\S+)$/m.exec(added.stdout)![1];
    await waitFor('the replica to accept the new key', async () => (await generate(replica!.url, key, 'one/gpu0')).status === 200, 10_000);
    assert.equal((await generate(replica.url, key, 'slow/gpu1')).status, 403, "the key's scope holds on the replica too");
    assert.deepEqual(await instances(service), before, 'no server was started, stopped or restarted');
  });

  test('a models.yaml edit applied by up (models and settings) reaches the replica; /health/ready is 503 while a model has no ready replica', async () => {
    const before = await instances(service);
    assert.equal(await statusOf(replica!.url, '/metrics'), 401);
    await writeFile(config, yaml(fleetPort, ONE + SLOW + LATE, '  metrics_auth: false\n'));
    const notReady = await waitFor('the replica to know /late/gpu2 and find it not ready', async () => {
      const res = await fetch(`${replica!.url}/health/ready`);
      const body = (await res.json()) as { message?: string };
      return res.status === 503 && /no ready replica of late/.test(body.message ?? '') && body;
    }, 20_000);
    assert.ok(notReady);
    assert.equal(await statusOf(replica!.url, '/health/live'), 200);
    await waitFor('/health/ready 200 on the replica once late is ready', async () => (await statusOf(replica!.url, '/health/ready')) === 200, 30_000);
    assert.equal((await generate(replica!.url, service.token, 'late/gpu2')).status, 200);
    assert.equal(await statusOf(replica!.url, '/metrics'), 200, 'gateway settings come from up too');

    await writeFile(config, yaml(fleetPort, ONE + SLOW));
    await waitFor('/late/gpu2 to be gone from the replica', async () => (await generate(replica!.url, service.token, 'late/gpu2')).status === 404, 20_000);
    await waitFor('/metrics to need the token again', async () => (await statusOf(replica!.url, '/metrics')) === 401, 10_000);
    const after = await instances(service);
    delete after['/late/gpu2'];
    assert.deepEqual(after, before, 'the edit touched only the model it added and removed');
  });

  test('gateway.keys_file reaches the replica: an edit naming another keys file switches both gateways to its keys, and back', async () => {
    const withKeysFile = yaml(fleetPort, ONE + SLOW, '  keys_file: team-keys.json\n');
    const next = join(dir, 'next.yaml');
    await writeFile(next, withKeysFile);
    const added = await cli(['keys', 'add', 'team-b', '--config', next]);
    assert.equal(added.code, 0, added.stderr);
    const teamB = /^API_KEY=(\S+)$/m.exec(added.stdout)![1];
    assert.equal((await generate(replica!.url, teamB, 'one/gpu0')).status, 401);

    await writeFile(config, withKeysFile);
    for (const url of [service.url, replica!.url]) {
      await waitFor(`${url} to accept the key of team-keys.json`, async () => (await generate(url, teamB, 'one/gpu0')).status === 200, 10_000);
      assert.equal((await generate(url, key, 'one/gpu0')).status, 401, "the state dir's keys no longer apply");
    }
    await replica!.waitForOutput(/API keys are now those of .*team-keys\.json/);

    await writeFile(config, yaml(fleetPort, ONE + SLOW));
    for (const url of [service.url, replica!.url]) await waitFor(`${url} to accept team-a's key again`, async () => (await generate(url, key, 'one/gpu0')).status === 200, 10_000);
  });

  test('killing the replica changes nothing in up', async () => {
    const before = await instances(service);
    assert.equal(await replica!.stop('SIGKILL'), null);
    replica = undefined;
    assert.equal(await statusOf(service.url, '/health'), 200);
    assert.equal((await generate(service.url, service.token, 'one/gpu0')).status, 200);
    assert.deepEqual(await instances(service), before);
    assert.equal(service.child.exitCode, null, 'up keeps running');
  });

  test('SIGTERM: /health/live turns 503 while an in-flight stream drains, then the replica exits 0 and its key usage counts', async () => {
    replica = await runReplica(service.stateDir, ['--port', String(await freePort())]);
    await replica.waitForOutput(/listening on/);
    assert.equal(await statusOf(replica.url, '/health/live'), 200);
    for (let i = 0; i < 3; i++) assert.equal((await generate(replica.url, key, 'one/gpu0')).status, 200);
    const stream = generate(replica.url, service.token, 'slow/gpu1', 60).then(async (res) => ({ status: res.status, text: await res.text() }));
    await waitFor('the request to be in flight on the replica', async () => {
      const { deployments } = (await (await fetch(`${replica!.url}/info`, { headers: as(service.token) })).json()) as { deployments: Array<{ route: string; in_flight: number }> };
      return deployments.some((d) => d.route === '/slow/gpu1' && d.in_flight === 1);
    });
    replica.child.kill('SIGTERM');
    await replica.waitForOutput(/SIGTERM: no new requests; draining/);
    const draining = await fetch(`${replica.url}/health/live`);
    assert.equal(draining.status, 503);
    assert.equal(((await draining.json()) as { status: string }).status, 'draining');
    const answer = await stream;
    assert.equal(answer.status, 200, 'the in-flight request finished');
    assert.equal(await replica.exited, 0);
    const replicaUrl = replica.url;
    replica = undefined;
    const own = await readUsage(service.stateDir, `gateway-${new URL(replicaUrl).port}`);
    assert.equal(own['team-a']?.requests, 3, "the replica's usage has a file of its own, written as it exits");
    const listed = await cli(['keys', 'list', '--state-dir', service.stateDir]);
    assert.equal(listed.code, 0, listed.stderr);
    // Counted with them: team-a's earlier requests on up's gateway, once its 10-second flush has run.
    const listedRequests = Number(/^team-a .* (\d+) +\d+ +\d+ *$/m.exec(listed.stdout)?.[1]);
    assert.ok(listedRequests >= 3, `\`keys list\` counts team-a's 3 requests on the replica:\n${listed.stdout}`);
  });

  test('a second SIGTERM a second later cuts the drain and exits 143; up and its servers are untouched', async () => {
    const before = await instances(service);
    replica = await runReplica(service.stateDir, ['--port', String(await freePort())]);
    await replica.waitForOutput(/listening on/);
    const stream = generate(replica.url, service.token, 'slow/gpu1', 400).then(async (res) => res.text()).then(() => 'completed', () => 'cut');
    await waitFor('the request to be in flight on the replica', async () => {
      const { deployments } = (await (await fetch(`${replica!.url}/info`, { headers: as(service.token) })).json()) as { deployments: Array<{ route: string; in_flight: number }> };
      return deployments.some((d) => d.route === '/slow/gpu1' && d.in_flight === 1);
    });
    replica.child.kill('SIGTERM');
    await replica.waitForOutput(/SIGTERM: no new requests; draining/);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // a repeat within a second counts as the same request
    replica.child.kill('SIGTERM');
    assert.equal(await replica.exited, 143);
    assert.match(replica.output(), /SIGTERM again .* exiting without waiting; cut 1 in-flight request\(s\) \(slow\/gpu1: 1\) and killed 0 local server\(s\)/);
    replica = undefined;
    assert.equal(await stream, 'cut');
    assert.equal(await statusOf(service.url, '/health'), 200);
    assert.deepEqual(await instances(service), before, "the replica's exit stopped no server");
  });

  test('when up stops, the replica says so and keeps serving the last known routes; a new up is followed', async () => {
    replica = await runReplica(service.stateDir, ['--port', String(await freePort())]);
    await replica.waitForOutput(/listening on/);
    assert.equal(await service.stop(), 0);
    await replica.waitForOutput(/up \(pid \d+\) of fleet "t-\w+" is not running: serving the last known routes \(\/one\/gpu0, \/slow\/gpu1\)/);
    const routes = (await infoOf(replica.url, service.token)).map((d) => d.route);
    assert.deepEqual(routes, ['/one/gpu0', '/slow/gpu1']);
    assert.equal(await statusOf(replica.url, '/health/live'), 200);
    assert.equal(replica.child.exitCode, null);

    service = await runUp({ config, port: fleetPort, stateDir: service.stateDir, fleet: service.fleet });
    await service.waitHealthy();
    await replica.waitForOutput(new RegExp(`following the deployments of up \\(pid ${service.child.pid}\\)`));
    await waitFor('the replica to relay to the new servers', async () => (await generate(replica!.url, service.token, 'one/gpu0')).status === 200, 20_000);
    assert.deepEqual((await infoOf(replica.url, service.token)).map((d) => d.upstream), (await infoOf(service.url, service.token)).map((d) => d.upstream));
  });
});

describe('a replica and up sharing limits through gateway.redis_url', { skip: redisSkipReason() }, () => {
  let redis: RedisServer;
  let dir: string;
  let service: RunningUp;
  let replica: Replica;

  before(async () => {
    redis = await startRedisServer();
    const port = await freePort();
    ({ dir, service } = await upOnConfig('fleet-replica-redis-', yaml(port, ONE, `  redis_url: ${redis.url}\n`), { port }));
    replica = await runReplica(service.stateDir, ['--port', String(await freePort())]);
    await replica.waitForOutput(/listening on/);
  });

  after(async () => {
    await replica?.stop();
    await stopAndRemove(service, dir);
    await redis?.cleanup();
  });

  test("a key's --rps/--burst is one budget across both gateways, requests alternated between them", async () => {
    const added = await cli(['keys', 'add', 'shared', '--rps', '0.01', '--burst', '4', '--state-dir', service.stateDir]);
    assert.equal(added.code, 0, added.stderr);
    const key = /^API_KEY=(\S+)$/m.exec(added.stdout)![1];
    for (const url of [service.url, replica.url]) {
      // Until a gateway's Redis connection is up it counts on its own (and says so in gateway_redis_up).
      await waitFor(`${url} to share its limits through Redis`, async () => /^gateway_redis_up\{[^}]*\} 1$/m.test(await (await fetch(`${url}/metrics`, { headers: as(service.token) })).text()), 10_000);
      // GET /v1/models takes nothing from the key's bucket: it only shows that the gateway knows the key.
      await waitFor(`${url} to know the key`, async () => (await fetch(`${url}/v1/models`, { headers: as(key) })).status === 200, 10_000);
    }
    const answers: Array<{ via: string; status: number }> = [];
    for (let i = 0; i < 8; i++) {
      const [via, url] = i % 2 === 0 ? ['up', service.url] : ['replica', replica.url];
      const res = await generate(url, key, 'one/gpu0');
      await res.body?.cancel();
      answers.push({ via, status: res.status });
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 429, 429, 429, 429], `a burst of 4 for both gateways together, not 4 each: ${JSON.stringify(answers)}`);
  });
});
