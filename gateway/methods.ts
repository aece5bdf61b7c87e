import type { RequestHandler } from 'express';
import type { Accounting } from './accounting.ts';
import { GatewayError, sendError } from './errors.ts';

// Which methods a route takes, and the 405 with Allow (RFC 9110 §15.5.5) for any other. A GET route
// takes HEAD too, as TGI's routes (axum) and Express's do.

export type AllowedMethods = readonly string[];

export const GET_ROUTE: AllowedMethods = ['GET', 'HEAD'];
export const POST_ROUTE: AllowedMethods = ['POST'];

export function methodNotAllowed(method: string | undefined, path: string, allowed: AllowedMethods): GatewayError {
  const allow = allowed.join(', ');
  return new GatewayError(405, `${method} is not allowed on ${path}: it takes ${allow}`, { allow });
}

/** For Express: mounted after a path's handlers, it answers the methods they do not take. */
export function refuseOtherMethods(allowed: AllowedMethods, accounting: Accounting): RequestHandler {
  return (req, res) => {
    accounting.refuse({ model: '', status: 405, refusedBy: 'method_not_allowed' });
    sendError(res, methodNotAllowed(req.method, req.baseUrl + req.path, allowed));
  };
}
