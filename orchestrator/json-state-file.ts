import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

// A small JSON file in the state dir that one process rewrites as its state changes: read once at
// start (absent or unreadable counts as empty), written whole and atomically (temp file, rename), one
// write after another so the last state always wins.
export class JsonStateFile<T> {
  private writing: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  read(empty: T): T {
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as T;
    } catch {
      return empty;
    }
  }

  write(value: T): void {
    const text = JSON.stringify(value, null, 2) + '\n';
    this.writing = this.writing.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFile(`${this.file}.tmp`, text);
      await rename(`${this.file}.tmp`, this.file);
    }).catch(() => undefined);
  }

  /** Resolves once every write so far is on disk. */
  flushed(): Promise<void> {
    return this.writing;
  }
}
