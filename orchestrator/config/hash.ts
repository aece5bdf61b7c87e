import { createHash } from 'node:crypto';
import type { DeploymentSpec } from './types.ts';

/** JSON with object keys sorted at every level, so equal values always give equal text. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * sha256 over everything that shapes the running server. The gateway limits and the pull policy are
 * left out: changing them must not restart a container.
 */
export function configHash(spec: Omit<DeploymentSpec, 'configHash'>): string {
  const { key, modelId, runtime, accelerator, image, gpus, env, launcher, command, simulator, shmSizeBytes, hfCache, vision } = spec;
  const shaping = { key, modelId, runtime, accelerator, image, gpus, env, launcher, command, simulator, shmSizeBytes, hfCache, vision };
  return createHash('sha256').update(canonicalJson(shaping)).digest('hex');
}
