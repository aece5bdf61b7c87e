import { flagSpelling, launcherFlag } from '../config/launcher-flags.ts';
import type { DeploymentSpec } from '../config/types.ts';

/**
 * The server's argv for a deployment, in the engine's own CLI (what follows the image's entrypoint):
 * - TGI (`text-generation-launcher`): `--model-id`, `--num-shard` (one shard per pinned GPU);
 * - vLLM (`vllm serve`): the model as its positional argument, `--served-model-name`, `--tensor-parallel-size`;
 * - SGLang (`python3 -m sglang.launch_server`): `--model-path`, `--served-model-name`, `--tp-size`;
 * then every setting as `--kebab-case value`, in name order (the same settings always make the same
 * argv, whatever their order in models.yaml). `true` is a bare flag; `false` is left out, except on
 * vLLM, whose boolean flags take `--no-<flag>`. Where to listen is the runtime's to add.
 */
export function launcherArgs(spec: DeploymentSpec): string[] {
  const engine = spec.engine ?? 'tgi';
  const shards = String(spec.gpus.length);
  const args =
    engine === 'vllm' ? [spec.modelId, '--served-model-name', spec.model, '--tensor-parallel-size', shards]
    : engine === 'sglang' ? ['--model-path', spec.modelId, '--served-model-name', spec.model, '--tp-size', shards]
    : [flagSpelling('model_id'), spec.modelId, flagSpelling('num_shard'), shards];
  for (const [setting, value] of Object.entries(spec.launcher).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (value === undefined) continue;
    const flag = engine === 'tgi' ? flagSpelling(launcherFlag(setting)?.name ?? setting) : flagSpelling(setting);
    if (value === false) {
      if (engine === 'vllm') args.push(`--no-${flag.slice(2)}`);
      continue;
    }
    args.push(flag);
    if (value !== true) args.push(String(value));
  }
  return args;
}
