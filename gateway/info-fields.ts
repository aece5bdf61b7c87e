import type { ServedDeployment } from './types.ts';

// The service API document's /info lists model_dtype, model_device_type, max_sequence_length and
// timestamp, which TGI 3.x no longer returns (router/src/lib.rs, struct Info: docs/tgi-contract.md).
// The gateway adds each one TGI lacks, from what the orchestrator knows, and keeps every field TGI sends.

/** PyTorch's device type per GPU vendor: ROCm builds of PyTorch name their devices "cuda" too. */
const DEVICE_TYPE: Record<string, string> = { nvidia: 'cuda', amd: 'cuda', intel: 'xpu' };

export function completeInfo(info: Record<string, unknown>, d: ServedDeployment, now = new Date()): Record<string, unknown> {
  const dtype = d.spec.launcher.dtype;
  const added: Record<string, unknown> = {
    // null when models.yaml left the choice to TGI (it picks per model and quantization).
    model_dtype: typeof dtype === 'string' ? dtype : null,
    model_device_type: DEVICE_TYPE[d.spec.accelerator] ?? null,
    max_sequence_length: typeof info.max_total_tokens === 'number' ? info.max_total_tokens : null,
    timestamp: now.toISOString(),
  };
  const completed = { ...info };
  for (const [field, value] of Object.entries(added)) if (!(field in completed)) completed[field] = value;
  return completed;
}
