// The HTTP server: route dispatch, error answers, and the in-flight count a graceful stop waits on.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { App } from './app.ts';
import { HttpRejection, TgiError } from './errors.ts';
import { sendEmpty, sendJson, sendText } from './http-io.ts';
import { matchRoute } from './router.ts';
import { emit, ROUTER } from './tgi-log.ts';

export interface SimServer {
  server: Server;
  /** Requests not yet answered. */
  inFlight(): number;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
}

export interface ServerHooks {
  /** Called when a generation request arrives, before it is read or answered. */
  onGenerationRequest(): void;
}

function answerError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof HttpRejection) return sendText(res, error.status, error.message);
  if (error instanceof TgiError) return sendJson(res, error.status, error.body());
  emit({ level: 'ERROR', target: ROUTER, message: `unexpected error: ${error instanceof Error ? error.stack : String(error)}` });
  sendText(res, 500, 'Internal Server Error');
}

export function createSimServer(app: App, hooks: ServerHooks): SimServer {
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    const receivedAt = performance.now();
    const match = matchRoute(req.method, req.url, req.headers.authorization, app.settings.apiKey);
    if (match.kind === 'not-found') return sendEmpty(res, 404);
    if (match.kind === 'unauthorized') return sendEmpty(res, 401);
    if (match.kind === 'method-not-allowed') return sendEmpty(res, 405, { allow: match.allow });
    if (match.generates) hooks.onGenerationRequest();
    inFlight++;
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
      if (--inFlight === 0) {
        for (const resolve of waiters) resolve();
        waiters = [];
      }
    });
    Promise.resolve()
      .then(() => match.handler({ app, req, res, receivedAt, signal: controller.signal }))
      .catch((error: unknown) => answerError(res, error));
  });
  // Hung requests (SIM_HANG) and long streams must not be cut by Node's own timeouts.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  return {
    server,
    inFlight: () => inFlight,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
  };
}
