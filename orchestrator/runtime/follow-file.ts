import { open, readFile } from 'node:fs/promises';

export interface LogOptions {
  follow: boolean;
  /** Lines from the end to start with. */
  tail: number;
  signal?: AbortSignal;
}

/** The last `tail` lines of a log file, then (with follow) every line appended to it until aborted. */
export async function* followFile(path: string, { tail, follow, signal }: LogOptions): AsyncIterable<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`no log file at ${path}: has this deployment run on this host since the state dir was created?`);
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  yield* lines.slice(-tail);
  if (!follow) return;
  let offset = Buffer.byteLength(text);
  let partial = '';
  const file = await open(path, 'r');
  try {
    while (!signal?.aborted) {
      const { size } = await file.stat();
      if (size > offset) {
        const buffer = Buffer.alloc(size - offset);
        await file.read(buffer, 0, buffer.length, offset);
        offset = size;
        const chunk = (partial + buffer.toString('utf8')).split('\n');
        partial = chunk.pop() ?? '';
        yield* chunk;
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await file.close();
  }
}
