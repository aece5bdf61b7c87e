// The `tgi_*` series real TGI exports, read from the Metrics table of docs/tgi-contract.md — the one
// list the conformance suite, the simulator's tests and the monitoring tests check names against.
import { readFileSync } from 'node:fs';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export interface ContractMetric {
  name: string;
  type: MetricType;
  /** Label name → the values the table lists (empty when it lists none). */
  labels: Record<string, string[]>;
}

export const CONTRACT_FILE = new URL('../../docs/tgi-contract.md', import.meta.url);

/** The rows of the table under `## Metrics` whose first cell is a backticked tgi_* name. */
export function contractMetrics(markdown = readFileSync(CONTRACT_FILE, 'utf8')): ContractMetric[] {
  const section = /^## Metrics\n([\s\S]*?)(?=^## )/m.exec(markdown);
  if (!section) throw new Error('docs/tgi-contract.md has no "## Metrics" section');
  const metrics: ContractMetric[] = [];
  for (const line of section[1].split('\n')) {
    const row = /^\| `(tgi_[a-z_]+)` \| (counter|gauge|histogram|summary) \| ([^|]*) \|/.exec(line);
    if (!row) continue;
    const labels: Record<string, string[]> = {};
    const cell = row[3].trim();
    const label = /^`([a-z_]+)`(?::\s*(.*))?$/.exec(cell);
    if (label) labels[label[1]] = [...(label[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    metrics.push({ name: row[1], type: row[2] as MetricType, labels });
  }
  if (metrics.length === 0) throw new Error('the Metrics section of docs/tgi-contract.md lists no tgi_* series');
  return metrics;
}
