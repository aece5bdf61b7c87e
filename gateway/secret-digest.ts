import { createHash } from 'node:crypto';

/**
 * The SHA-256 of a bearer token or API key: what is stored for an API key and what presented secrets
 * are compared as (timingSafeEqual, so the comparison takes the same time whatever matches). A
 * request's secret is hashed once, then checked against the token and every key.
 */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}
