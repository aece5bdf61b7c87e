import { TokenStore } from '../token.ts';
import { stateDirOf } from './options.ts';

const ONE_HOUR_MS = 3_600_000;

/** Prints the gateway token; --rotate makes a new one while the old one keeps working for the grace period. */
export async function token(options: { stateDir?: string; rotate?: boolean; graceSeconds?: number }): Promise<void> {
  const stateDir = stateDirOf(options.stateDir);
  if (options.rotate) {
    const graceMs = options.graceSeconds !== undefined ? options.graceSeconds * 1000 : ONE_HOUR_MS;
    const store = await TokenStore.rotate(stateDir, graceMs);
    console.log(`VALID_TOKEN=${store.token}`);
    console.error(`rotated: the previous token keeps working for ${Math.round(graceMs / 60000)} minute(s); a running gateway picks the new one up at once`);
    return;
  }
  const store = await TokenStore.open(stateDir);
  console.log(`VALID_TOKEN=${store.token}`);
}
