// GET /health (also GET / and /ping), /info, /v1/models and /metrics.
import { sendEmpty, sendJson, sendText } from '../http-io.ts';
import type { Exchange } from './exchange.ts';

/** 200 with an empty body once the server listens at all. */
export function health(x: Exchange): void {
  sendEmpty(x.res, 200);
}

export function info(x: Exchange): void {
  sendJson(x.res, 200, x.app.info);
}

export function models(x: Exchange): void {
  const id = x.app.info.model_id;
  sendJson(x.res, 200, { object: 'list', data: [{ id, object: 'model', created: 0, owned_by: id }] });
}

export function metrics(x: Exchange): void {
  sendText(x.res, 200, x.app.metrics.render());
}
