// What every route handler needs: the settings, the backend, the metrics and the /info object.
import { hostname } from 'node:os';
import { Inference } from './inference.ts';
import { TgiMetrics } from './metrics.ts';
import type { SimSettings } from './settings.ts';
import { hash32 } from './tokenizer.ts';

export const TGI_VERSION = '3.3.6';
/** Stands for the commit the router was built from; fixed so /info is stable. */
const ROUTER_SHA = '9d6e1c1a0a7e8b5f4c3d2e1f0a9b8c7d6e5f4a3b';

export interface App {
  settings: SimSettings;
  metrics: TgiMetrics;
  inference: Inference;
  info: Record<string, unknown>;
  /** "text-generation" or "image-text-to-text". */
  pipelineTag: string;
  /** "<version>-<docker_label>", the system_fingerprint of OpenAI responses. */
  systemFingerprint: string;
}

/** A model sha that looks like a Hub revision and is stable for a model id. */
function modelSha(modelId: string): string {
  return Array.from({ length: 5 }, (_, i) => hash32(modelId, i + 1).toString(16).padStart(8, '0')).join('');
}

export function createApp(settings: SimSettings): App {
  const metrics = new TgiMetrics(settings);
  const pipelineTag = settings.sim.vision ? 'image-text-to-text' : 'text-generation';
  const dockerLabel = `sha-${ROUTER_SHA.slice(0, 7)}`;
  const info = {
    model_id: settings.modelId,
    model_sha: settings.revision && /^[0-9a-f]{40}$/.test(settings.revision) ? settings.revision : modelSha(settings.modelId),
    model_pipeline_tag: pipelineTag,
    max_concurrent_requests: settings.maxConcurrentRequests,
    max_best_of: settings.maxBestOf,
    max_stop_sequences: settings.maxStopSequences,
    max_input_tokens: settings.maxInputTokens,
    max_total_tokens: settings.maxTotalTokens,
    validation_workers: settings.validationWorkers,
    max_client_batch_size: settings.maxClientBatchSize,
    router: 'text-generation-router',
    version: TGI_VERSION,
    sha: ROUTER_SHA,
    docker_label: dockerLabel,
    simulator: {
      nvidia_visible_devices: settings.nvidiaVisibleDevices,
      cuda_visible_devices: settings.cudaVisibleDevices,
      num_shard: settings.numShard,
      hostname: hostname(),
      pid: process.pid,
      vision: settings.sim.vision,
    },
  };
  return { settings, metrics, inference: new Inference(settings, metrics), info, pipelineTag, systemFingerprint: `${TGI_VERSION}-${dockerLabel}` };
}
