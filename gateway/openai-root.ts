import express from 'express';
import type { Accounting } from './accounting.ts';
import { readJsonBody } from './body.ts';
import { callerOf, mayUse } from './callers.ts';
import type { Dispatcher } from './dispatch.ts';
import { GatewayError } from './errors.ts';
import { GET_ROUTE, POST_ROUTE, refuseOtherMethods } from './methods.ts';
import type { RouteIndex } from './route-index.ts';
import type { DeploymentDirectory, GatewayOptions } from './types.ts';

// OpenAI-compatible routes at the root (mounted at /v1): one client with base URL http://host:8000/v1
// reaches every model, chosen by the body's `model` — a model name (balanced over its replicas),
// "<model>/<gpuLabel>" (one replica) or the Hugging Face model id.

export function openAIRootRouter(options: Pick<GatewayOptions, 'table' | 'settings'>, routes: RouteIndex, dispatcher: Dispatcher, accounting: Accounting): express.Router {
  const router = express.Router();
  for (const endpoint of ['/chat/completions', '/completions']) {
    router.post(endpoint, async (req, res, next) => {
      try {
        // Before the body names the model, the gateway-wide request_timeout bounds its upload.
        const settings = options.settings();
        const body = await readJsonBody(req, settings.maxBodyBytes, settings.limits.requestTimeoutMs);
        const name = body.json.model;
        const valid = () => routes.modelNames().join(', ');
        if (typeof name !== 'string' || name === '') throw new GatewayError(400, `the body needs "model": one of ${valid()} (or <model>/gpu<N> for one replica)`);
        const target = routes.resolveModelField(name);
        if (!target) {
          accounting.refuse({ model: '', status: 404, refusedBy: 'not_found' });
          throw new GatewayError(404, `unknown model "${name}"; valid models: ${valid()} (or <model>/gpu<N> for one replica)`);
        }
        await dispatcher.serve(req, res, { ...target, endpoint: `/v1${endpoint}`, methods: POST_ROUTE, upstreamPath: `/v1${req.url}` }, body);
      } catch (error) {
        next(error);
      }
    });
    router.all(endpoint, refuseOtherMethods(POST_ROUTE, accounting));
  }
  router.get('/models', (req, res) => {
    const caller = callerOf(req);
    res.json(modelList(options.table, (model) => mayUse(caller, model)));
  });
  router.all('/models', refuseOtherMethods(GET_ROUTE, accounting));
  return router;
}

/** The OpenAI list shape, one entry per model the caller may use, with its replicas and their states as extra fields. */
function modelList(table: DeploymentDirectory, allowed: (model: string) => boolean) {
  return {
    object: 'list',
    data: table.models().filter(allowed).map((model) => {
      const replicas = table.replicas(model);
      return {
        id: model,
        object: 'model',
        created: Math.floor(Math.min(...replicas.map((d) => d.since)) / 1000),
        owned_by: 'tgi-fleet',
        model_id: replicas[0]?.spec.modelId,
        replicas: replicas.map((d) => ({ id: d.key, state: d.state })),
      };
    }),
  };
}
