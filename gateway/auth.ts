import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Accounting } from './accounting.ts';
import { setCaller } from './callers.ts';
import { addressGroup, AuthLockout } from './auth-lockout.ts';
import { clientAddress } from './client-address.ts';
import { GatewayError, sendError } from './errors.ts';
import type { GatewayMetrics } from './metrics.ts';
import { secretDigest } from './secret-digest.ts';
import type { GatewayNotice, GatewayOptions } from './types.ts';

// Bearer-token auth. The token is checked by TokenVerifier.verify (constant time) and never logged or
// forwarded. Wrong tokens are counted per client address (an IPv6 client by its /64); a client over
// the limit gets 403 for a while, every other client carries on.

const BEARER = /^bearer /i;

/** The presented bearer token, or undefined. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header && BEARER.test(header) ? header.slice(7).trim() : undefined;
}

/** Rate limiting and the queue's turns identify a client by its token and its address (clientAddress: behind a trusted proxy, the forwarded client's). */
export function clientKey(req: IncomingMessage): string {
  return `${bearerToken(req)}\u0000${clientAddress(req)}`;
}

export class Authenticator {
  readonly lockout: AuthLockout;

  constructor(
    private readonly options: Pick<GatewayOptions, 'tokens' | 'keys' | 'settings' | 'events' | 'log'>,
    private readonly metrics: GatewayMetrics,
    private readonly accounting: Accounting,
  ) {
    this.lockout = new AuthLockout(() => options.settings().authLockout);
  }

  /** True when the request may go on; otherwise the 401/403 has been sent. */
  authenticate(req: IncomingMessage, res: ServerResponse): boolean {
    const refusal = this.check(req);
    if (!refusal) return true;
    this.metrics.authFailures.inc();
    this.accounting.refuse({ model: '', status: refusal.status, refusedBy: 'auth' });
    sendError(res, refusal);
    return false;
  }

  private check(req: IncomingMessage): GatewayError | undefined {
    const address = clientAddress(req);
    const now = Date.now();
    const lockedMs = this.lockout.lockedFor(address, now);
    if (lockedMs > 0) {
      const seconds = Math.ceil(lockedMs / 1000);
      const client = addressGroup(address);
      const who = client.endsWith('/64') ? 'every address of this /64 is' : 'this address is';
      return new GatewayError(403, `too many wrong tokens from ${client}: ${who} locked out for ${seconds} more seconds`, { 'retry-after': String(seconds) });
    }
    const token = bearerToken(req);
    if (token === undefined) {
      return new GatewayError(401, `missing bearer token: send the header "Authorization: Bearer <token>" (${this.options.tokens.hint})`, { 'www-authenticate': 'Bearer' });
    }
    const presented = secretDigest(token);
    if (this.options.tokens.verify(presented)) return undefined;
    const key = this.options.keys?.identify(presented);
    if (key && 'caller' in key) {
      setCaller(req, key.caller);
      return undefined;
    }
    // A revoked or expired key is no guess: it does not count towards the lockout.
    if (key) {
      const when = new Date(key.at).toISOString();
      const what = { expired: `expired on ${when}`, revoked: `was revoked on ${when}`, rotated: `was rotated out; its grace period ended on ${when}` }[key.refused];
      return new GatewayError(401, `API key "${key.name}" ${what}; ask the operator for a new one (\`npm run keys -- add NAME\` or \`npm run keys -- rotate ${key.name}\`)`, { 'www-authenticate': `Bearer error="invalid_token"` });
    }
    if (this.lockout.recordFailure(address, now)) {
      const { failures, windowMs, lockoutMs } = this.options.settings().authLockout;
      const client = addressGroup(address);
      const notice: GatewayNotice = { kind: 'auth_lockout', message: `${client} locked out for ${Math.round(lockoutMs / 1000)} s after ${failures} wrong tokens within ${Math.round(windowMs / 1000)} s`, at: now };
      this.options.log.warn({ address: client }, `gateway: ${notice.message}`);
      this.options.events.emit('notice', notice);
    }
    return new GatewayError(401, `wrong bearer token: use the gateway's current token (${this.options.tokens.hint})`, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}
