import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Replaces a JSON file that only its owner may read (the token, API key hashes and usage, what `up`
 * serves): written to a temp file of this process, mode 0600, then renamed over it, so a reader never
 * sees half a file; its folder is created (mode 0700) if need be. Rejects with the file system's error.
 */
export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  await chmod(tmp, 0o600); // a umask or an existing temp file cannot leave it wider
  await rename(tmp, file);
}
