import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App } from '../app.ts';
import { readJson } from '../http-io.ts';

/** One request as a handler sees it. */
export interface Exchange {
  app: App;
  req: IncomingMessage;
  res: ServerResponse;
  /** performance.now() when the request arrived. */
  receivedAt: number;
  /** Aborted when the client goes away before the response is complete. */
  signal: AbortSignal;
}

export type Handler = (x: Exchange) => Promise<void> | void;

/** The request's JSON body, read with TGI's payload limit. */
export function jsonBody(x: Exchange): Promise<unknown> {
  return readJson(x.req, x.app.settings.payloadLimit);
}
