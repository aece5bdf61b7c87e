import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenStore } from '../token.ts';

/** The running gateway of a state dir (written by `up`), queried with the stored token. */
export async function fetchFromRunningGateway(stateDir: string, path: string): Promise<unknown | undefined> {
  try {
    const { port } = JSON.parse(await readFile(join(stateDir, 'gateway.json'), 'utf8')) as { port: number };
    const tokens = await TokenStore.open(stateDir);
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${tokens.token}` }, signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}
