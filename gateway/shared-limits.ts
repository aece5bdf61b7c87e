import type { RedisLimits, RedisLimitsHooks } from './redis-limits.ts';
import type { GatewaySettings, Logger } from './types.ts';

// Which store the gateway's limits live in right now: with `gateway.redis_url` the fleet's Redis
// (redis-limits.ts) while it answers; otherwise, and while it does not, this gateway's own memory.
// The URL is read from the settings on each call, so a reload that changes it reconnects at once.
// The Redis client (redis-limits.ts, ioredis) is loaded only once a URL is set: a fleet without one,
// and every CLI start before it, does not pay for loading it.

type LockoutSettings = GatewaySettings['authLockout'];

export class SharedLimits {
  private store?: RedisLimits;
  /** The redis_url the store is for, or being loaded for. */
  private url?: string;
  private closed = false;

  constructor(
    private readonly settings: () => GatewaySettings,
    private readonly log: Logger,
    private readonly hooks: RedisLimitsHooks,
  ) {}

  /** The Redis store when one is configured and answering; undefined: this gateway's limits apply. */
  active(): RedisLimits | undefined {
    const url = this.settings().redisUrl;
    if (url !== this.url && !this.closed) this.connect(url);
    return this.store?.up ? this.store : undefined;
  }

  /** Whether the configured Redis answers, and its URL as logs show it; undefined without redis_url (or while its client loads). */
  status(): { url: string; up: boolean } | undefined {
    this.active();
    return this.store && { url: this.store.shownUrl, up: this.store.up };
  }

  /** Counts a wrong token fleet-wide (auth-lockout.ts calls it on the failure path). */
  recordFailure(client: string, lockout: LockoutSettings, lockedHere: boolean): void {
    const store = this.active();
    if (!store || lockout.failures <= 0) return;
    void store.recordFailure(client, lockout).then((ms) => {
      if (ms > 0 && !lockedHere) this.log.warn({ address: client }, `gateway: ${client} locked out for ${Math.round(ms / 1000)} s after ${lockout.failures} wrong tokens within ${Math.round(lockout.windowMs / 1000)} s across the fleet's gateways`);
    });
  }

  close(): void {
    this.closed = true;
    this.store?.close();
    this.store = undefined;
  }

  private connect(url: string | undefined): void {
    this.store?.close();
    this.store = undefined;
    this.url = url;
    if (url === undefined) return;
    import('./redis-limits.ts').then(
      ({ RedisLimits }) => {
        if (this.url === url && !this.closed) this.store = new RedisLimits(url, this.log, this.hooks);
      },
      (error: Error) => this.log.error(`gateway: cannot load the Redis client (${error.message}); limits stay per gateway. Reinstall with \`npm ci\``),
    );
  }
}
