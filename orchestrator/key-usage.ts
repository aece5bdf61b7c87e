import type { EventEmitter } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RequestRecord } from '../gateway/types.ts';
import { writePrivateJson } from './private-json-file.ts';

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

/**
 * key-usage.json is `up`'s; each gateway replica writes its own (`writer` "gateway-8001":
 * key-usage.gateway-8001.json), so no file has two writers. `keys list` sums them (readAllUsage).
 */
export function usagePath(stateDir: string, writer?: string): string {
  return join(stateDir, writer ? `key-usage.${writer}.json` : 'key-usage.json');
}

const USAGE_FILE = /^key-usage(?:\.[\w-]+)?\.json$/;

export async function readUsage(stateDir: string, writer?: string): Promise<UsageByKey> {
  try {
    return JSON.parse(await readFile(usagePath(stateDir, writer), 'utf8')) as UsageByKey;
  } catch {
    return {};
  }
}

/** Every gateway's usage (up's and its replicas'), added up. */
export async function readAllUsage(stateDir: string): Promise<UsageByKey> {
  const files = (await readdir(stateDir).catch(() => [] as string[])).filter((name) => USAGE_FILE.test(name));
  const totals: UsageByKey = {};
  for (const name of files) {
    const usage = await readFile(join(stateDir, name), 'utf8').then((text) => JSON.parse(text) as UsageByKey, () => ({}) as UsageByKey);
    for (const [key, u] of Object.entries(usage)) addUsage((totals[key] ??= { lastUsedAt: 0, requests: 0, promptTokens: 0, generatedTokens: 0 }), u);
  }
  return totals;
}

function addUsage(total: KeyUsage, more: KeyUsage): void {
  total.lastUsedAt = Math.max(total.lastUsedAt, more.lastUsedAt);
  total.requests += more.requests;
  total.promptTokens += more.promptTokens;
  total.generatedTokens += more.generatedTokens;
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
    /** Whose file this is (usagePath); undefined: `up`'s. */
    private readonly writer?: string,
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
      const totals = await readUsage(this.stateDir, this.writer);
      for (const [name, d] of delta) addUsage((totals[name] ??= { lastUsedAt: 0, requests: 0, promptTokens: 0, generatedTokens: 0 }), d);
      try {
        await writePrivateJson(usagePath(this.stateDir, this.writer), totals);
      } catch (error) {
        this.onError(`key usage could not be saved to ${usagePath(this.stateDir, this.writer)}: ${(error as Error).message}; check the state dir's permissions and free space`);
      }
    });
    return this.writing;
  }
}
