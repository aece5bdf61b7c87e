import type { RequestHandler } from 'express';
import type { DeploymentTable } from '../orchestrator/deployment/table.ts';

// The gateway's own /info (every deployment, where it runs, and its TGI /info) and /health (healthy
// only when every deployment is ready; load balancers and `up` read it).

export function infoHandler(table: DeploymentTable): RequestHandler {
  return (_req, res) => {
    res.json({
      deployments: table.all().map((d) => ({
        route: `/${d.key}`,
        model: d.spec.model,
        model_id: d.spec.modelId,
        gpus: d.spec.gpus,
        runtime: d.spec.runtime,
        instance: d.instanceId ?? null,
        state: d.state,
        phase: d.phase ?? null,
        since: new Date(d.since).toISOString(),
        upstream: d.upstream?.url ?? null,
        restarts: d.restarts,
        in_flight: d.inFlight,
        vision: d.spec.vision,
        tgi_info: d.tgiInfo ?? null,
      })),
    });
  };
}

export function healthHandler(table: DeploymentTable): RequestHandler {
  return (_req, res) => {
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
