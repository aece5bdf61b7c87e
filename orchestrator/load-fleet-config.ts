import { formatIssues, loadConfig } from './config/load.ts';
import type { ConfigIssue, FleetConfig, GpuInfo } from './config/types.ts';
import { readGpus } from './gpus.ts';
import { log } from './log.ts';

export type FleetConfigResult = { ok: true; config: FleetConfig; gpus: GpuInfo[] } | { ok: false; issues: ConfigIssue[] };

/**
 * Loads models.yaml and, when some deployment needs real GPUs (docker or process runtime), checks it
 * against this host's GPU inventory from nvidia-smi. A simulator-only file needs no GPU at all.
 */
export async function loadFleetConfig(file: string): Promise<FleetConfigResult> {
  const first = await loadConfig(file, { env: process.env });
  if (!first.ok) return first;
  if (first.config.deployments.every((d) => d.runtime === 'simulator')) {
    if (first.warnings.length) log.warn(formatIssues(first.warnings));
    return { ok: true, config: first.config, gpus: [] };
  }
  const inventory = await readGpus();
  if ('error' in inventory) {
    return {
      ok: false,
      issues: [{ file, path: 'models', message: `cannot read this host's GPUs: ${inventory.error}`, hint: 'install the NVIDIA driver (nvidia-smi must work), or use `runtime: simulator` for a demo without GPUs' }],
    };
  }
  const second = await loadConfig(file, { env: process.env, gpus: inventory.gpus });
  if (!second.ok) return second;
  if (second.warnings.length) log.warn(formatIssues(second.warnings));
  return { ok: true, config: second.config, gpus: inventory.gpus };
}
