import type { DeploymentSpec } from '../config/types.ts';

/** "max_input_tokens" or "maxInputTokens" → "--max-input-tokens". */
function flagName(setting: string): string {
  return `--${setting.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/_/g, '-').toLowerCase()}`;
}

/**
 * The TGI launcher's argv for a deployment: `--model-id`, `--num-shard` (one shard per pinned GPU),
 * then every launcher setting as `--kebab-case value`; `true` is a bare flag, `false` is left out.
 */
export function launcherArgs(spec: DeploymentSpec): string[] {
  const args = ['--model-id', spec.modelId, '--num-shard', String(spec.gpus.length)];
  // In name order: the same settings always make the same argv, whatever their order in models.yaml.
  for (const [setting, value] of Object.entries(spec.launcher).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === false || value === undefined) continue;
    args.push(flagName(setting));
    if (value !== true) args.push(String(value));
  }
  return args;
}
