import { formatIssues, loadConfig } from './config/load.ts';
import type { ConfigIssue, FleetConfig, GpuInfo } from './config/types.ts';
import type { RunningPlacement } from './config/placement.ts';
import { readGpus } from './gpus.ts';
import { log } from './log.ts';

export type FleetConfigResult = { ok: true; config: FleetConfig; gpus: GpuInfo[] } | { ok: false; issues: ConfigIssue[] };

/**
 * Loads models.yaml against this host's GPU inventory (nvidia-smi). Deployments that need real GPUs
 * (docker or process runtime) make a missing inventory an error; a simulator-only file needs none.
 * `running` keeps `gpus: auto` replicas on the GPUs they already use.
 */
export async function loadFleetConfig(file: string, running?: RunningPlacement[]): Promise<FleetConfigResult> {
  const inventory = await readGpus();
  const gpus = 'gpus' in inventory ? inventory.gpus : undefined;
  const loaded = await loadConfig(file, { env: process.env, gpus, running });
  if (!loaded.ok) return loaded;
  if (!gpus && loaded.config.deployments.some((d) => d.runtime !== 'simulator')) {
    const reason = 'error' in inventory ? inventory.error : 'no GPUs';
    return {
      ok: false,
      issues: [{ file, path: 'models', kind: 'host', message: `these models need GPUs, but this host's cannot be read: ${reason}`, hint: 'check that `nvidia-smi` works for this user (NVIDIA driver installed), or run the models on the simulator runtime' }],
    };
  }
  if (loaded.warnings.length) log.warn(formatIssues(loaded.warnings));
  return { ok: true, config: loaded.config, gpus: gpus ?? [] };
}
