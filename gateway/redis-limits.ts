import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ADMIT_LUA, HEARTBEAT_LUA, LIVE_LOCKOUTS_LUA, RECORD_FAILURE_LUA, SETTLE_LUA, type AdmitCode } from './limits-lua.ts';
import type { GatewaySettings, Logger } from './types.ts';

// The gateway's limits kept in one Redis, so every gateway of a fleet (`up`'s and its replicas, `npm
// run gateway`) enforces one budget: one EVALSHA per request for the admission checks (limits-lua.ts),
// fire-and-forget writes of what requests changed (in flight, tokens used), gathered per key over one
// turn of the event loop, a heartbeat per gateway, and lockouts published to every gateway. Redis is
// never waited for long: no offline queue, a short command timeout; while it does not answer, `up` is
// false and the gateway falls back to its own in-memory limits (shared-limits.ts).
//
// Keys carry a fixed prefix; two fleets sharing one Redis use different db numbers in the URL. Pub/sub
// ignores db numbers, so the lockout channel names the db.

const PREFIX = 'tgi-gateway:';
/** A Redis that has not answered within this long counts as down; the request goes on on local limits. */
export const COMMAND_TIMEOUT_MS = 500;
const CONNECT_TIMEOUT_MS = 1000;
/** How often each gateway says it is alive and republishes its per-key in-flight counts. */
const HEARTBEAT_INTERVAL_MS = 2000;
/** A gateway silent for this long is dead: its in-flight counts are ignored (and deleted). */
const LIVE_MS = 10_000;
/** While Redis is down, how often a PING checks whether it answers again (reconnects are ioredis's). */
const PROBE_INTERVAL_MS = 1000;

export interface KeyAdmission {
  name: string;
  tokensPerMinute?: number;
  maxConcurrent?: number;
  /** The key's requests in flight on this gateway. */
  inFlightHere: number;
  requestsPerSecond?: number;
  burst?: number;
}

export interface DeploymentAdmission {
  key: string;
  /** The client (token + address); only a hash of it reaches Redis. */
  client: string;
  requestsPerSecond: number;
  burst: number;
}

/** See ADMIT_LUA: `a` and `b` depend on the code. */
export interface AdmitAnswer {
  code: AdmitCode;
  a: number;
  b: number;
}

export interface RedisLimitsHooks {
  /** A lockout decided by any gateway of the fleet (this one included): `client` for `ms`. */
  lockedOut(client: string, ms: number): void;
  /** This gateway's requests in flight per key, republished by every heartbeat. */
  inFlightNow(): Iterable<[string, number]>;
}

type Script = (...args: (string | number)[]) => Promise<unknown>;
interface LimitsCommands {
  tgiAdmit: Script;
  tgiSettle: Script;
  tgiHeartbeat: Script;
  tgiRecordFailure: Script;
  tgiLiveLockouts: Script;
}

export class RedisLimits {
  /** Whether Redis answers: limits are shared while true. */
  up = false;
  /** This gateway's id among the fleet's gateways (its in-flight counts are filed under it). */
  readonly instance = randomUUID();
  private readonly client: Redis & LimitsCommands;
  private readonly subscriber: Redis;
  private readonly channel: string;
  /** The URL without its password, as logs and metrics show it. */
  readonly shownUrl: string;
  private state: 'starting' | 'up' | 'down' | 'closed' = 'starting';
  /** Keys whose in-flight count this gateway has filed and not yet seen deleted (a delete lost in an outage is retried by the heartbeat). */
  private readonly filed = new Set<string>();
  /** Per key, what is still to be written: the latest in-flight count, and tokens to add. */
  private readonly unsettled = new Map<string, { inFlight?: number; tokens: number }>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly probe: NodeJS.Timeout;

  constructor(
    readonly url: string,
    private readonly log: Logger,
    private readonly hooks: RedisLimitsHooks,
  ) {
    this.shownUrl = redactedUrl(url);
    const options = {
      enableOfflineQueue: false,
      commandTimeout: COMMAND_TIMEOUT_MS,
      connectTimeout: CONNECT_TIMEOUT_MS,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(100 * attempt, 1000),
    };
    this.client = new Redis(url, options) as Redis & LimitsCommands;
    this.client.defineCommand('tgiAdmit', { numberOfKeys: 5, lua: ADMIT_LUA });
    this.client.defineCommand('tgiSettle', { numberOfKeys: 2, lua: SETTLE_LUA });
    this.client.defineCommand('tgiHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT_LUA });
    this.client.defineCommand('tgiRecordFailure', { numberOfKeys: 2, lua: RECORD_FAILURE_LUA });
    this.client.defineCommand('tgiLiveLockouts', { numberOfKeys: 1, lua: LIVE_LOCKOUTS_LUA });
    this.client.on('ready', () => this.answered());
    this.client.on('error', (error: Error) => this.failed(error));
    this.client.on('close', () => this.failed(new Error('connection closed')));

    this.channel = `${PREFIX}lockouts:db${this.client.options.db ?? 0}`;
    // The subscriber queues its SUBSCRIBE until connected and resubscribes after every reconnect.
    this.subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
    this.subscriber.on('error', () => {}); // the main connection reports outages
    this.subscriber.on('message', (_channel: string, message: string) => {
      const space = message.lastIndexOf(' ');
      const ms = Number(message.slice(space + 1));
      if (space > 0 && ms > 0) this.hooks.lockedOut(message.slice(0, space), ms);
    });
    this.subscriber.subscribe(this.channel).catch(() => {});

    this.heartbeat = setInterval(() => this.up && void this.beat(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
    this.probe = setInterval(() => {
      if (this.state === 'down' && this.client.status === 'ready') this.client.ping().then(() => this.answered(), () => {});
    }, PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  /** The shared admission checks of one request; rejects when Redis did not answer (the caller falls back). */
  async admit(key: KeyAdmission | undefined, deployment: DeploymentAdmission | undefined): Promise<AdmitAnswer> {
    const keyName = key?.name ?? '';
    const args = [
      `${PREFIX}tpm:${keyName}`,
      `${PREFIX}inflight:${keyName}`,
      `${PREFIX}krate:${keyName}`,
      deployment ? `${PREFIX}rate:${deployment.key}:${clientHash(deployment.client)}` : `${PREFIX}rate:`,
      `${PREFIX}gateways`,
      key?.tokensPerMinute ?? -1,
      key?.maxConcurrent ?? -1,
      this.instance,
      key?.inFlightHere ?? 0,
      LIVE_MS,
      key?.requestsPerSecond ?? 0,
      key?.requestsPerSecond !== undefined ? (key.burst ?? Math.max(1, Math.ceil(key.requestsPerSecond))) : -1,
      deployment?.requestsPerSecond ?? 0,
      deployment ? deployment.burst : -1,
    ];
    try {
      const [code, a, b] = (await this.client.tgiAdmit(...args)) as [AdmitCode, number, number];
      return { code, a, b };
    } catch (error) {
      this.failed(error as Error);
      throw error;
    }
  }

  /** Adds the tokens of a request that ended to the key's last minute. */
  recordTokens(keyName: string, tokens: number): void {
    this.unsettledFor(keyName).tokens += tokens;
  }

  /** Files this gateway's count of the key's requests in flight. */
  setInFlight(keyName: string, count: number): void {
    this.unsettledFor(keyName).inFlight = count;
  }

  /**
   * Writes are gathered until the event loop has run this turn's callbacks, so requests that begin or
   * end together cost one script call per key, not one per request and change (measured: README,
   * Benchmarks, gateway+redis). The other gateways see a count at most that turn late.
   */
  private unsettledFor(keyName: string): { inFlight?: number; tokens: number } {
    let entry = this.unsettled.get(keyName);
    if (!entry) {
      if (this.unsettled.size === 0) setImmediate(() => this.settle());
      entry = { tokens: 0 };
      this.unsettled.set(keyName, entry);
    }
    return entry;
  }

  private settle(): void {
    for (const [keyName, { inFlight, tokens }] of this.unsettled) {
      if (inFlight !== undefined && inFlight > 0) this.filed.add(keyName);
      this.client.tgiSettle(`${PREFIX}inflight:${keyName}`, `${PREFIX}tpm:${keyName}`, this.instance, inFlight ?? -1, LIVE_MS * 3, tokens).then(
        () => inFlight !== 0 || this.filed.delete(keyName),
        (error: Error) => this.failed(error),
      );
    }
    this.unsettled.clear();
  }

  /** Counts a wrong token from `client` fleet-wide; resolves with the lockout's ms when it locked the client out, else 0. */
  async recordFailure(client: string, lockout: GatewaySettings['authLockout']): Promise<number> {
    try {
      return Number(await this.client.tgiRecordFailure(`${PREFIX}fail:${client}`, `${PREFIX}lockouts`, lockout.failures, lockout.windowMs, lockout.lockoutMs, client, this.channel));
    } catch (error) {
      this.failed(error as Error);
      return 0;
    }
  }

  /** Disconnects; a gateway that closes in good order leaves the fleet at once (its in-flight counts stop counting). */
  close(): void {
    const wasUp = this.up;
    this.state = 'closed';
    this.up = false;
    clearInterval(this.heartbeat);
    clearInterval(this.probe);
    this.subscriber.disconnect();
    if (!wasUp) return this.client.disconnect();
    this.settle();
    this.client.zrem(`${PREFIX}gateways`, this.instance).catch(() => {});
    this.client.quit().catch(() => this.client.disconnect());
  }

  private answered(): void {
    if (this.state === 'up' || this.state === 'closed') return;
    const first = this.state === 'starting';
    this.state = 'up';
    this.up = true;
    if (first) this.log.info({ redis: this.shownUrl }, `gateway: rate limits, token budgets, per-key concurrency and lockouts are shared through Redis at ${this.shownUrl}`);
    else this.log.info({ redis: this.shownUrl }, `gateway: Redis at ${this.shownUrl} answers again; limits are shared by the fleet's gateways again`);
    void this.beat();
    this.client.tgiLiveLockouts(`${PREFIX}lockouts`).then(
      (live) => {
        const pairs = live as (string | number)[];
        for (let i = 0; i + 1 < pairs.length; i += 2) this.hooks.lockedOut(String(pairs[i]), Number(pairs[i + 1]));
      },
      (error: Error) => this.failed(error),
    );
  }

  private failed(error: Error): void {
    if (this.state === 'down' || this.state === 'closed') return;
    this.state = 'down';
    this.up = false;
    this.log.warn(
      { redis: this.shownUrl, reason: error.message },
      `gateway: Redis at ${this.shownUrl} does not answer (${error.message}); rate limits, token budgets, per-key concurrency and lockouts are per gateway until it does`,
    );
  }

  private async beat(): Promise<void> {
    try {
      await this.client.tgiHeartbeat(`${PREFIX}gateways`, this.instance, LIVE_MS * 6);
      const stale = new Set(this.filed);
      for (const [name, count] of this.hooks.inFlightNow()) {
        stale.delete(name);
        this.setInFlight(name, count);
      }
      for (const name of stale) this.setInFlight(name, 0);
    } catch (error) {
      this.failed(error as Error);
    }
  }
}

/** The URL as logs may show it: without its password. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured redis_url';
  }
}

/** The client key holds a bearer token: Redis only ever sees a hash of it. */
function clientHash(client: string): string {
  return createHash('sha256').update(client).digest('base64url').slice(0, 22);
}
