import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler } from 'express';
import type { Logger } from './types.ts';

// The gateway's own errors: one class, one body shape ({"error":{"message","type","code"}}, code = the
// HTTP status), one writer. Errors that come from TGI are relayed unchanged and never pass through here.

/** The `type` of each status the gateway answers with itself (documented in the README). */
const TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'internal_error',
  502: 'upstream_error',
  503: 'service_unavailable',
  504: 'timeout_error',
};

export class GatewayError extends Error {
  readonly type: string;

  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
    this.type = TYPES[status] ?? 'internal_error';
  }

  get body(): string {
    return JSON.stringify({ error: { message: this.message, type: this.type, code: this.status } });
  }
}

/** Writes the error as the response; a no-op when the response has already started (the caller ends it). */
export function sendError(res: ServerResponse, error: GatewayError): void {
  if (res.headersSent) return;
  const body = error.body;
  res.statusCode = error.status;
  if (error.headers) for (const name in error.headers) res.setHeader(name, error.headers[name]);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(body);
}

/** Any error as a response: GatewayErrors as they are, 4xx errors Express raises (e.g. an undecodable path) with their status, the rest a 500. */
export function sendAnyError(req: IncomingMessage, res: ServerResponse, error: unknown, log: Logger): void {
  if (error instanceof GatewayError) return sendError(res, error);
  const status = (error as { status?: unknown })?.status;
  const clientError = typeof status === 'number' && status >= 400 && status < 500;
  if (!clientError) log.error({ err: error, method: req.method, url: req.url }, `gateway: unexpected error on ${req.method} ${req.url}`);
  if (res.headersSent) return void res.destroy();
  const message = clientError ? String((error as Error).message) : 'the gateway failed on this request; the details are in its log';
  sendError(res, new GatewayError(clientError ? status : 500, message));
}

/** Express's last handler. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => sendAnyError(req, res, error, log);
}
