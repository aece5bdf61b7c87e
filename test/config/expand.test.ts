import assert from 'node:assert/strict';
import { containerHash } from '../../orchestrator/runtime/docker/container-spec.ts';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseDuration, parseSize } from '../../orchestrator/config/units.ts';
import { splitCommand } from '../../orchestrator/config/argv.ts';
import { loadConfigText } from '../../orchestrator/config/load.ts';
import { invalid, issueAt, valid, yaml } from './support.ts';

/** Model `a` on GPU 0, `b` on GPU 1. */
const model = (name: string, ...more: string[]) => [`  - name: ${name}`, '    model_id: org/model', `    gpus: [${name.charCodeAt(0) - 97}]`, ...more.map((l) => `    ${l}`)];

describe('durations and sizes', () => {
  test('durations', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration(' 45 '), 45_000);
    assert.equal(parseDuration(2.5), 2500);
    assert.equal(parseDuration('0'), 0);
    for (const bad of ['30x', '-1s', 's', '1 day', '']) assert.equal(parseDuration(bad), undefined, bad);
    assert.equal(parseDuration(-1), undefined);
  });

  test('sizes, binary like Docker', () => {
    assert.equal(parseSize('1g'), 1024 ** 3);
    assert.equal(parseSize('512m'), 512 * 1024 ** 2);
    assert.equal(parseSize('2mb'), 2 * 1024 ** 2);
    assert.equal(parseSize('2MiB'), 2 * 1024 ** 2);
    assert.equal(parseSize('64k'), 65_536);
    assert.equal(parseSize('100b'), 100);
    assert.equal(parseSize(4096), 4096);
    for (const bad of ['lots', '1x', '-1g', '']) assert.equal(parseSize(bad), undefined, bad);
    assert.equal(parseSize(1.5), undefined);
  });

  test('in the file', () => {
    const { config } = valid(yaml('gateway:', '  request_timeout: 500ms', '  drain_timeout: 0', '  token_grace_period: 2m', '  max_body_size: 2mb', 'models:', ...model('a', 'shm_size: 512m', 'payload_limit: 1mb')));
    assert.equal(config.gateway.limits.requestTimeoutMs, 500);
    assert.equal(config.gateway.drainTimeoutMs, 0);
    assert.equal(config.gateway.tokenGraceMs, 120_000);
    assert.equal(config.gateway.maxBodyBytes, 2 * 1024 ** 2);
    assert.equal(config.deployments[0].shmSizeBytes, 512 * 1024 ** 2);
    assert.equal(config.deployments[0].launcher.payload_limit, 1024 ** 2);
  });
});

describe('defaults and overrides', () => {
  test('built-in defaults', () => {
    const { config } = valid(yaml('models:', ...model('a')), { env: { HOME: '/home/op' } });
    assert.deepEqual(config.gateway, {
      port: 8000,
      host: '0.0.0.0',
      limits: { requestsPerSecond: 10, burst: 25, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 30_000 },
      metricsAuth: true,
      maxBodyBytes: 8 * 1024 ** 2,
      drainTimeoutMs: 30_000,
      tokenGraceMs: 3_600_000,
      authLockout: { failures: 10, windowMs: 60_000, lockoutMs: 300_000 },
      trustedProxies: [],
      maxConnectionsPerClient: 256,
    });
    const [d] = config.deployments;
    assert.equal(d.image, 'ghcr.io/huggingface/text-generation-inference:3.3.6');
    assert.deepEqual([d.runtime, d.accelerator, d.pull, d.shmSizeBytes, d.vision], ['docker', 'nvidia', 'missing', 1024 ** 3, false]);
    assert.equal(d.hfCache, '/home/op/.cache/huggingface');
    assert.deepEqual(d.simulator, { loadSeconds: 3, tokensPerSecond: 30 });
    assert.deepEqual(d.launcher, {});
    assert.equal(d.loadTimeoutMs, 30 * 60_000);
    assert.deepEqual(d.env, { USAGE_STATS: 'off' });
    assert.deepEqual(d.limits, config.gateway.limits);
  });

  test('model keys over defaults, env merged, limits over the gateway', () => {
    const text = yaml(
      'gateway:',
      '  rate_limit: { requests_per_second: 4, burst: 8 }',
      '  max_concurrent_requests: 50',
      'defaults:',
      '  image: base:1',
      '  dtype: bfloat16',
      '  env: { HF_TOKEN: t, A: "1" }',
      '  simulator: { load_seconds: 0 }',
      '  launcher_args: { max-top-n-tokens: 5 }',
      '  hf_cache: ./cache',
      'models:',
      ...model('a', 'image: own:2', 'env: { A: 2, B: true }', 'quantize: bitsandbytes-nf4', 'limits: { burst: 2, request_timeout: 1m }', 'simulator: { hang: true }', 'launcher_args: { validation_workers: 3 }', 'cuda_graphs: [1, 2, 4]'),
      ...model('b', 'runtime: process', 'command: "text-generation-launcher --json-output"'),
    );
    const { config } = valid(text);
    const [a, b] = config.deployments;
    assert.equal(a.image, 'own:2');
    assert.equal(b.image, 'base:1');
    assert.deepEqual(a.env, { USAGE_STATS: 'off', HF_TOKEN: 't', A: '2', B: 'true' });
    assert.deepEqual(b.env, { USAGE_STATS: 'off', HF_TOKEN: 't', A: '1' });
    assert.deepEqual(a.launcher, { max_top_n_tokens: 5, validation_workers: 3, quantize: 'bitsandbytes-nf4', dtype: 'bfloat16', cuda_graphs: '1,2,4' });
    assert.deepEqual(a.simulator, { loadSeconds: 0, tokensPerSecond: 30, hang: true });
    assert.deepEqual(a.limits, { requestsPerSecond: 4, burst: 2, maxConcurrentRequests: 50, requestTimeoutMs: 60_000, queueTimeoutMs: 30_000 });
    assert.deepEqual(b.limits, { requestsPerSecond: 4, burst: 8, maxConcurrentRequests: 50, requestTimeoutMs: 30_000, queueTimeoutMs: 30_000 });
    assert.deepEqual(b.command, ['text-generation-launcher', '--json-output']);
    assert.equal(a.hfCache, path.resolve('cache'));
  });

  test("TGI's max_concurrent_requests is raised to the gateway cap only above TGI's default of 128", () => {
    const cap = (limit: number, ...more: string[]) => valid(yaml('models:', ...model('a', `limits: { max_concurrent_requests: ${limit} }`, ...more))).config.deployments[0];
    assert.equal(cap(100).launcher.max_concurrent_requests, undefined);
    assert.equal(cap(300).launcher.max_concurrent_requests, 300);
    assert.equal(cap(300, 'launcher_args: { max-concurrent-requests: 400 }').launcher.max_concurrent_requests, 400);
    const below = valid(yaml('models:', ...model('a', 'launcher_args: { max_concurrent_requests: 10 }')));
    assert.match(below.warnings[0].message, /TGI's max_concurrent_requests \(10\) is below the gateway's cap \(100\)/);
  });

  test("limits in the gateway's shape override the gateway's, key by key", () => {
    const { config } = valid(yaml('gateway: { rate_limit: { requests_per_second: 4, burst: 8 }, queue_max: 12 }', 'models:', ...model('a', 'limits: { rate_limit: { burst: 2 }, max_concurrent_requests: 7, request_timeout: 5s, queue_timeout: 0 }'), ...model('b', 'limits: { queue_timeout: 2s, queue_max: 3 }')));
    assert.deepEqual(config.deployments[0].limits, { requestsPerSecond: 4, burst: 2, maxConcurrentRequests: 7, requestTimeoutMs: 5000, queueTimeoutMs: 0, queueMax: 12 });
    assert.deepEqual(config.deployments[1].limits, { requestsPerSecond: 4, burst: 8, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 2000, queueMax: 3 });
  });

  test('load_timeout: per model, from defaults, 30 minutes when unset', () => {
    const { config } = valid(yaml('defaults: { load_timeout: 45m }', 'models:', ...model('a', 'load_timeout: 2h'), ...model('b')));
    assert.deepEqual(config.deployments.map((d) => d.loadTimeoutMs), [7_200_000, 2_700_000]);
    const issue = issueAt(invalid(yaml('models:', ...model('a', 'load_timeout: 0'))), 'models[0].load_timeout');
    assert.match(issue.message, /greater than 0/);
    assert.match(issue.hint!, /without progress.*e\.g\. `load_timeout: 30m`/);
  });

  test('gateway.redis_url, trusted_proxies and max_connections_per_client: read, and refused with the shape they need', () => {
    const { config } = valid(yaml('gateway: { redis_url: "redis://10.0.0.5:6379/2", trusted_proxies: [127.0.0.1, 10.0.0.0/8, "fd00::/8"], max_connections_per_client: 0 }', 'models:', ...model('a')));
    assert.equal(config.gateway.redisUrl, 'redis://10.0.0.5:6379/2');
    assert.deepEqual(config.gateway.trustedProxies, ['127.0.0.1', '10.0.0.0/8', 'fd00::/8']);
    assert.equal(config.gateway.maxConnectionsPerClient, 0);
    const bad = invalid(yaml('gateway: { redis_url: "http://redis:6379", trusted_proxies: [10.0.0.0/33, proxy.local] }', 'models:', ...model('a')));
    assert.match(issueAt(bad, 'gateway.redis_url').message, /redis:\/\/127\.0\.0\.1:6379/);
    assert.match(issueAt(bad, 'gateway.trusted_proxies[0]').message, /address or CIDR/);
    assert.match(issueAt(bad, 'gateway.trusted_proxies[1]').message, /address or CIDR/);
  });

  test("USAGE_STATS=off for TGI servers unless env says otherwise; not for the simulator (TGI's telemetry: router/src/usage_stats.rs)", () => {
    const { config } = valid(yaml('models:', ...model('a'), ...model('b', 'env: { USAGE_STATS: "on" }'), ...model('c', 'runtime: simulator')));
    assert.deepEqual(config.deployments.map((d) => d.env.USAGE_STATS), ['off', 'on', undefined]);
  });

  test('the image follows the accelerator unless set', () => {
    const { config } = valid(yaml('models:', ...model('a', 'accelerator: amd'), ...model('b', 'accelerator: intel')));
    assert.deepEqual(config.deployments.map((d) => d.image), ['ghcr.io/huggingface/text-generation-inference:3.3.6-rocm', 'ghcr.io/huggingface/text-generation-inference:3.3.6-intel-xpu']);
  });

  test('hf_cache: ~ and $HF_HOME', () => {
    const home = os.homedir();
    assert.equal(valid(yaml('defaults: { hf_cache: ~/hf }', 'models:', ...model('a'))).config.deployments[0].hfCache, path.join(home, 'hf'));
    assert.equal(valid(yaml('models:', ...model('a')), { env: { HF_HOME: '/srv/hf' } }).config.deployments[0].hfCache, '/srv/hf');
  });

  test('keys_file: relative to the folder of models.yaml, ~ is the home folder; without it the state dir keeps the keys', () => {
    const keysFile = (line: string, file?: string) => {
      const text = yaml(line, 'models:', ...model('a'));
      if (!file) return valid(text).config.gateway.keysFile;
      const result = loadConfigText(text, file, { env: {} });
      assert.ok(result.ok);
      return result.config.gateway.keysFile;
    };
    assert.equal(keysFile('gateway: { keys_file: secrets/keys.json }', '/srv/fleet/models.yaml'), '/srv/fleet/secrets/keys.json');
    assert.equal(keysFile('gateway: { keys_file: /etc/tgi-fleet/keys.json }', '/srv/fleet/models.yaml'), '/etc/tgi-fleet/keys.json');
    assert.equal(keysFile('gateway: { keys_file: ~/keys.json }'), path.join(os.homedir(), 'keys.json'));
    assert.equal(keysFile('gateway: { port: 8000 }'), undefined);
    assert.match(issueAt(invalid(yaml('gateway: { keys_file: 42 }', 'models:', ...model('a'))), 'gateway.keys_file').message, /expected text/);
  });

  test('command lines split like a shell', () => {
    assert.deepEqual(splitCommand(`launcher --a 'b c' "d \\"e\\"" f\\ g`), ['launcher', '--a', 'b c', 'd "e"', 'f g']);
    assert.deepEqual(splitCommand(`x ''`), ['x', '']);
    assert.equal(splitCommand(`x "y`), undefined);
  });
});

describe('the hash of what the Docker driver sends (a container is replaced only when it changes)', () => {
  const base = ['defaults:', '  image: img:1', '  env: { A: "1", B: "2" }'];
  const hashOf = (...lines: string[]) => containerHash(valid(yaml(...lines)).config.deployments[0]);

  test('the same across key order', () => {
    const one = hashOf(...base, 'models:', ...model('a', 'dtype: float16', 'max_input_tokens: 10', 'max_total_tokens: 20'));
    const two = hashOf('defaults:', '  env: { B: "2", A: "1" }', '  image: img:1', 'models:', '  - max_total_tokens: 20', '    gpus: [0]', '    max_input_tokens: 10', '    model_id: org/model', '    dtype: float16', '    name: a');
    assert.match(one, /^[0-9a-f]{64}$/);
    assert.equal(one, two);
  });

  test('unchanged by gateway-only settings (limits, pull policy, vision, simulator knobs), changed by image, env, launcher and GPUs', () => {
    const reference = hashOf(...base, 'models:', ...model('a'));
    assert.equal(hashOf('gateway: { max_concurrent_requests: 5, request_timeout: 1s, rate_limit: { burst: 1 } }', ...base, 'models:', ...model('a', 'limits: { requests_per_second: 1 }', 'pull: always')), reference);
    assert.equal(hashOf(...base, '  simulator: { load_seconds: 9 }', 'models:', ...model('a', 'vision: true')), reference);
    assert.notEqual(hashOf('defaults:', '  image: img:2', '  env: { A: "1", B: "2" }', 'models:', ...model('a')), reference);
    assert.notEqual(hashOf(...base, 'models:', ...model('a', 'env: { B: "3" }')), reference);
    assert.notEqual(hashOf(...base, 'models:', ...model('a', 'max_total_tokens: 100')), reference);
    assert.notEqual(hashOf(...base, 'models:', '  - name: a', '    model_id: org/model', '    gpus: [1]'), reference);
  });

  test('replicas of one model differ (their GPUs do)', () => {
    const { config } = valid(yaml('models:', '  - name: a', '    model_id: org/model', '    gpus: [0, 1]'));
    assert.notEqual(containerHash(config.deployments[0]), containerHash(config.deployments[1]));
  });
});
