import { access } from 'node:fs/promises';
import { lockDir, runningFleets } from '../ownership.ts';
import { TokenStore } from '../token.ts';
import { shellWord, stateDirOf } from './options.ts';

const ONE_HOUR_MS = 3_600_000;

/**
 * Prints the gateway token; --rotate makes a new one while the old one keeps working for the grace
 * period. Only `up` creates a token: a state dir without one is an error naming the running fleets'.
 */
export async function token(options: { stateDir?: string; rotate?: boolean; graceSeconds?: number }): Promise<number> {
  const stateDir = stateDirOf(options.stateDir);
  if (!(await access(TokenStore.path(stateDir)).then(() => true, () => false))) {
    console.error(`no token in ${TokenStore.path(stateDir)}: no \`npm run up\` has used this state dir (only up creates the token).`);
    const running = await runningFleets();
    if (running.length) {
      console.error(`running fleets:\n${running.map((h) => `  fleet "${h.fleet}" (pid ${h.pid}, port ${h.port}): npm run token -- --state-dir ${shellWord(h.stateDir)}`).join('\n')}`);
    } else {
      console.error(`no fleet is running (no live lock in ${lockDir()}); name the state dir of the gateway you mean with --state-dir`);
    }
    return 1;
  }
  if (options.rotate) {
    const graceMs = options.graceSeconds !== undefined ? options.graceSeconds * 1000 : ONE_HOUR_MS;
    const store = await TokenStore.rotate(stateDir, graceMs);
    console.log(`VALID_TOKEN=${store.token}`);
    console.error(`rotated: the previous token keeps working for ${Math.round(graceMs / 60000)} minute(s); a running gateway picks the new one up at once`);
    return 0;
  }
  const store = await TokenStore.open(stateDir);
  console.log(`VALID_TOKEN=${store.token}`);
  return 0;
}
