import { readFile } from 'node:fs/promises';
import type { LockHolder } from '../ownership.ts';
import { TokenStore } from '../token.ts';

/** A running gateway, queried with its state dir's token (read only: a missing token is not created). */
export async function fetchFromGateway(gateway: Pick<LockHolder, 'port' | 'stateDir'>, path: string): Promise<unknown | undefined> {
  try {
    const { token } = JSON.parse(await readFile(TokenStore.path(gateway.stateDir), 'utf8')) as { token: string };
    const res = await fetch(`http://127.0.0.1:${gateway.port}${path}`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}
