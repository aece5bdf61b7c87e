import assert from 'node:assert/strict';
import { loadConfigText, type LoadOptions } from '../../orchestrator/config/load.ts';
import type { ConfigIssue, FleetConfig, GpuInfo } from '../../orchestrator/config/types.ts';

/** Lines of YAML, so a test can count the line numbers it expects. */
export const yaml = (...lines: string[]) => `${lines.join('\n')}\n`;

/** Four 80 GB GPUs; `usedMiB[i]` sets how much of GPU i is in use. */
export function h100s(usedMiB: number[] = [0, 0, 0, 0]): GpuInfo[] {
  return usedMiB.map((used, index) => ({ index, uuid: `GPU-${index}`, name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryUsedMiB: used, utilizationPercent: 0 }));
}

export function valid(text: string, options: LoadOptions = {}): { config: FleetConfig; warnings: ConfigIssue[] } {
  const result = loadConfigText(text, 'models.yaml', { env: {}, ...options });
  assert.ok(result.ok, `expected a valid configuration, got:\n${result.ok ? '' : result.issues.map((i) => `${i.line}:${i.column} ${i.path}: ${i.message}`).join('\n')}`);
  return result;
}

export function invalid(text: string, options: LoadOptions = {}): ConfigIssue[] {
  const result = loadConfigText(text, 'models.yaml', { env: {}, ...options });
  assert.ok(!result.ok, 'expected the configuration to be rejected');
  return result.issues;
}

/** The one issue at `path`; fails listing every issue when there is not exactly one. */
export function issueAt(issues: ConfigIssue[], path: string): ConfigIssue {
  const found = issues.filter((i) => i.path === path);
  assert.equal(found.length, 1, `expected one issue at ${path}, got:\n${issues.map((i) => `${i.path}: ${i.message}`).join('\n')}`);
  return found[0];
}
