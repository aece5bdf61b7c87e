import { flagSpelling, launcherFlag } from '../config/launcher-flags.ts';
import type { DeploymentSpec } from '../config/types.ts';

/**
 * The TGI launcher's argv for a deployment: `--model-id`, `--num-shard` (one shard per pinned GPU),
 * then every launcher setting as `--kebab-case value` (config/launcher-flags.ts names them); `true` is
 * a bare flag, `false` is left out. models.yaml has checked the settings against TGI's flags already.
 */
export function launcherArgs(spec: DeploymentSpec): string[] {
  const args = [flagSpelling('model_id'), spec.modelId, flagSpelling('num_shard'), String(spec.gpus.length)];
  // In name order: the same settings always make the same argv, whatever their order in models.yaml.
  for (const [setting, value] of Object.entries(spec.launcher).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === false || value === undefined) continue;
    args.push(flagSpelling(launcherFlag(setting)?.name ?? setting));
    if (value !== true) args.push(String(value));
  }
  return args;
}
