import type { RequestRecord } from '../types.ts';

// Usage per API key since the gateway started, for the dashboard's table (the persisted totals are
// the orchestrator's, shown by `npm run keys -- list`). Bounded by the number of keys.

export interface KeyUsageView {
  /** Key name; "operator" for VALID_TOKEN. */
  name: string;
  requests: number;
  /** Answers with a 4xx or 5xx status (refusals included). */
  refused: number;
  promptTokens: number;
  generatedTokens: number;
  lastUsedAt: number;
}

export class KeyUsageTally {
  private readonly byKey = new Map<string, KeyUsageView>();

  record(record: RequestRecord): void {
    if (!record.caller) return;
    let usage = this.byKey.get(record.caller);
    if (!usage) this.byKey.set(record.caller, (usage = { name: record.caller, requests: 0, refused: 0, promptTokens: 0, generatedTokens: 0, lastUsedAt: 0 }));
    usage.requests += 1;
    if (record.status >= 400) usage.refused += 1;
    usage.promptTokens += record.promptTokens ?? 0;
    usage.generatedTokens += record.generatedTokens;
    usage.lastUsedAt = record.at;
  }

  /** Busiest keys first. */
  views(): KeyUsageView[] {
    return [...this.byKey.values()].sort((a, b) => b.promptTokens + b.generatedTokens - (a.promptTokens + a.generatedTokens) || b.requests - a.requests);
  }
}
