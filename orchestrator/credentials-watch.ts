import { watch, type FSWatcher } from 'node:fs';
import { basename } from 'node:path';
import type { KeyStore } from './keys.ts';
import { keysPath } from './keys.ts';
import { TokenStore } from './token.ts';

/** Re-reads the token and the API keys when `npm run token -- --rotate` or `npm run keys` changes them (they are replaced by a rename: the folder is watched). */
export function watchCredentials(stateDir: string, tokens: TokenStore, keys: KeyStore, onError: (message: string) => void): FSWatcher {
  return watch(stateDir, (_event, name) => {
    if (name === basename(TokenStore.path(stateDir))) void tokens.reload(stateDir);
    if (name === basename(keysPath(stateDir))) void keys.reload(onError);
  });
}
