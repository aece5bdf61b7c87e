// The vllm:* and sglang:* series the real engines export, read from the Metrics tables of
// docs/vllm-contract.md and docs/sglang-contract.md (the monitoring bundle's source for their names,
// as contractMetrics() is for tgi_*). A name in parentheses (an older name) does not count.
import { readFileSync } from 'node:fs';

export type EngineMetricKind = 'histogram' | 'plain';

const DOCS = { vllm: new URL('../../docs/vllm-contract.md', import.meta.url), sglang: new URL('../../docs/sglang-contract.md', import.meta.url) };

export function engineMetrics(engine: keyof typeof DOCS): Record<string, EngineMetricKind> {
  const markdown = readFileSync(DOCS[engine], 'utf8');
  const section = /^## Metrics\n([\s\S]*?)(?=^## )/m.exec(markdown);
  if (!section) throw new Error(`docs/${engine}-contract.md has no "## Metrics" section`);
  const metrics: Record<string, EngineMetricKind> = {};
  for (const line of section[1].split('\n')) {
    const row = /^\| (.+?) \| (counter|gauge|histogram)\b[^|]* \|$/.exec(line);
    if (!row) continue;
    const current = row[1].replace(/\([^)]*\)/g, '');
    for (const m of current.matchAll(new RegExp('`(' + engine + ':[a-z0-9_]+)', 'g'))) metrics[m[1]] = row[2] === 'histogram' ? 'histogram' : 'plain';
  }
  if (Object.keys(metrics).length === 0) throw new Error(`the Metrics section of docs/${engine}-contract.md lists no ${engine}:* series`);
  return metrics;
}
