import type { RequestHandler, Response } from 'express';
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
        engine: d.spec.engine ?? 'tgi',
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

/** The 503 of /health and /health/ready before the first reconcile has registered the deployments. */
function starting(res: Response): void {
  res
    .status(503)
    .set('retry-after', String(STARTING_RETRY_AFTER_SECONDS))
    .json({ status: 'starting', message: "the orchestrator is still registering models.yaml's deployments; retry after the Retry-After seconds" });
}

export function healthHandler(table: DeploymentDirectory): RequestHandler {
  return (_req, res) => {
    if (!table.synced) return starting(res);
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

// For a load balancer in front of several gateways (`up`'s and its replicas): /health/live says
// whether this gateway takes requests at all, /health/ready whether it can serve every model.

/** 200 while this gateway serves; 503 once it drains or closes (take it out of the rotation). */
export function liveHandler(isClosing: () => boolean): RequestHandler {
  return (_req, res) => {
    if (isClosing()) res.status(503).set('connection', 'close').json({ status: 'draining', message: 'this gateway is shutting down and takes no new requests; send them to another one' });
    else res.json({ status: 'live' });
  };
}

/** 200 while every model has at least one ready replica; 503 naming the models without one. */
export function readyHandler(table: DeploymentDirectory): RequestHandler {
  return (_req, res) => {
    if (!table.synced) return starting(res);
    const models = table.models();
    const unready = models.filter((model) => !table.replicas(model).some((d) => d.isReady));
    if (unready.length === 0) {
      res.json({ status: 'ready', models });
      return;
    }
    res.status(503).json({
      status: 'not_ready',
      message: `no ready replica of ${unready.join(', ')}`,
      models_without_ready_replica: unready.map((model) => ({ model, replicas: table.replicas(model).map((d) => ({ route: `/${d.key}`, state: d.state })) })),
    });
  };
}
