import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentSpec, GatewaySettings, GpuInfo, Limits } from '../../orchestrator/config/types.ts';
import { log } from '../../orchestrator/log.ts';
import { DeploymentTable } from '../../orchestrator/deployment/table.ts';
import { KeyStore, keysPath, newKey, writeKeys } from '../../orchestrator/keys.ts';
import { TokenStore } from '../../orchestrator/token.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import type { GatewayNotice, KeyLimits, RequestRecord, Upstream } from '../../gateway/types.ts';
import { StubDeployment } from '../helpers/served-deployment.ts';

// A real gateway on an ephemeral port over a real DeploymentTable, for the gateway's tests. Deployments
// are StubDeployments (test/helpers/served-deployment.ts) pointing at simulators (or any upstream) the
// test started; the test sets their state, as the orchestrator's supervisor would.

// The gateway logs at info on every fixture; tests show warnings and errors unless LOG_LEVEL says otherwise.
log.level = process.env.LOG_LEVEL ?? 'warn';

// queue_timeout 0 (429 at once at the cap, as before the queue): queue.test.ts turns the queue on.
export const DEFAULT_LIMITS: Limits = { requestsPerSecond: 1000, burst: 1000, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 0 };

export function testSettings(overrides: Partial<GatewaySettings> = {}): GatewaySettings {
  return {
    port: 0,
    host: '127.0.0.1',
    limits: DEFAULT_LIMITS,
    metricsAuth: true,
    maxBodyBytes: 8 * 1024 * 1024,
    drainTimeoutMs: 5000,
    tokenGraceMs: 3_600_000,
    authLockout: { failures: 5, windowMs: 60_000, lockoutMs: 60_000 },
    trustedProxies: [],
    maxConnectionsPerClient: 0,
    ...overrides,
  };
}

export interface DeploymentFixture {
  model: string;
  /** Default "gpu0". */
  gpuLabel?: string;
  upstream?: Upstream;
  vision?: boolean;
  modelId?: string;
  limits?: Partial<Limits>;
  /** TGI launcher settings as models.yaml would give them (e.g. { dtype: 'bfloat16' }). */
  launcher?: DeploymentSpec['launcher'];
  /** Default true: taken pending → loading → ready. */
  ready?: boolean;
  /** The inference server behind it (spec.engine); absent: tgi. */
  engine?: DeploymentSpec['engine'];
}

export function testSpec(f: DeploymentFixture): DeploymentSpec {
  const gpuLabel = f.gpuLabel ?? 'gpu0';
  const gpus = gpuLabel.slice(3).split('-').map(Number);
  return {
    key: `${f.model}/${gpuLabel}`,
    model: f.model,
    gpuLabel,
    gpus,
    modelId: f.modelId ?? `test/${f.model}`,
    runtime: 'simulator',
    accelerator: 'nvidia',
    vision: f.vision ?? false,
    image: 'tgi-sim:local',
    pull: 'never',
    shmSizeBytes: 1 << 30,
    env: {},
    launcher: f.launcher ?? {},
    simulator: { loadSeconds: 0, tokensPerSecond: 0 },
    limits: { ...DEFAULT_LIMITS, ...f.limits },
    hfCache: tmpdir(),
    loadTimeoutMs: 30 * 60_000,
    ...(f.engine ? { engine: f.engine } : {}),
  };
}

export interface GatewayFixture {
  url: string;
  port: number;
  token: string;
  /** The API keys of GatewayFixtureOptions.keys, by name. */
  keys: Record<string, string>;
  table: DeploymentTable<StubDeployment>;
  events: EventEmitter;
  gateway: Gateway;
  /** Every 'request' and 'notice' emitted so far. */
  records: RequestRecord[];
  notices: GatewayNotice[];
  deployment(key: string): StubDeployment;
  close(): Promise<void>;
}

export interface GatewayFixtureOptions {
  deployments: DeploymentFixture[];
  settings?: Partial<GatewaySettings>;
  gpus?: GpuInfo[];
  /** Where the gateway listens (default 127.0.0.1; '::' for a dual-stack listener). */
  host?: string;
  /** Named API keys to create (stored hashed in the state dir, as `npm run keys -- add` does). */
  keys?: { name: string; models?: string[]; limits?: KeyLimits }[];
}

export async function startGateway(options: GatewayFixtureOptions): Promise<GatewayFixture> {
  const stateDir = await mkdtemp(join(tmpdir(), 'gateway-test-'));
  const tokens = await TokenStore.open(stateDir);
  const keys: Record<string, string> = {};
  if (options.keys?.length) {
    await writeKeys(
      keysPath(stateDir),
      options.keys.map(({ name, models, limits = {} }) => {
        const { key, hash } = newKey();
        keys[name] = key;
        return { name, hash, models, limits, createdAt: Date.now() };
      }),
    );
  }
  const table = new DeploymentTable<StubDeployment>();
  for (const f of options.deployments) table.add(makeDeployment(f));
  table.synced = true;
  const events = new EventEmitter();
  const records: RequestRecord[] = [];
  const notices: GatewayNotice[] = [];
  events.on('request', (r: RequestRecord) => records.push(r));
  events.on('notice', (n: GatewayNotice) => notices.push(n));
  const settings = testSettings(options.settings);
  const gateway = createGateway({ table, settings: () => settings, tokens, keys: await KeyStore.open(keysPath(stateDir)), gpus: () => options.gpus ?? [], events, log });
  const host = options.host ?? '127.0.0.1';
  const port = await gateway.listen(0, host);
  return {
    // A dual-stack listener ('::') takes IPv4 clients too: they reach it as ::ffff:127.0.0.x.
    url: `http://${host === '::' ? '127.0.0.1' : host}:${port}`,
    port,
    token: tokens.token,
    keys,
    table,
    events,
    gateway,
    records,
    notices,
    deployment(key) {
      const d = table.get(key);
      if (!d) throw new Error(`no deployment ${key} in the fixture`);
      return d;
    },
    async close() {
      await gateway.close(1000);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export function makeDeployment(f: DeploymentFixture): StubDeployment {
  const d = new StubDeployment(testSpec(f), { upstream: f.upstream });
  if (f.ready ?? true) d.becomeReady();
  return d;
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json<T = any>(): T;
}

export interface HttpOptions {
  method?: string;
  token?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | object;
  /** Source address of the connection, e.g. '127.0.0.2' to be another client. */
  localAddress?: string;
}

/** One HTTP request with node's client (so the source address can be chosen), body read in full. */
export function http(url: string, options: HttpOptions = {}): Promise<HttpResult> {
  const body = options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
  const headers: Record<string, string> = { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? (body === undefined ? 'GET' : 'POST'), headers, localAddress: options.localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawExchange {
  /** Everything the gateway sent until it closed the connection (or until the deadline). */
  text: string;
  /** The status of the first response, 0 when none came. */
  status: number;
  /** Whether the gateway closed the connection before the deadline. */
  closed: boolean;
  /** ms from the first byte sent to the first byte received (undefined when nothing came). */
  answeredAfterMs?: number;
}

export interface RawOptions {
  localAddress?: string;
  /** Written after the head, one string every `intervalMs` (a client trickling its body). */
  trickle?: { chunks: string[]; intervalMs: number };
  /** Give up (and report what came) after this long; default 5000. */
  deadlineMs?: number;
}

/**
 * Sends bytes as they are on a plain TCP connection, for requests HTTP clients will not send (an
 * absolute-form target, a body that trickles in), and collects what comes back.
 */
export function rawRequest(port: number, head: string, options: RawOptions = {}): Promise<RawExchange> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    let text = '';
    let sentAt = 0;
    let answeredAfterMs: number | undefined;
    let trickleTimer: NodeJS.Timeout | undefined;
    const done = (closed: boolean) => {
      clearTimeout(deadline);
      clearInterval(trickleTimer);
      socket.destroy();
      resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed, answeredAfterMs });
    };
    const deadline = setTimeout(() => done(false), options.deadlineMs ?? 5000);
    socket.on('connect', () => {
      sentAt = performance.now();
      socket.write(head);
      const chunks = [...(options.trickle?.chunks ?? [])];
      if (options.trickle) {
        trickleTimer = setInterval(() => {
          const chunk = chunks.shift();
          if (chunk !== undefined && socket.writable) socket.write(chunk);
        }, options.trickle.intervalMs);
      }
    });
    socket.on('data', (d) => {
      answeredAfterMs ??= performance.now() - sentAt;
      text += d;
    });
    socket.on('close', () => done(true));
    socket.on('error', () => {});
  });
}

/** Asserts the gateway's own error body and returns its message. */
export function gatewayErrorMessage(result: HttpResult, status: number): string {
  if (result.status !== status) throw new Error(`expected ${status}, got ${result.status}: ${result.text}`);
  const body = result.json();
  if (!body.error || body.error.code !== status || typeof body.error.message !== 'string' || typeof body.error.type !== 'string') {
    throw new Error(`not the gateway's error body: ${result.text}`);
  }
  return body.error.message;
}

/** Polls until the predicate holds (for effects that follow a request asynchronously). */
export async function eventually(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** How many generations a simulator is running right now (its tgi_batch_current_size gauge). */
export async function simBatchSize(sim: { url: string }): Promise<number> {
  const text = await (await fetch(`${sim.url}/metrics`)).text();
  return Number(/^tgi_batch_current_size (\d+)/m.exec(text)?.[1]);
}
