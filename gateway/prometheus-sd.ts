import type { RequestHandler } from 'express';
import { GatewayError, sendError } from './errors.ts';
import type { GatewayOptions } from './types.ts';

/** One Prometheus HTTP service-discovery target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

// States in which a deployment is on its way out: no point in scraping it.
const LEAVING = new Set(['draining', 'stopped']);

/**
 * GET /prometheus/targets (behind the bearer token): Prometheus HTTP service discovery. The engines
 * (TGI, vLLM, SGLang) listen on 127.0.0.1 only, so every target is the gateway itself (as the scraper
 * addressed it) with the metrics path of one deployment, `/<model>/<gpuLabel>/metrics`, which the
 * gateway relays to that server's /metrics.
 */
export function prometheusTargets(options: GatewayOptions): RequestHandler {
  return (req, res) => {
    const host = req.headers.host;
    if (!host) {
      sendError(res, new GatewayError(400, 'the request has no Host header; Prometheus sends one, so send it like Prometheus does'));
      return;
    }
    const groups: TargetGroup[] = options.table
      .all()
      .filter((d) => !LEAVING.has(d.state))
      .map((d) => ({
        targets: [host],
        labels: {
          __scheme__: req.protocol,
          __metrics_path__: `/${d.spec.model}/${d.spec.gpuLabel}/metrics`,
          model: d.spec.model,
          gpu: d.spec.gpuLabel,
          model_id: d.spec.modelId,
          // Which series to expect (tgi_*, vllm:*, sglang:*). vLLM's own engine="0" (its engine-core
          // index) becomes exported_engine, as Prometheus renames scraped labels that clash with target labels.
          engine: d.spec.engine ?? 'tgi',
        },
      }));
    res.set('cache-control', 'no-store').json(groups);
  };
}
