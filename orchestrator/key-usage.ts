import type { EventEmitter } from 'node:events';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestRecord } from '../gateway/types.ts';

// Who used what, per key name ("operator" for VALID_TOKEN): last use, requests, prompt and generated
// tokens. Counted from the gateway's 'request' events and added to <stateDir>/key-usage.json every
// few seconds (and on shutdown), never per request. A file of its own: `keys` edits keys.json, this
// process writes this one, so neither overwrites the other.

export interface KeyUsage {
  lastUsedAt: number;
  requests: number;
  promptTokens: number;
  generatedTokens: number;
}

export type UsageByKey = Record<string, KeyUsage>;

export const USAGE_FLUSH_INTERVAL_MS = 10_000;

export function usagePath(stateDir: string): string {
  return join(stateDir, 'key-usage.json');
}

export async function readUsage(stateDir: string): Promise<UsageByKey> {
  try {
    return JSON.parse(await readFile(usagePath(stateDir), 'utf8')) as UsageByKey;
  } catch {
    return {};
  }
}

export class KeyUsageRecorder {
  private pending = new Map<string, KeyUsage>();
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();
  private readonly onRequest = (record: RequestRecord) => this.record(record);

  constructor(
    private readonly stateDir: string,
    private readonly events: EventEmitter,
    private readonly onError: (message: string) => void,
  ) {}

  start(intervalMs = USAGE_FLUSH_INTERVAL_MS): void {
    this.events.on('request', this.onRequest);
    this.timer = setInterval(() => void this.flush(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.events.off('request', this.onRequest);
    clearInterval(this.timer);
    await this.flush();
  }

  private record(record: RequestRecord): void {
    if (!record.caller) return;
    let usage = this.pending.get(record.caller);
    if (!usage) this.pending.set(record.caller, (usage = { lastUsedAt: 0, requests: 0, promptTokens: 0, generatedTokens: 0 }));
    usage.lastUsedAt = record.at;
    usage.requests += 1;
    usage.promptTokens += record.promptTokens ?? 0;
    usage.generatedTokens += record.generatedTokens;
  }

  /** Adds what was counted since the last flush to the file. */
  flush(): Promise<void> {
    if (!this.pending.size) return this.writing;
    const delta = this.pending;
    this.pending = new Map();
    this.writing = this.writing.then(async () => {
      const totals = await readUsage(this.stateDir);
      for (const [name, d] of delta) {
        const t = (totals[name] ??= { lastUsedAt: 0, requests: 0, promptTokens: 0, generatedTokens: 0 });
        t.lastUsedAt = Math.max(t.lastUsedAt, d.lastUsedAt);
        t.requests += d.requests;
        t.promptTokens += d.promptTokens;
        t.generatedTokens += d.generatedTokens;
      }
      try {
        await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
        const path = usagePath(this.stateDir);
        const tmp = `${path}.${process.pid}.tmp`;
        await writeFile(tmp, JSON.stringify(totals, null, 2) + '\n', { mode: 0o600 });
        await chmod(tmp, 0o600);
        await rename(tmp, path);
      } catch (error) {
        this.onError(`key usage could not be saved to ${usagePath(this.stateDir)}: ${(error as Error).message}; check the state dir's permissions and free space`);
      }
    });
    return this.writing;
  }
}
