import { mkdirSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { KeyStore } from './keys.ts';
import { TokenStore } from './token.ts';

/**
 * Re-reads the token and the API keys when `npm run token -- --rotate` or `npm run keys` changes them.
 * They are replaced by a rename, so their folders are watched: the state dir, and the keys file's
 * folder when gateway.keys_file puts it elsewhere (created, mode 0700, if it is not there yet).
 */
export class CredentialsWatch {
  private watchers: FSWatcher[] = [];

  constructor(
    private readonly stateDir: string,
    private readonly tokens: TokenStore,
    private readonly keys: KeyStore,
    private readonly onError: (message: string) => void,
  ) {
    this.arm();
  }

  /** Serves and follows another keys file (gateway.keys_file changed); false when it is the one in use. */
  async useKeysFile(file: string): Promise<boolean> {
    if (!(await this.keys.useFile(file))) return false;
    this.close();
    this.arm();
    return true;
  }

  close(): void {
    for (const w of this.watchers.splice(0)) w.close();
  }

  private arm(): void {
    const tokenFile = TokenStore.path(this.stateDir);
    const keysFile = this.keys.file;
    for (const folder of new Set([dirname(tokenFile), dirname(keysFile)])) {
      try {
        mkdirSync(folder, { recursive: true, mode: 0o700 });
        this.watchers.push(
          watch(folder, (_event, name) => {
            if (folder === dirname(tokenFile) && name === basename(tokenFile)) void this.tokens.reload(this.stateDir);
            if (folder === dirname(keysFile) && name === basename(keysFile)) void this.keys.reload();
          }),
        );
      } catch (error) {
        this.onError(`cannot watch ${folder} (${(error as Error).message}): changes of ${folder === dirname(keysFile) ? 'the API keys' : 'the token'} there reach this gateway only after a restart; make the folder readable (and creatable) by this user`);
      }
    }
  }
}
