import type { RequestHandler } from 'express';
import type { DeploymentDirectory } from './types.ts';

// The gateway's own /info (every deployment, where it runs, its retries, and its TGI /info) and
// /health (healthy only when every deployment is ready, "starting" until they are all registered;
// load balancers and `up` read it).

/** Seconds a client should wait on a gateway whose deployments are not registered yet. */
const STARTING_RETRY_AFTER_SECONDS = 2;

const isoOrNull = (at: number | undefined) => (at === undefined ? null : new Date(at).toISOString());

export function infoHandler(table: DeploymentDirectory): RequestHandler {
  return (_req, res) => {
    res.json({
      deployments: table.all().map((d) => ({
        route: `/${d.key}`,
        model: d.spec.model,
        model_id: d.spec.modelId,
        gpus: d.spec.gpus,
        runtime: d.spec.runtime,
        instance: d.instanceId ?? null,
        instance_name: d.instanceName ?? null,
        state: d.state,
        phase: d.phase ?? null,
        since: new Date(d.since).toISOString(),
        started_at: isoOrNull(d.startedAt),
        upstream: d.upstream?.url ?? null,
        restarts: d.restarts,
        attempts: d.attempts,
        next_retry_at: isoOrNull(d.nextRetryAt),
        failure: d.lastFailure ? { message: d.lastFailure.message, diagnosis: d.lastFailure.diagnosis ?? null } : null,
        in_flight: d.inFlight,
        vision: d.spec.vision,
        tgi_info: d.tgiInfo ?? null,
      })),
    });
  };
}

export function healthHandler(table: DeploymentDirectory): RequestHandler {
  return (_req, res) => {
    if (!table.synced) {
      res
        .status(503)
        .set('retry-after', String(STARTING_RETRY_AFTER_SECONDS))
        .json({ status: 'starting', message: "the orchestrator is still registering models.yaml's deployments; retry after the Retry-After seconds" });
      return;
    }
    const notReady = table.all().filter((d) => !d.isReady);
    if (notReady.length === 0) {
      res.json({ status: 'healthy' });
      return;
    }
    res.status(503).json({
      status: 'unhealthy',
      not_ready: notReady.map((d) => ({ route: `/${d.key}`, state: d.state, ...(d.phase ? { phase: d.phase } : {}) })),
    });
  };
}
