import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

// The address of the client behind a request: the connection's peer, unless the peer is one of
// gateway.trusted_proxies and says in X-Forwarded-For whom it forwards for. Everything that tells
// clients apart (rate limits, the auth lockout, the queue's turns, the connection cap and shedding)
// asks clientAddress(req), so they all agree on who the client is.

const resolved = new WeakMap<IncomingMessage, string>();

/** The client address of this request (its peer's, unless a trusted proxy named another; see ClientAddresses.resolve). */
export function clientAddress(req: IncomingMessage): string {
  return resolved.get(req) ?? req.socket.remoteAddress ?? 'unknown';
}

/** gateway.trusted_proxies as a matcher; read per request, so a reload that changes the list applies to the next request. */
export class ClientAddresses {
  private list?: readonly string[];
  private proxies = new TrustedProxies([]);

  constructor(private readonly trustedList: () => readonly string[]) {}

  /** Called once as a request arrives: records the client a trusted proxy forwards for, if any. */
  resolve(req: IncomingMessage): void {
    const forwarded = req.headers['x-forwarded-for'];
    if (forwarded === undefined) return;
    const proxies = this.trusted();
    if (proxies.empty) return;
    const peer = req.socket.remoteAddress;
    if (peer === undefined || !proxies.contains(peer)) return; // from anyone else the header is ignored
    resolved.set(req, forwardedClient(peer, forwarded, proxies));
  }

  /** Whether connections from `address` are a trusted proxy's (exempt from the per-client connection cap). */
  isTrustedProxy(address: string): boolean {
    const proxies = this.trusted();
    return !proxies.empty && proxies.contains(address);
  }

  private trusted(): TrustedProxies {
    const list = this.trustedList();
    if (list !== this.list) {
      this.list = list;
      this.proxies = new TrustedProxies(list);
    }
    return this.proxies;
  }
}

/** Addresses and CIDRs (IPv4, IPv6; an IPv4-mapped IPv6 peer `::ffff:a.b.c.d` matches IPv4 entries). */
export class TrustedProxies {
  readonly empty: boolean;
  private readonly blocks = new BlockList();

  /** Entries were validated with models.yaml (orchestrator/config/schema.ts); one that is not an address or CIDR matches nothing. */
  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      const [address, bits] = entry.split('/');
      const family = isIP(address);
      if (!family) continue;
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) this.blocks.addAddress(address, type);
      else if (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) this.blocks.addSubnet(address, Number(bits), type);
    }
    this.empty = entries.length === 0;
  }

  contains(address: string): boolean {
    const plain = withoutZone(address);
    const family = isIP(plain);
    return family !== 0 && this.blocks.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The client a trusted proxy `peer` forwards for: walking X-Forwarded-For from the right (the entry
 * the nearest proxy appended), the first address that is not itself a trusted proxy; everything to
 * its left was written by the client or by proxies nobody vouches for. When every entry is a trusted
 * proxy, the left-most. When an entry the walk reaches is not an address, the proxy sent something
 * the gateway cannot read: the client is the peer itself.
 */
export function forwardedClient(peer: string, header: string | string[], proxies: TrustedProxies): string {
  const entries = (Array.isArray(header) ? header.join(',') : header).split(',');
  let client: string | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const address = entryAddress(entries[i]);
    if (address === undefined) return peer;
    client = address;
    if (!proxies.contains(address)) return address;
  }
  return client ?? peer;
}

/** One X-Forwarded-For entry as a plain address: `a.b.c.d`, `a.b.c.d:port`, an IPv6 address or `[v6]:port`; undefined when it is none of these. */
function entryAddress(entry: string): string | undefined {
  let text = entry.trim();
  let port: string | undefined;
  if (text.startsWith('[')) {
    const end = text.indexOf(']');
    if (end < 0 || !/^(:\d{1,5})?$/.test(text.slice(end + 1))) return undefined;
    port = text.slice(end + 2) || undefined;
    text = text.slice(1, end);
  } else if (/^[\d.]+:\d{1,5}$/.test(text)) {
    port = text.slice(text.indexOf(':') + 1);
    text = text.slice(0, text.indexOf(':'));
  }
  if (port !== undefined && Number(port) > 65_535) return undefined;
  return isIP(withoutZone(text)) ? text : undefined;
}

function withoutZone(address: string): string {
  const zone = address.indexOf('%');
  return zone < 0 ? address : address.slice(0, zone);
}
