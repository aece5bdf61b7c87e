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

/**
 * GET /info of a vLLM or SGLang deployment, which have no /info: TGI's Info fields from the engine's
 * GET /v1/models (its `max_model_len`, docs/vllm-contract.md and sglang-contract.md "Routes") and from
 * models.yaml, completed as for TGI. `router` names the engine; fields only TGI knows are null.
 */
export function engineInfo(models: Record<string, unknown>, d: ServedDeployment, now = new Date()): Record<string, unknown> {
  const entry = Array.isArray(models.data) ? (models.data.find((m) => (m as Record<string, unknown>)?.id === d.spec.model) ?? models.data[0]) : undefined;
  const maxModelLen = (entry as Record<string, unknown> | undefined)?.max_model_len;
  const configured = d.spec.launcher.max_total_tokens;
  const info = {
    model_id: d.spec.modelId,
    model_sha: null,
    model_pipeline_tag: d.spec.vision ? 'image-text-to-text' : 'text-generation',
    max_total_tokens: typeof maxModelLen === 'number' ? maxModelLen : typeof configured === 'number' ? configured : null,
    router: d.spec.engine,
    version: null,
    sha: null,
    docker_label: null,
  };
  return completeInfo(info, d, now);
}

/** How GET /info of `d` is answered: TGI's /info completed, or (vLLM, SGLang) built from the engine's /v1/models. */
export function infoAnswer(d: ServedDeployment): { upstreamPath?: string; rewrite: (body: Record<string, unknown>) => Record<string, unknown> } {
  if (d.spec.engine === 'vllm' || d.spec.engine === 'sglang') return { upstreamPath: '/v1/models', rewrite: (models) => engineInfo(models, d) };
  return { rewrite: (info) => completeInfo(info, d) };
}
