// Hand-built DeploymentSpecs for the Docker runtime tests (the config loader is tested on its own).
import type { DeploymentSpec } from '../../orchestrator/config/types.ts';

export interface TestSpecOptions {
  model: string;
  gpus?: number[];
  image?: string;
  pull?: DeploymentSpec['pull'];
  accelerator?: DeploymentSpec['accelerator'];
  env?: Record<string, string>;
  launcher?: DeploymentSpec['launcher'];
  shmSizeBytes?: number;
  hfCache?: string;
}

/** One replica of `model` pinned to `gpus` (default GPU 1), running the simulator image. */
export function testSpec(options: TestSpecOptions): DeploymentSpec {
  const gpus = options.gpus ?? [1];
  const gpuLabel = `gpu${gpus.join('-')}`;
  const shaped = {
    model: options.model,
    gpus,
    image: options.image ?? 'tgi-sim:local',
    accelerator: options.accelerator ?? 'nvidia',
    env: options.env ?? { SIM_LOAD_SECONDS: '1', SIM_TOKENS_PER_SECOND: '0' },
    launcher: options.launcher ?? { max_input_tokens: 1024, max_total_tokens: 2048 },
    shmSizeBytes: options.shmSizeBytes ?? 64 * 1024 * 1024,
  };
  return {
    key: `${options.model}/${gpuLabel}`,
    gpuLabel,
    modelId: `sim/${options.model}`,
    runtime: 'docker',
    vision: false,
    pull: options.pull ?? 'missing',
    command: undefined,
    simulator: { loadSeconds: 1, tokensPerSecond: 0 },
    limits: { requestsPerSecond: 100, burst: 100, maxConcurrentRequests: 100, requestTimeoutMs: 30_000, queueTimeoutMs: 0 },
    hfCache: options.hfCache ?? '/tmp/tgi-fleet-test-hf-cache',
    loadTimeoutMs: 30 * 60_000,
    ...shaped,
  };
}
