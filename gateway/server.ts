import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Registry } from 'prom-client';
import { Accounting } from './accounting.ts';
import { Admission } from './admission.ts';
import { Authenticator } from './auth.ts';
import { ClientAddresses } from './client-address.ts';
import { ConnectionCap } from './connection-cap.ts';
import { LoadShedding } from './load-shedding.ts';
import { callerOf } from './callers.ts';
import { LeastInFlight } from './balance.ts';
import { createDashboard } from './dashboard/router.ts';
import { Dispatcher } from './dispatch.ts';
import { errorHandler, GatewayError, sendAnyError, sendError } from './errors.ts';
import { healthHandler, infoHandler, liveHandler, readyHandler } from './info.ts';
import { KeyLimits } from './key-limits.ts';
import { GatewayMetrics } from './metrics.ts';
import { GET_ROUTE, methodNotAllowed, refuseOtherMethods } from './methods.ts';
import { openAIRootRouter } from './openai-root.ts';
import { prometheusTargets } from './prometheus-sd.ts';
import { SlotQueue } from './queue.ts';
import { SharedLimits } from './shared-limits.ts';
import { UpstreamProxy } from './proxy.ts';
import { originForm } from './request-target.ts';
import { RouteIndex, RouteNotFound, type RouteMatch } from './route-index.ts';
import type { GatewayOptions } from './types.ts';

export interface Gateway {
  app: express.Express;
  server: Server;
  registry: Registry;
  /** Listens and resolves with the actual port (pass 0 for an ephemeral one). */
  listen(port: number, host: string): Promise<number>;
  /** Stops accepting (new requests get 503), waits up to drainTimeoutMs for in-flight requests, then closes. */
  close(drainTimeoutMs: number): Promise<void>;
}

/**
 * Connections the kernel may hold for the gateway to accept (Node's default is 511; Linux caps it at
 * net.core.somaxconn, 4096 on current kernels). A burst of connections beyond it overflows the queue,
 * and the kernel then drops other clients' handshakes too: they retry after 1, 3, 7 s. Room for a burst
 * of 2,000 connections from one address lets connection-cap.ts refuse them instead.
 */
const LISTEN_BACKLOG = 4096;

/** How often idle rate-limit buckets and expired lockouts are forgotten. */
const HOUSEKEEPING_INTERVAL_MS = 60_000;

export function createGateway(options: GatewayOptions): Gateway {
  const metrics = new GatewayMetrics(options);
  // Constructed before what it shares: its hooks reach auth and keyLimits only once Redis answers.
  const sharedLimits: SharedLimits = new SharedLimits(options.settings, options.log, {
    lockedOut: (client, ms) => auth.lockout.lockedElsewhere(client, ms, Date.now()),
    inFlightNow: () => keyLimits.inFlightEntries(),
  });
  const keyLimits = new KeyLimits(metrics, sharedLimits);
  const accounting = new Accounting(metrics, options.events, keyLimits);
  const auth = new Authenticator(options, metrics, accounting);
  auth.lockout.sharing = sharedLimits;
  metrics.redisUp = () => sharedLimits.status();
  const admission = new Admission(metrics, options.events, options.log);
  const routes = new RouteIndex(options.table);
  const proxy = new UpstreamProxy((exchange, status) => accounting.end(exchange, status), options.log);
  const queue = new SlotQueue(options.table, metrics, options.events, options.log);
  accounting.slotFreed = (d) => queue.handOff(d);
  const dispatcher = new Dispatcher({ options, admission, keyLimits, accounting, queue, balancer: new LeastInFlight(), metrics, proxy, sharedLimits });
  const dashboard = createDashboard(options);
  const clientAddresses = new ClientAddresses(() => options.settings().trustedProxies);
  const connectionCap = new ConnectionCap(() => options.settings().maxConnectionsPerClient, clientAddresses, metrics, options.log, options.events);
  const shedding = new LoadShedding(() => options.settings().maxConnectionsPerClient > 0, clientAddresses, metrics, options.log, options.events);

  const notFound = (res: ServerResponse, error: GatewayError, model = '') => {
    accounting.refuse({ model, status: 404, refusedBy: 'not_found' });
    sendError(res, error);
  };
  const serveDeploymentRoute = (req: IncomingMessage, res: ServerResponse, match: RouteMatch | RouteNotFound) => {
    if (match instanceof RouteNotFound) return notFound(res, match, match.model);
    if (!match.methods.includes(req.method!)) {
      accounting.refuse({ model: match.model, deployment: match.deployment, status: 405, refusedBy: 'method_not_allowed' });
      return sendError(res, methodNotAllowed(req.method, `/${match.deployment?.key ?? match.model}${match.endpoint}`, match.methods));
    }
    dispatcher.serve(req, res, match).catch((error: unknown) => sendAnyError(req, res, error, options.log));
  };
  /** Deployment routes: /<model>[/<gpuLabel>]/<endpoint>. Anything else goes on to the next handler. */
  const deploymentRoutes: express.RequestHandler = (req, res, next) => {
    const match = routes.resolve(req.url);
    if (match === undefined) return next();
    serveDeploymentRoute(req, res, match);
  };

  const app = express();
  app.disable('x-powered-by');
  app.use((req, _res, next) => {
    req.url = originForm(req.url); // the server did it already, unless the app is served on its own
    next();
  });
  app.get('/health', healthHandler(options.table));
  app.get('/health/live', liveHandler(() => closing !== undefined));
  app.get('/health/ready', readyHandler(options.table));
  for (const path of ['/health', '/health/live', '/health/ready']) app.all(path, refuseOtherMethods(GET_ROUTE, accounting));
  app.use(dashboard.publicRouter);
  app.use((req, res, next) => {
    if (req.path === '/metrics' && !options.settings().metricsAuth) return next();
    if (auth.authenticate(req, res)) next();
  });
  app.use(operatorOnly);
  app.use(dashboard.apiRouter);
  app.get('/prometheus/targets', prometheusTargets(options));
  app.get('/metrics', async (_req, res, next) => {
    try {
      const text = await metrics.registry.metrics();
      res.set('content-type', metrics.registry.contentType).send(text);
    } catch (error) {
      next(error);
    }
  });
  app.get('/info', infoHandler(options.table));
  for (const path of ['/prometheus/targets', '/metrics', '/info']) app.all(path, refuseOtherMethods(GET_ROUTE, accounting));
  app.use('/v1', openAIRootRouter(options, routes, dispatcher, accounting));
  app.use(deploymentRoutes);
  app.use((req, res) => {
    notFound(res, new GatewayError(404, `no route ${req.method} ${req.path}. Valid routes: ${[...routes.validRoutes(), '/v1/chat/completions', '/v1/completions', '/v1/models', '/info', '/health', '/health/live', '/health/ready', '/metrics'].join(', ')}`));
  });
  app.use(errorHandler(options.log));

  // Deployment routes are the hot path: the server hands them to the same handler Express mounts
  // above, after the same auth, but without going through Express (measured: its router and the
  // prototype swap it does on every req/res cost about as much CPU as the relay itself). Model names
  // can never be one of the gateway's own route names (config validation reserves them), so this
  // changes no request's handler, only its cost.
  let closing: Promise<void> | undefined;
  const server = createServer((req, res) => {
    if (connectionCap.isRefused(req.socket)) return; // answered with 429 as it connected
    clientAddresses.resolve(req);
    if (!shedding.admit(req, res)) return;
    if (closing && req.url !== '/health/live') return refuseWhileClosing(res); // a load balancer asks it why
    const url = originForm(req.url ?? '/');
    req.url = url;
    const match = routes.resolve(url);
    if (match === undefined) return app(req, res);
    if (auth.authenticate(req, res)) serveDeploymentRoute(req, res, match);
  });
  connectionCap.attach(server);

  const housekeeping = setInterval(() => {
    const now = Date.now();
    auth.lockout.sweep(now);
    shedding.sweep(performance.now());
    admission.sweep(options.table.all(), performance.now());
  }, HOUSEKEEPING_INTERVAL_MS);
  housekeeping.unref();

  return {
    app,
    server,
    registry: metrics.registry,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close(drainTimeoutMs) {
      closing ??= (async () => {
        await accounting.drained(drainTimeoutMs);
        clearInterval(housekeeping);
        sharedLimits.close();
        dashboard.close();
        routes.dispose();
        queue.dispose();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        proxy.close();
      })();
      return closing;
    },
  };
}

/** The fleet-wide views (dashboard data, metrics, every deployment's /info) are the operator's, not a tenant's. */
const operatorOnly: express.RequestHandler = (req, res, next) => {
  const caller = callerOf(req);
  const fleetWide = req.path.startsWith('/api/') || req.path === '/metrics' || req.path === '/info' || req.path === '/prometheus/targets';
  if (caller.operator || !fleetWide) return next();
  sendError(res, new GatewayError(403, `${req.path} shows the whole fleet and needs the operator's token (VALID_TOKEN), not API key "${caller.name}"; a key can use /v1/models, /v1/chat/completions, /v1/completions and its models' routes`));
};

function refuseWhileClosing(res: ServerResponse): void {
  res.setHeader('connection', 'close');
  sendError(res, new GatewayError(503, 'the gateway is shutting down; retry against its next start', { 'retry-after': '5' }));
}
